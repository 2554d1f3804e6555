// A stop reaches every process the command's tree started, also those that left its session
// (setsid) and whose parent ended, so that nothing links them to the tree by PID, session or
// group any more. Each background job here sleeps for a unique time, so the test finds it by
// its command line (to look at it; it is ended by PID only, and cleanup ends it if a stop did
// not).
// Run: npx uvu -r tsx tests 'escaped-jobs\.test\.ts$'
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { randomInt } from 'node:crypto';
import { alive, run, start, track, waitFor, withSandbox, type Sandbox } from './helpers.ts';
import { readStat } from '../skills/background-manager/scripts/lib/process/proc.ts';

/** A `sleep` duration no other process on the machine has: 1000.xxxxxx seconds. */
const uniqueSleep = () => `1000.${String(randomInt(1_000_000)).padStart(6, '0')}`;

/** The PID of the one process whose command line is `sleep <secs>`. */
function sleepPid(secs: string): number | undefined {
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (fs.readFileSync(`/proc/${name}/cmdline`, 'latin1') === `sleep\0${secs}\0`) return Number(name);
    } catch {
      /* gone */
    }
  }
  return undefined;
}

async function jobsOf(sb: Sandbox, ...secs: string[]): Promise<number[]> {
  const pids = await waitFor(
    `sleep ${secs.join(', ')} running`,
    () => {
      const found = secs.map(sleepPid);
      return found.every((p) => p !== undefined) ? (found as number[]) : undefined;
    },
    30_000,
  );
  track(sb, ...pids);
  return pids;
}

async function stopAndCheckGone(sb: Sandbox, id: string, jobs: number[]): Promise<void> {
  const started = jobs.map((pid) => readStat(pid)?.startTicks);
  const r = await run(sb, 'stop_process.ts', [id, '--timeout', '10']);
  assert.is(r.code, 0, r.stdout + r.stderr);
  const left = jobs.filter((pid, i) => alive(pid) && readStat(pid)?.startTicks === started[i]);
  assert.equal(left, [], `still running after the stop: ${left.join(', ')}\n${r.stdout}`);
}

for (const pty of [false, true]) {
  const mode = pty ? 'under a PTY' : 'with --no-pty';
  withSandbox(`${mode}: stop_process ends a job that called setsid after the command exited`, async (sb) => {
    const [a, b] = [uniqueSleep(), uniqueSleep()];
    // (Ignoring SIGHUP: under a PTY, the terminal's hang-up at the command's exit would end them.)
    const p = await start(sb, [
      ...(pty ? [] : ['--no-pty']),
      '--',
      'sh',
      '-c',
      `trap '' HUP; sleep ${a} & setsid sleep ${b} & echo started`,
    ]);
    const jobs = await jobsOf(sb, a, b);
    await stopAndCheckGone(sb, p.id, jobs);
  });

  withSandbox(
    `${mode}: stop_process ends a job that left the session and whose parent ended, while the command runs`,
    async (sb) => {
      const [a, b] = [uniqueSleep(), uniqueSleep()];
      // The subshell starts the job in its own session and exits: the job's parent is init.
      const p = await start(sb, [...(pty ? [] : ['--no-pty']), '--', 'sh', '-c', `(setsid sleep ${b} &); sleep ${a}`]);
      const jobs = await jobsOf(sb, a, b);
      assert.is.not(readStat(jobs[1]!)?.sid, p.pid, "the job left the command's session");
      await stopAndCheckGone(sb, p.id, jobs);
    },
  );
}

test.run();
