// attach_process: a person's terminal on a running PTY process, as tmux attach is. The viewer
// is ops/attach.ts (the supervisor holds it); this script puts the terminal in raw mode, draws
// the screen as it stands (replayed through the emulator: screen-ansi.ts), then the live output
// through TermFilter (no OSC/DCS/APC/PM strings, no C1 controls, no queries), sends
// each read of the keyboard as one write, and leaves on the detach key, restoring the terminal
// however it ends (detach, the process's end, SIGINT/SIGTERM/SIGHUP, a crash).
import { makeParser } from '../cli/cli.ts';
import { openContext } from '../store/context.ts';
import { resolveProcess } from '../process/resolve.ts';
import { SHELL_HINTS } from '../install/hints.ts';
import { BgError } from '../errors.ts';
import { checkAttachable, DETACH_KEY, detachKeyByte, keyLabel, openViewer, type Viewer } from '../ops/attach.ts';
import { RESET_MODES, type AnsiScreen } from '../log/read/screen-ansi.ts';
import { TermFilter } from '../util/term-filter.ts';
import { oneLine } from '../util/format.ts';

const SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;

export async function main(argv: string[]): Promise<number> {
  const args = await makeParser(
    argv,
    `Usage: $0 <id> [--read-only] [--detach-key KEY]\n\nA person's terminal on a running PTY process (a REPL, a TUI the agent started): the screen\nas it stands, then its output live; what you type goes to it. ${keyLabel(detachKeyByte(DETACH_KEY))} detaches (--detach-key);\nthe process keeps running. Several people may attach at once; the terminal takes the\nsmallest one's size while attached, and its own (200x50) again after. Needs a terminal on\nstdin and stdout: from a script or an agent it exits 2 at once (use get_logs --screen and\nsend_input there).`,
  )
    .option('read-only', { type: 'boolean', default: false, describe: 'Watch without typing' })
    .option('detach-key', {
      type: 'string',
      default: DETACH_KEY,
      describe: 'The key that detaches: ctrl-<letter>, or one of ctrl-] ctrl-\\ ctrl-^ ctrl-_',
      requiresArg: true,
    })
    .example('$0 a1b2', 'Take over the REPL of process a1b2; Ctrl-] to leave it running')
    .example('$0 a1b2 --read-only', 'Watch only')
    .example('$0 a1b2 --detach-key ctrl-q', 'Leave with Ctrl-Q instead')
    .demandCommand(1, 1, 'give the ID (or name) of the process to attach to.', 'attach_process takes one process.')
    .parseAsync();
  const detach = detachKeyByte(String(args['detach-key']));
  // Before anything else: an agent or a script that calls this must not hang.
  const stdin = process.stdin;
  if (!stdin.isTTY || !process.stdout.isTTY)
    throw new BgError(
      'USAGE',
      `needs a terminal on ${!stdin.isTTY ? 'stdin' : 'stdout'}: attach_process is for a person at a terminal. From a script: get_logs ID --screen to read the screen, send_input ID to type.`,
    );
  const ctx = openContext({ create: false });
  const rec = resolveProcess(ctx.store.read(), String(args._[0]), SHELL_HINTS);
  checkAttachable(rec);
  const viewer = await openViewer(ctx, rec, {
    cols: process.stdout.columns,
    rows: process.stdout.rows,
    readOnly: args['read-only'],
  });
  return session(viewer, detach, args['read-only']);
}

function session(viewer: Viewer, detach: number, readOnly: boolean): Promise<number> {
  const out = process.stdout;
  const stdin = process.stdin;
  const id = viewer.rec.id;
  const filter = new TermFilter();
  let enteredAlt = false;
  let drawing: Promise<void> = Promise.resolve(); // live output waits for a draw under way
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    try {
      stdin.setRawMode(false);
    } catch {
      /* the terminal is gone */
    }
    try {
      out.write(`${RESET_MODES}${enteredAlt ? '\x1b[?1049l' : ''}`);
    } catch {
      /* the terminal is gone */
    }
  };
  // A crash restores the terminal too (runMain reports it; 'exit' runs on any end).
  process.once('exit', restore);

  return new Promise<number>((resolve) => {
    let done = false;
    const end = (code: number, say?: string) => {
      if (done) return;
      done = true;
      viewer.close();
      restore();
      stdin.pause();
      for (const s of Object.keys(SIGNALS)) process.removeAllListeners(s);
      if (say) process.stderr.write(`\r\n[attach_process] ${say}\r\n`);
      resolve(code);
    };
    for (const [s, n] of Object.entries(SIGNALS))
      process.once(s, () => end(128 + n, `${s}: detached from process ${id}; it keeps running.`));

    const draw = (screen: AnsiScreen, clear: boolean) => {
      if (done) return;
      let text = '';
      if (screen.alternate || clear) {
        if (screen.alternate && !enteredAlt) {
          text += '\x1b[?1049h';
          enteredAlt = true;
        }
        text += '\x1b[0m\x1b[H\x1b[2J';
        for (const [y, r] of screen.rows.entries()) if (r) text += `\x1b[${y + 1};1H${r}`;
        text += `\x1b[${screen.cursor.row + 1};${screen.cursor.col + 1}H`;
      } else {
        // The main screen (a REPL): its rows as lines below the banner; live output goes on from the cursor.
        const used = screen.rows.map((r, y) => (r ? y : -1)).filter((y) => y >= 0);
        const first = Math.min(used[0] ?? screen.cursor.row, screen.cursor.row);
        const last = Math.max(used[used.length - 1] ?? 0, screen.cursor.row);
        text += screen.rows.slice(first, last + 1).join('\r\n');
        const up = last - screen.cursor.row;
        text += `${up ? `\x1b[${up}A` : ''}\r${screen.cursor.col ? `\x1b[${screen.cursor.col}C` : ''}`;
      }
      out.write(text + screen.modes);
    };

    viewer.on('out', (d: Buffer) => {
      const shown = filter.write(d);
      if (shown.length) void drawing.then(() => done || out.write(shown));
    });
    viewer.on('redraw', (seq: number | undefined, size: { cols: number; rows: number }) => {
      drawing = drawing.then(async () => draw(await viewer.firstScreen(seq, size), true));
    });
    viewer.on('end', (text: string) => end(0, `process ${id}: ${text}.`));
    viewer.on('close', () => end(1, `the connection to process ${id}'s supervisor closed.`));
    out.on('resize', () => viewer.resize({ cols: out.columns, rows: out.rows }));

    const key = keyLabel(detach);
    const banner = `[attach_process] process ${id}: ${oneLine(viewer.rec.command)}. ${key} detaches (--detach-key); the process keeps running.${readOnly ? ' Read-only: what you type is not sent.' : ''}`;
    out.write(`${banner}\r\n`);
    stdin.setRawMode(true);
    drawing = viewer
      .firstScreen()
      .then((s) => draw(s, false))
      .catch((err: unknown) => end(1, `cannot draw the screen: ${(err as Error).message}`));
    stdin.on('data', (d: Buffer) => {
      const at = d.indexOf(detach);
      const typed = at >= 0 ? d.subarray(0, at) : d;
      if (!readOnly && typed.length) viewer.write(typed); // one read, one write
      if (at >= 0) end(0, `detached from process ${id}; it keeps running (attach_process ${id} to come back).`);
    });
    stdin.resume();
  });
}
