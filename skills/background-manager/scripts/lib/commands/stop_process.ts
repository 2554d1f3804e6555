// stop_process: end a process and everything it started, and say what ended it.
import { durationSec, makeParser, listHint } from '../cli/cli.ts';
import { openContext } from '../store/context.ts';
import { resolveAll } from '../process/resolve.ts';
import { stopProcess, type StopOutcome } from '../control/stop.ts';
import { exitStatusOf, isLive, liveLeftovers, liveStatus } from '../process/status.ts';
import { BgError, EXIT } from '../errors.ts';
import { signalNumber } from '../process/proc.ts';
import type { ProcessRecord } from '../store/state.ts';
import { oneLine, shownMessage } from '../util/format.ts';

export function describeStop(rec: ProcessRecord, out: StopOutcome, sig: string, timeoutSec: number): string {
  if (out.already && out.leftovers) {
    const l = out.leftovers;
    const them = l.count === 1 ? 'it' : 'them';
    return `Process ${rec.id} is not running (${liveStatus(out.rec).label}); stopped what it left running: ${oneLine(l.names)}: ${l.endedBy === 'SIGKILL' && sig !== 'SIGKILL' ? `SIGKILL ended ${them} after ${timeoutSec} s` : `${l.endedBy} ended ${them}`}.`;
  }
  if (out.already) return `Process ${rec.id} is not running (${liveStatus(out.rec).label}); nothing to stop.`;
  const r = out.result;
  const status = exitStatusOf(r.exitCode, r.signal);
  if (r.endedBy === 'exited' || r.endedBy === 'exit') {
    // It had ended by itself (just before the stop, or between restarts): what it left
    // running got the signal.
    const n = r.endedLeftovers ?? 0;
    const whose = rec.restart && rec.restart.mode !== 'no' ? 'its runs' : 'it';
    const left = n ? `; ${sig} went to the ${n === 1 ? 'process' : `${n} processes`} ${whose} left running` : '';
    const killed =
      r.killedLeftovers && sig !== 'SIGKILL'
        ? `, ${r.killedLeftovers} of them killed with SIGKILL after ${timeoutSec} s`
        : '';
    const how = r.endedBy === 'exit' ? 'it was waiting to restart; not restarted' : 'it had already exited';
    return `Stopped process ${rec.id} (PID ${rec.pid}): ${how} (exit status ${status ?? 'unknown'})${left}${killed}.`;
  }
  const how =
    r.endedBy === 'SIGKILL' && sig !== 'SIGKILL'
      ? `it did not exit within ${timeoutSec} s of ${sig}; SIGKILL ended it`
      : `${r.endedBy} ended it`;
  const extra = r.killedLeftovers
    ? `; ${r.killedLeftovers} leftover process${r.killedLeftovers === 1 ? '' : 'es'} killed with SIGKILL`
    : '';
  return `Stopped process ${rec.id} (PID ${rec.pid}): ${how} (exit status ${status ?? 'unknown'})${extra}.`;
}

export async function main(argv: string[]): Promise<number> {
  const args = await makeParser(
    argv,
    'Usage: $0 <id|name>... [--signal NAME] [--timeout SECONDS] [--force]\n       $0 --all\n\nSends SIGTERM (or --signal) to the process, its whole session and process group\nand every descendant, waits up to --timeout seconds, then SIGKILLs what is left.\nOutput printed up to the stop stays in the log.',
  )
    .option('timeout', {
      type: 'number',
      default: 5,
      describe: 'Seconds to wait after the signal before SIGKILL',
      requiresArg: true,
    })
    .option('signal', {
      type: 'string',
      default: 'TERM',
      describe: 'The first signal, e.g. INT for a graceful Ctrl-C, HUP, QUIT',
      requiresArg: true,
    })
    .option('force', { type: 'boolean', default: false, describe: 'SIGKILL at once' })
    .option('all', {
      type: 'boolean',
      default: false,
      describe: 'Stop every live process, and the background jobs ended ones left running',
    })
    .example('$0 a1b2', 'Stop process a1b2')
    .example('$0 web --signal INT --timeout 30', 'Ctrl-C, and give it 30 s to shut down')
    .example('$0 --all', 'Stop everything that runs')
    .parseAsync();
  const refs = args._.map(String);
  if (args.all ? refs.length > 0 : refs.length === 0) {
    throw new BgError(
      'USAGE',
      args.all ? '--all takes no IDs.' : `give the process ID or name (${listHint()}), or --all.`,
    );
  }
  durationSec(argv, '--timeout', args.timeout, true);
  const sig = args.force ? 'SIGKILL' : `SIG${args.signal.toUpperCase().replace(/^SIG/, '')}`;
  if (signalNumber(sig) === undefined)
    throw new BgError(
      'USAGE',
      `unknown signal "${oneLine(args.signal)}". Use a name like TERM, INT, HUP, QUIT or KILL.`,
    );
  const ctx = openContext({ create: false });
  const doc = ctx.store.read();
  const targets = args.all
    ? doc.processes.filter((p) => isLive(p) || liveLeftovers(p).length > 0)
    : [...new Map(resolveAll(doc, refs, 'stopped').map((p) => [p.id, p])).values()];
  if (args.all && targets.length === 0) {
    process.stdout.write('No running processes to stop.\n');
    return EXIT.OK;
  }
  const timeoutMs = args.force ? 0 : Math.round(args.timeout * 1000);
  const outcomes = await Promise.allSettled(
    targets.map((rec) => stopProcess(ctx, rec, sig as NodeJS.Signals, timeoutMs)),
  );
  let failed: BgError | undefined;
  outcomes.forEach((o, i) => {
    if (o.status === 'fulfilled') {
      if (!o.value.already && o.value.note)
        process.stderr.write(`stop_process: note: ${targets[i]!.id}: ${o.value.note}.\n`);
      process.stdout.write(`${describeStop(targets[i]!, o.value, sig, args.timeout)}\n`);
    } else {
      const err =
        o.reason instanceof BgError
          ? o.reason
          : new BgError('SUPERVISOR', String((o.reason as Error)?.message ?? o.reason));
      process.stderr.write(`stop_process: error: ${targets[i]!.id}: ${shownMessage(err.message)}\n`);
      failed ??= err;
    }
  });
  return failed ? failed.exitCode : EXIT.OK;
}
