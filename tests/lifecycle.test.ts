// Lifecycle beyond the original skill: names, readiness, restarts, time limits, waiting,
// removal, password change, and stop_process's --all/--signal/--force. Real processes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import {
  alive,
  freePort,
  listJson,
  records,
  run,
  start,
  unlockSandbox,
  waitFor,
  withSandbox,
  PASSWORD,
  FIXTURES,
  type Sandbox,
} from './helpers.ts';
import { StateStore } from '../skills/background-manager/scripts/lib/store/state.ts';

const logs = async (sb: Sandbox, ref: string, args: string[] = []) =>
  (await run(sb, 'get_logs.ts', [ref, ...args])).stdout;
const row = async (sb: Sandbox, id: string) => (await listJson(sb)).find((p) => p.id === id)!;

withSandbox(
  'readiness: --wait-port on http.server, the port in list_processes; --wait-for a line; failures say why',
  async (sb) => {
    const port = await freePort();
    const r = await run(sb, 'start_process.ts', [
      '--name',
      'web',
      '--wait-port',
      String(port),
      'python3',
      '-m',
      'http.server',
      String(port),
    ]);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Ready: listening on port ${port}\\n$`));
    const table = (await run(sb, 'list_processes.ts', [])).stdout;
    assert.match(table, new RegExp(`^[0-9a-f]{8}\\s+\\d+\\s+running\\s+\\S+ \\S+\\s+web\\s+0\\s+${port}\\s`, 'm'));
    assert.equal((await listJson(sb))[0]!.ports, [port]);
    const w = await run(sb, 'start_process.ts', [
      '--wait-for',
      'go+d to go',
      '--',
      'sh',
      '-c',
      'echo warming; echo good to go; sleep 100',
    ]);
    assert.is(w.code, 0, w.stderr);
    assert.match(w.stdout, /Ready: good to go\n$/);
    const dies = await run(sb, 'start_process.ts', [
      '--wait-port',
      String(await freePort()),
      'sh',
      '-c',
      'echo about to fail; exit 4',
    ]);
    assert.is(dies.code, 1);
    assert.match(dies.stderr, /ended \(.+\) before anything listened on port \d+\. Its last lines:/);
    assert.match(dies.stdout, /about to fail/);
    const slow = await run(sb, 'start_process.ts', ['--wait-for', 'never', '--wait-timeout', '1', 'sleep', '100']);
    assert.is(slow.code, 1);
    assert.match(
      slow.stderr,
      /no line matched \/never\/ within 1 s; process [0-9a-f]{8} is still running .*It printed nothing\.\n$/,
    );
  },
);

withSandbox(
  'names: unique among live processes, usable everywhere, --replace takes over; bad names refused',
  async (sb) => {
    const a = await start(sb, ['--name', 'svc', 'sleep', '300']);
    const dup = await run(sb, 'start_process.ts', ['--name', 'svc', 'sleep', '301']);
    assert.is(dup.code, 1);
    assert.match(dup.stderr, /the name "svc" belongs to running process/);
    assert.is((await listJson(sb)).length, 1, 'nothing recorded or left running');
    // Names that read as an ID or an ID prefix (hex, up to 8 digits) would point at another process.
    // (All at once: each is refused before anything is written.)
    const bad = ['has space', 'a/b', '-x', '', a.id, a.id.slice(0, 2), 'CAFE'];
    const [cafe, ...refusals] = await Promise.all([
      run(sb, 'start_process.ts', ['--name', 'cafe', 'true']),
      ...bad.map((n) => run(sb, 'start_process.ts', ['--name', n, 'true', 'x'])),
    ]);
    for (const [i, r] of refusals.entries()) assert.is(r.code, 2, `name "${bad[i]}": ${r.stderr}`);
    assert.match(cafe!.stderr, /could be read as a process ID/);
    // An option after the command goes to the command; start_process says so.
    const late = await run(sb, 'start_process.ts', ['true', 'x', '--name', 'later', '--no-pty']);
    assert.is(late.code, 0, late.stderr);
    assert.match(
      late.stderr,
      /note: --name, --no-pty came after the command, so the command gets them, not start_process\. Put start_process's options before the command, as in: npx tsx skills\/background-manager\/scripts\/start_process\.ts --name later --no-pty true x\n$/,
    );
    const marked = await run(sb, 'start_process.ts', ['--', 'true', 'x', '--name', 'later']);
    assert.is(marked.stderr, '', 'after --, the --name of the command is meant');
    const b = await start(sb, ['--name', 'svc', '--replace', 'sleep', '302']);
    assert.not.ok(alive(a.pid), 'the old one was stopped');
    assert.is((await row(sb, a.id)).status, 'stopped');
    const s = await run(sb, 'stop_process.ts', ['svc']);
    assert.match(s.stdout, new RegExp(`Stopped process ${b.id}`));
    assert.is((await row(sb, b.id)).status, 'stopped');
  },
);

withSandbox(
  'restart policies: on-failure runs 1 + 3 times then fails; always survives three kills, and a stop in the back-off is final',
  async (sb) => {
    const f = await start(sb, ['--restart', 'on-failure', '--max-restarts', '3', 'sh', '-c', 'echo run; exit 3']);
    const w = await run(sb, 'wait_process.ts', [f.id, '--timeout', '30']);
    assert.is(w.code, 3, w.stderr);
    assert.match(w.stdout, /ended: failed\(3\)/);
    assert.is((await logs(sb, f.id, ['-n', '0'])).match(/^run$/gm)!.length, 4);
    const r = await row(sb, f.id);
    assert.is(r.status, 'failed');
    assert.is(r.restarts, 3);
    assert.match(await logs(sb, f.id, ['--stream', 'events', '-n', '1']), /not restarted: all 3 restarts used/);

    // Three kills, each restarted; a fourth, then a stop during the back-off (4 s): the restart
    // never happens, nor counts. What must come before the restart is due is the supervisor's
    // taking the stop (the time of its "stop requested" event), not the stop script's exit. On a
    // machine so loaded that the stop's own start took longer than the back-off, the round proves
    // nothing and runs again with a new keeper (at most 3 rounds).
    // The state is watched in-process (list_processes under tsx can take a second when loaded).
    const store = new StateStore({
      dataDir: sb.env.BG_DATA_DIR!,
      keys: unlockSandbox(sb, PASSWORD)!.keys,
    });
    for (let round = 1; ; round++) {
      const name = `keeper${round}`;
      const k = await start(sb, ['--restart', 'always', '--name', name, 'sleep', '300']);
      let pid = k.pid;
      for (let i = 1; i <= 3; i++) {
        process.kill(pid, 'SIGKILL');
        pid = await waitFor(
          `restart ${i}`,
          async () => {
            const p = await row(sb, k.id);
            return p.status === 'running' && p.pid !== pid && p.restarts === i ? p.pid : undefined;
          },
          20_000,
          50,
        );
        assert.ok(alive(pid));
      }
      process.kill(pid, 'SIGKILL');
      const due = await waitFor(
        'the back-off',
        () => store.read().processes.find((p) => p.id === k.id)?.restartingAt,
        20_000,
        20,
      );
      const stop = await run(sb, '../dist/stop_process.mjs', [name]);
      assert.is(stop.code, 0, stop.stderr);
      const events = (await logs(sb, k.id, ['--stream', 'events', '--json', '-n', '0']))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { time: string; text: string });
      const taken = events.find((e) => e.text.startsWith('stop requested'));
      assert.ok(taken, `a stop request among the events: ${JSON.stringify(events)}`);
      if (Date.parse(taken.time) >= Date.parse(due)) {
        assert.ok(
          round < 3,
          `in ${round} rounds the stop never reached the supervisor before the restart was due (last: ${Date.parse(taken.time) - Date.parse(due)} ms late)`,
        );
        continue;
      }
      const after = await row(sb, k.id);
      assert.is(after.status, 'stopped', 'a stop is not restarted');
      assert.is(after.restarts, 3);
      assert.match(
        await logs(sb, k.id, ['--stream', 'events', '-n', '3']),
        /restarting in 4 s \(restart 4 of 10\)\nstop requested: SIGTERM\nkilled by SIGKILL; not restarted \(stopped by stop_process\)\n$/,
      );
      break;
    }
  },
);

withSandbox('--timeout ends a sleep; wait_process exits with the process status, 128+signal, or 124', async (sb) => {
  const t = await start(sb, ['--timeout', '1', 'sleep', '100']);
  const w = await run(sb, 'wait_process.ts', [t.id, '--timeout', '20']);
  assert.is(w.code, 143);
  assert.match(w.stdout, /ended: timeout\(SIGTERM\)/);
  const e = await start(sb, ['sh', '-c', 'exit 7']);
  assert.is((await run(sb, 'wait_process.ts', [e.id])).code, 7);
  const k = await start(sb, ['sleep', '100']);
  const waiting = run(sb, 'wait_process.ts', [k.id]);
  await waitFor('running', async () => (await row(sb, k.id)).status === 'running');
  process.kill(k.pid, 'SIGKILL');
  const kw = await waiting;
  assert.is(kw.code, 137);
  assert.match(kw.stdout, /killed\(SIGKILL\)/);
  const s = await start(sb, ['sleep', '100']);
  const t0 = Date.now();
  assert.is((await run(sb, 'wait_process.ts', [s.id, '--timeout', '1'])).code, 124);
  assert.ok(Date.now() - t0 >= 1000);
});

withSandbox(
  'restart_process waits for readiness as start_process did, counting only the new run; its own --wait-* and --no-wait',
  async (sb) => {
    const cmd = [
      '--name',
      'slow',
      '--wait-for',
      '^ready',
      '--',
      'sh',
      '-c',
      'echo booting; sleep 1; echo ready; sleep 300',
    ];
    const s = await run(sb, 'start_process.ts', cmd);
    assert.is(s.code, 0, s.stderr);
    assert.match(s.stdout, /\nReady: ready\n$/);
    const r = await run(sb, 'restart_process.ts', ['slow']);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Restarted process [0-9a-f]{8} \(PID \d+; stopped by SIGTERM\)\.\nReady: ready\n$/);
    // It returned after the new run said ready, not at the old run's line.
    assert.is(await logs(sb, 'slow', ['-n', '0', '--grep', '^ready']), 'ready\nready\n');
    const quick = await run(sb, 'restart_process.ts', ['slow', '--no-wait']);
    assert.is(quick.code, 0, quick.stderr);
    assert.match(quick.stdout, /^Restarted process [0-9a-f]{8} \(PID \d+; stopped by SIGTERM\)\.\n$/);
    const port = await freePort();
    const none = await run(sb, 'restart_process.ts', ['slow', '--wait-port', String(port), '--wait-timeout', '1']);
    assert.is(none.code, 1);
    assert.match(
      none.stderr,
      new RegExp(
        `^restart_process: error: nothing listened on port ${port} within 1 s; process [0-9a-f]{8} is still running`,
      ),
    );
    assert.is(none.stdout.match(/booting/g)?.length, 1, `the last lines are the new run's only: ${none.stdout}`);
    const bad = await run(sb, 'restart_process.ts', ['slow', '--wait-port', 'abc']);
    assert.is(bad.code, 2);
    assert.match(bad.stderr, /--wait-port must be a TCP port, 1 to 65535 \(got abc\)/);
    const plain = await start(sb, ['sleep', '300']);
    const noReady = await run(sb, 'restart_process.ts', [plain.id, '--wait-timeout', '5']);
    assert.is(noReady.code, 2);
    assert.match(noReady.stderr, /--wait-timeout needs something to wait for/);
    const lone = await run(sb, 'start_process.ts', ['--wait-timeout', '5', 'sleep', '300']);
    assert.is(lone.code, 2);
    assert.match(lone.stderr, /--wait-timeout needs --wait-for or --wait-port/);
    assert.is((await run(sb, 'stop_process.ts', ['--all'])).code, 0);
  },
);

