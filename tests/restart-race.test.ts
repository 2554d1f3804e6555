// Concurrent restart_process of one process (issue 23, "Trust, round two", item A): exactly one
// call starts the new run; the others join it and say so (exit 0), no second run is left live
// for the ID, and its log has one writer. Real processes, the calls run at once.
// Run: npx uvu -r tsx tests restart-race
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { exec, figure, rtest, sameProcess, startP } from './reliability-lib.ts';
import { ROOT, track, waitFor } from './helpers.ts';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { allStats, readStat } from '../skills/background-manager/scripts/lib/process/proc.ts';
import fs from 'node:fs';
import path from 'node:path';

const N = 4;

// Live processes whose command line holds `mark` (looked at only, never signalled by it).
function holding(mark: string): number[] {
  const pids: number[] = [];
  for (const st of allStats()) {
    if (st.state === 'Z' || st.state === 'X') continue;
    try {
      if (fs.readFileSync(`/proc/${st.pid}/cmdline`, 'utf8').includes(mark)) pids.push(st.pid);
    } catch {
      /* gone */
    }
  }
  return pids;
}

rtest(
  'restart race: of several restart_process calls at once, one starts the new run; the others say they joined it, and stop_process leaves nothing running',
  async (sb, ctx) => {
    const mark = `tick-${randomBytes(4).toString('hex')}`;
    // The old run takes 3 s to stop (a SIGTERM handler that sleeps), so the calls overlap in the
    // stop even when a loaded machine starts them a second or more apart (seen in a run beside two
    // CPU hogs: two calls restarted in turn, each correctly, and the race went unchecked).
    const slow = `import signal, sys, time\nsignal.signal(signal.SIGTERM, lambda *a: (time.sleep(3), sys.exit(0)))\nprint("handler set ${mark}", flush=True)\nwhile True: time.sleep(1)`;
    const a = await startP(sb, ['--no-pty', '--name', 'cr', '--wait-for', 'handler set', 'python3', '-c', slow]);
    const calls = await Promise.all(
      Array.from({ length: N }, () =>
        exec(sb, 'restart_process.ts', ['cr'], { watch: ctx.strays, timeoutMs: 120_000 }),
      ),
    );
    for (const [i, c] of calls.entries())
      figure(`call ${i}: exit ${c.code}: ${(c.out + c.stderr).trim().replace(/\n/g, ' | ')}`);

    const winners = calls.filter((c) => /^Restarted process /m.test(c.out));
    assert.is(winners.length, 1, 'exactly one call says it restarted the process');
    const w = new RegExp(
      `^Restarted process ${a.id} \\(PID (\\d+); (?:stopped by SIGTERM|it was not running)\\)\\.$`,
      'm',
    ).exec(winners[0]!.out);
    assert.ok(w, `the winner's line: ${winners[0]!.out}`);
    const pid = Number(w![1]);
    for (const c of calls) {
      assert.is(c.code, 0, `every call exits 0: ${c.out}${c.stderr}`);
      if (c === winners[0]) continue;
      assert.match(
        c.out,
        new RegExp(`^Process ${a.id} \\(cr\\) was restarted by another call meanwhile \\(PID ${pid}\\)\\.$`, 'm'),
        `a joiner says so: ${c.out}${c.stderr}`,
      );
    }
    // One live run of the command: the new one.
    await waitFor('the old run to be gone', () => !holding(mark).includes(a.pid));
    const live = holding(mark);
    figure(`live processes of the command after the restarts: ${live.join(', ')}`);
    assert.equal(live, [pid], `one run of the command is live, the new one (${pid}); found ${live.join(', ')}`);

    const stop = await exec(sb, 'stop_process.ts', ['cr']);
    assert.is(stop.code, 0, stop.stderr);
    // Nothing any restart started is left: checked by PID and start time of each.
    await waitFor('every process the restarts started to end', () => ctx.strays.every((s) => !sameProcess(s)), 15_000);
    assert.equal(holding(mark), [], 'no process of the command is alive after stop_process');
    const logs = await exec(sb, 'get_logs.ts', ['cr', '--stream', 'all']);
    assert.is(logs.code, 0, `get_logs --stream all: ${logs.stderr}`);
    assert.ok(logs.out.includes(mark));
  },
);

