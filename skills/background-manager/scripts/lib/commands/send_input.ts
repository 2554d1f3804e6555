// send_input: type into a running process (text, keypresses, or end of input). The sending is
// ops/send.ts; this script turns argv into its request and says how many bytes went.
import { makeParser } from '../cli/cli.ts';
import { SHELL_HINTS } from '../install/hints.ts';
import { openContext } from '../store/context.ts';
import { resolveProcess } from '../process/resolve.ts';
import { BgError } from '../errors.ts';
import { openInput } from '../process/input-source.ts';
import { KEY_NAMES, splitKeys } from '../process/keys-input.ts';
import { checkSend, sendTo, sentText } from '../ops/send.ts';
import { attachedNote } from '../ops/attach-note.ts';
import { oneLine } from '../util/format.ts';
import { cliFrontEnd } from '../cli/front-end.ts';
import { printInputWait } from '../cli/input-wait.ts';
import { WAIT_TIMEOUT_SEC } from '../ops/defaults.ts';
import { checkWaitInput } from '../ops/wait-input.ts';
import { logEnd } from '../control/ready.ts';

export async function main(argv: string[]): Promise<number> {
  const args = await makeParser(
    argv,
    'Usage: $0 <id> <text> [-n]\n       $0 <id> - [-n] < FILE      (standard input: any size, exact bytes)\n       $0 <id> --file PATH [-n]\n       $0 <id> --key NAME [--key NAME...]\n       $0 <id> --eof\n\nWrites to the standard input of a running process. A newline is added to the text or\ninput (pressing Enter) unless -n is given or it ends with a newline already. Long text and secrets: use - or --file, not argv.',
  )
    .option('n', { type: 'boolean', default: false, describe: 'Do not add a newline after the text or input' })
    .option('key', {
      type: 'string',
      describe: `A keypress (repeatable): ${KEY_NAMES.join(', ')}, ctrl-<letter> (ctrl-c, ctrl-d) or alt-<key> (alt-x)`,
    })
    .option('keys', {
      type: 'string',
      describe: "Several keypresses in one: 'down down enter' (sent after any --key)",
      requiresArg: true,
    })
    .option('file', {
      type: 'string',
      describe: 'Send the bytes of this file (any size; a newline after them unless -n or they end with one)',
      requiresArg: true,
    })
    .option('eof', { type: 'boolean', default: false, describe: "Close the process's input (end of file)" })
    .option('wait-input', {
      type: 'boolean',
      default: false,
      describe: "Then return once it waits for input again, printing what it printed since (a REPL's answer)",
    })
    .option('wait-timeout', {
      type: 'number',
      defaultDescription: String(WAIT_TIMEOUT_SEC),
      describe: 'Seconds to wait for --wait-input (then exit 1)',
      requiresArg: true,
    })
    .example('$0 a1b2 "yes"', 'Answer a prompt')
    .example('$0 a1b2 -n "partial "', 'Type without pressing Enter')
    .example('$0 a1b2 --key ctrl-c', 'Interrupt the foreground program')
    .example("$0 a1b2 --keys 'down down enter'", 'Pick the third entry of a menu')
    .example('$0 a1b2 -n --file big.txt', 'A file, byte for byte')
    .example('printf \'%s\' "$PW" | $0 a1b2 -', 'A secret from standard input, then Enter')
    .example('$0 a1b2 -- -1', 'Text that starts with - goes after --')
    .example("$0 a1b2 --wait-input 'print(6*7)'", 'Send a line to a REPL and print its answer')
    .demandCommand(
      1,
      2,
      'give the process ID and the text to send.',
      'Too many arguments: quote the text as one argument.',
    )
    .parseAsync();
  const [ref, textArg] = args._.map(String);
  const keys = [
    ...([] as unknown[]).concat(args.key ?? []).map(String),
    ...([] as unknown[]).concat(args.keys ?? []).flatMap((k) => splitKeys(String(k))),
  ];
  const fromStdin = textArg === '-';
  if (args.file !== undefined && textArg !== undefined) {
    throw new BgError(
      'USAGE',
      `give the input once: --file ${oneLine(String(args.file))} or ${fromStdin ? '- (standard input)' : 'the text'}, not both.`,
    );
  }
  // Standard input (-) or a file: any size, read piece by piece once all is checked.
  const streamed = fromStdin || args.file !== undefined;
  const req = checkSend(
    {
      input: streamed ? () => openInput(args.file) : undefined,
      text: streamed ? undefined : textArg,
      enter: !args.n,
      keys,
      eof: args.eof,
    },
    "<text>, - (standard input), --file PATH, --key NAME, --keys 'NAME NAME' or --eof. Run with --help for usage",
  );
  const waitSec = checkWaitInput(
    { waitInput: args.waitInput, waitTimeout: args.waitTimeout },
    cliFrontEnd(argv),
    WAIT_TIMEOUT_SEC,
  );
  const ctx = openContext({ create: false });
  const rec = resolveProcess(ctx.store.read(), ref!, SHELL_HINTS);
  // What it prints after the input, and a wait for input that begins after it.
  const from = waitSec === undefined ? undefined : logEnd(ctx, rec);
  const after = Date.now();
  const bytes = await sendTo(ctx, rec, req);
  process.stdout.write(`${sentText(rec.id, bytes, args.eof)}\n`);
  const note = attachedNote(rec);
  if (note) process.stderr.write(`send_input: ${note}\n`);
  if (waitSec === undefined) return 0;
  return printInputWait(ctx, rec.id, { timeoutSec: waitSec, from, after }, 'send_input');
}