withSandbox(
  'restart_process keeps the ID and continues the log; remove_process refuses running ones, --force and --exited',
  async (sb) => {
    const p = await start(sb, [
      '--no-pty',
      '--env',
      'GREETING=hello-there',
      'sh',
      '-c',
      'echo "says $GREETING"; sleep 300',
    ]);
    await waitFor('first run', async () => (await logs(sb, p.id)).includes('says hello-there'));
    const r = await run(sb, 'restart_process.ts', [p.id]);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Restarted process ${p.id} \\(PID (\\d+); stopped by SIGTERM\\)\\.`));
    await waitFor('second run', async () => (await logs(sb, p.id)).match(/says hello-there/g)?.length === 2);
    assert.match(
      await logs(sb, p.id, ['--stream', 'events', '-n', '0']),
      /killed by SIGTERM \(stopped by restart_process\)\nrestarted by restart_process: /,
    );
    assert.is((await listJson(sb)).length, 1);
    assert.is((await row(sb, p.id)).status, 'running');

    const done = await start(sb, ['echo', 'finished']);
    await waitFor('done', async () => (await row(sb, done.id)).status === 'exited');
    const logDir = path.join(sb.env.BG_DATA_DIR!, 'logs');
    const refused = await run(sb, 'remove_process.ts', [p.id, done.id]);
    assert.is(refused.code, 1);
    assert.match(refused.stderr, /is still running; stop it first, or pass --force\. Nothing was removed/);
    assert.is((await listJson(sb)).length, 2);
    const ex = await run(sb, 'remove_process.ts', ['--exited']);
    assert.match(ex.stdout, new RegExp(`Removed process ${done.id}`));
    assert.not.ok(
      fs.readdirSync(logDir).some((n) => n.startsWith(done.id)),
      'its log is deleted',
    );
    const pid = (await row(sb, p.id)).pid;
    const forced = await run(sb, 'remove_process.ts', [p.id, '--force']);
    assert.is(forced.code, 0, forced.stderr);
    assert.not.ok(alive(pid));
    assert.is((await listJson(sb)).length, 0);
    assert.equal(fs.readdirSync(logDir), []);
  },
);

withSandbox(
  'change_password while a process prints: no line lost, old password refused, new one opens everything',
  async (sb) => {
    const p = await start(sb, [
      '--no-pty',
      'sh',
      '-c',
      'i=0; while [ $i -lt 400 ]; do i=$((i+1)); echo "n=$i"; sleep 0.01; done',
    ]);
    await waitFor('some output', async () => /^n=\d+$/m.test(await logs(sb, p.id)));
    const c = await run(sb, 'change_password.ts', [], { env: { ...sb.env, BG_NEW_PASSWORD: 'the new password' } });
    assert.is(c.code, 0, c.stderr);
    assert.match(c.stdout, /Password changed/);
    const newEnv = { ...sb.env, BG_PASSWORD: 'the new password' };
    const old = await run(sb, 'list_processes.ts', []);
    assert.is(old.code, 3);
    assert.match(old.stderr, /wrong BG_PASSWORD/);
    await waitFor(
      'the end',
      async () => (await run(sb, 'list_processes.ts', ['--json'], { env: newEnv })).stdout.includes('"exited"'),
      90_000,
      100,
    );
    const out = (await run(sb, 'get_logs.ts', [p.id, '-n', '0'], { env: newEnv })).stdout;
    assert.is(out, Array.from({ length: 400 }, (_, i) => `n=${i + 1}\n`).join(''));
    sb.env.BG_PASSWORD = 'the new password'; // for cleanup
    void PASSWORD;
  },
);

withSandbox('stop_process --signal INT, --force and --all', async (sb) => {
  const py = await start(sb, ['--no-pty', 'python3', path.join(FIXTURES, 'ctrl-c-reporter.py')]);
  await waitFor('up', async () => (await logs(sb, py.id)).includes('up'));
  const i = await run(sb, 'stop_process.ts', [py.id, '--signal', 'INT']);
  assert.match(i.stdout, /SIGINT ended it \(exit status 0\)/);
  assert.match(await logs(sb, py.id), /got ctrl-c/);
  const stubborn = await start(sb, ['--no-pty', 'sh', '-c', 'trap "" TERM; echo ready; sleep 100']);
  await waitFor('ready', async () => (await logs(sb, stubborn.id)).includes('ready'));
  const f = await run(sb, 'stop_process.ts', [stubborn.id, '--force']);
  // With --force the report is "SIGKILL ended it"; after a grace period it would read "it did
  // not exit within 5 s of SIGTERM; SIGKILL ended it". (A wall-clock bound here also counted
  // node + tsx start-up, which takes seconds on a loaded machine.)
  assert.match(f.stdout, /\): SIGKILL ended it \(exit status 137\)/);
  assert.not.match(f.stdout, /did not exit within/, 'no grace period with --force');
  const a = await start(sb, ['sleep', '100']);
  const b = await start(sb, ['sleep', '101']);
  const all = await run(sb, 'stop_process.ts', ['--all']);
  assert.is(all.code, 0);
  assert.match(all.stdout, new RegExp(`Stopped process ${a.id}`));
  assert.match(all.stdout, new RegExp(`Stopped process ${b.id}`));
  assert.not.ok(alive(a.pid) || alive(b.pid));
  assert.is((await run(sb, 'stop_process.ts', ['--all'])).stdout, 'No running processes to stop.\n');
  assert.is((await run(sb, 'stop_process.ts', [a.id, '--signal', 'NOPE'])).code, 2);
});

withSandbox('--env values reach the child, never argv, never the disk in plaintext', async (sb) => {
  const canary = 'env-canary-7f3a9c';
  const p = await start(sb, [
    '--no-pty',
    '--env',
    `SECRET_TOKEN=${canary}`,
    'sh',
    '-c',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion, for sh
    'echo "len=${#SECRET_TOKEN}"; sleep 100',
  ]);
  await waitFor('output', async () => (await logs(sb, p.id)).includes('len='));
  assert.match(await logs(sb, p.id), new RegExp(`len=${canary.length}`));
  const rec = records(sb)[0]!;
  assert.equal(rec.env, { SECRET_TOKEN: canary });
  assert.ok(fs.readFileSync(`/proc/${rec.pid}/environ`, 'latin1').includes(`SECRET_TOKEN=${canary}`));
  for (const pid of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    let cmd = '';
    try {
      cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1');
    } catch {
      continue;
    }
    assert.not.ok(cmd.includes(canary), `argv of ${pid}`);
  }
  // (Sockets, a live supervisor's in run/, hold nothing to read.)
  const walk = (d: string): string[] =>
    fs
      .readdirSync(d, { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : e.isSocket() ? [] : [path.join(d, e.name)]));
  for (const f of walk(sb.env.BG_DATA_DIR!)) assert.not.ok(fs.readFileSync(f).includes(canary), f);
  const bad = await run(sb, 'start_process.ts', ['--env', 'NOEQUALS', 'true', 'x']);
  assert.is(bad.code, 2);
  const pw = await run(sb, 'start_process.ts', ['--env', 'BG_PASSWORD=x', 'true', 'x']);
  assert.is(pw.code, 2);
  assert.match(pw.stderr, /the password never reaches a child/);
});

test.run();