// The same through one MCP server (one PID for every call: the dashboard's case too).
rtest(
  'restart race over MCP: of several restart_process tool calls at once, one starts the new run; the others say they joined it',
  async (sb) => {
    const mark = `mcp-${randomBytes(4).toString('hex')}`;
    const a = await startP(sb, ['--no-pty', '--name', 'mr', `while :; do echo ${mark}; sleep .2; done`]);
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [path.join(ROOT, 'skills/background-manager/dist/mcp_server.mjs')],
      env: sb.env as Record<string, string>,
      stderr: 'pipe',
    });
    const client = new Client({ name: 'bgm-test', version: '1.0.0' });
    await client.connect(transport);
    track(sb, transport.pid!);
    let texts: string[];
    try {
      const res = await Promise.all(
        Array.from(
          { length: 3 },
          () =>
            client.callTool({ name: 'restart_process', arguments: { id: 'mr' } }, undefined, {
              timeout: 120_000,
            }) as Promise<CallToolResult>,
        ),
      );
      for (const r of res) assert.not.ok(r.isError, JSON.stringify(r.content));
      texts = res.map((r) => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n'));
    } finally {
      await client.close();
    }
    for (const t of texts) figure(`tool call: ${t.replace(/\n/g, ' | ')}`);
    const winners = texts.filter((t) => t.startsWith('Restarted process '));
    assert.is(winners.length, 1, 'exactly one tool call restarted it');
    const pid = Number(/\(PID (\d+);/.exec(winners[0]!)![1]);
    for (const t of texts)
      if (t !== winners[0]) assert.is(t, `Process ${a.id} (mr) was restarted by another call meanwhile (PID ${pid}).`);
    await waitFor('the old run to be gone', () => !holding(mark).includes(a.pid));
    assert.equal(holding(mark), [pid], 'one run of the command is live, the new one');
    assert.is((await exec(sb, 'stop_process.ts', ['mr'])).code, 0);
    await waitFor('the new run to end', () => holding(mark).length === 0);
    assert.is((await exec(sb, 'get_logs.ts', ['mr', '--stream', 'all'])).code, 0);
  },
);

// B: a --replace or restart whose command cannot run is refused before the live process is
// stopped, with the line a plain start gives (exit 1); the live process runs on, untouched.
rtest('replace/restart that cannot run: refused before the stop, the live process untouched', async (sb) => {
  const a = await startP(sb, ['--no-pty', '--name', 'k', 'sleep', '600']);
  const aSt = readStat(a.pid)!;
  const gone = path.join(sb.dir, 'gone');
  fs.mkdirSync(gone);
  const cases: [string[], RegExp][] = [
    [
      ['--replace', '--name', 'k', '--cwd', '/nonexistent', 'sleep', '1'],
      /^start_process: error: working folder \/nonexistent does not exist\. Create it or pass another --cwd\.$/m,
    ],
    [
      ['--replace', '--name', 'k', '/nonexistent/cmd'],
      /^start_process: error: cannot run \/nonexistent\/cmd: no such executable file\./m,
    ],
    [
      ['--replace', '--name', 'k', 'no-such-cmd-xyz', 'arg'],
      /^start_process: error: cannot run no-such-cmd-xyz: command not found on PATH\./m,
    ],
  ];
  for (const [args, said] of cases) {
    const r = await exec(sb, 'start_process.ts', ['--no-pty', ...args]);
    figure(`start_process ${args.join(' ')}: exit ${r.code}: ${(r.out + r.stderr).trim().replace(/\n/g, ' | ')}`);
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stderr, said);
    assert.not.match(r.out, /Stopped process/, 'nothing was stopped');
    assert.ok(sameProcess(aSt), 'the live process runs on');
  }
  // restart_process of a process whose working folder was deleted.
  const b = await startP(sb, ['--no-pty', '--name', 'inside', '--cwd', gone, 'sleep', '600']);
  const bSt = readStat(b.pid)!;
  fs.rmdirSync(gone);
  const r = await exec(sb, 'restart_process.ts', ['inside']);
  figure(`restart_process inside (cwd deleted): exit ${r.code}: ${(r.out + r.stderr).trim().replace(/\n/g, ' | ')}`);
  assert.is(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /^restart_process: error: process [0-9a-f]{8} was not stopped: working folder \S+gone does not exist\. Create it or start the command anew with \S.*start_process\S* and another --cwd\.$/m,
  );
  assert.ok(sameProcess(bSt), 'the process whose folder went runs on');
  assert.not.match(r.out, /Restarted/);
  for (const id of [a.id, b.id]) assert.is((await exec(sb, 'stop_process.ts', [id])).code, 0);
});

test.run();
