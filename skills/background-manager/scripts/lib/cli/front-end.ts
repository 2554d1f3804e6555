// The scripts as a front end of the operations (ops/): options named as flags, numbers shown
// as they were typed, regular expressions compiled as given, the scripts' wait defaults, and
// a readiness outcome printed (stdout: Ready or the run's last lines; stderr: why not).
import { EXIT } from '../errors.ts';
import { formatLine } from '../log/read/lines.ts';
import { SHELL_HINTS } from '../install/hints.ts';
import type { FrontEnd } from '../ops/checks.ts';
import { WAIT_TIMEOUT_SEC } from '../ops/defaults.ts';
import type { ReadyOutcome, WaitDefaults } from '../ops/ready.ts';
import { compileRegex } from '../util/regex.ts';
import { typed } from './cli.ts';

/** The scripts' front end, for a call with these arguments. */
export function cliFrontEnd(argv: string[]): FrontEnd {
  return { style: 'flag', shown: (flag, value) => typed(argv, value, flag), regex: compileRegex, hints: SHELL_HINTS };
}

/** start_process waits 60 s unless told; restart_process as at start, else 60 s. */
export const CLI_WAITS: WaitDefaults = { waitTimeoutSec: WAIT_TIMEOUT_SEC, restartKeepsTimeout: true };

/** Print how a readiness wait ended (`script` names the caller); the exit code it makes. */
export function printReady(outcome: ReadyOutcome, script: string): number {
  if (outcome.ready) {
    process.stdout.write(`Ready: ${outcome.detail}\n`);
    return EXIT.OK;
  }
  process.stderr.write(`${script}: error: ${outcome.message}\n`);
  // The last lines with the process's secrets hidden, as get_logs shows them.
  const shown = { raw: false, json: false, timestamps: false, labelStreams: false, redact: outcome.redact };
  for (const l of outcome.tail) process.stdout.write(formatLine(l, shown));
  return EXIT.FAILED;
}
