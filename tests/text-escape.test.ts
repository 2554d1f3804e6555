// Issue 23, item 8: user-given text (a command, a name, an ID argument) is printed with every
// character a terminal would act on or hide shown as an escape: C0 and C1 controls, DEL, the
// line and paragraph separators and the bidi controls. Each process stays one row of
// list_processes; an error that echoes an ID cannot colour or reorder the terminal.
// Item 7's CLI half: restart_process of a recorded command holding a NUL is refused before
// anything is stopped or started.
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { alive, records, ROOT, run, start, track, waitFor, withSandbox, PASSWORD, type Sandbox } from './helpers.ts';
import { unlock } from '../skills/background-manager/scripts/lib/store/keys.ts';
import { StateStore, type ProcessRecord } from '../skills/background-manager/scripts/lib/store/state.ts';

/** One of each class, and the escape each must become. */
const CLASSES: [string, string, string][] = [
  ['ESC (C0)', '\x1b', '\\x1b'],
  ['NEL (C1)', '\u0085', '\\x85'],
  ['CSI (C1)', '\u009b', '\\x9b'],
  ['line separator', '\u2028', '\\u2028'],
  ['paragraph separator', '\u2029', '\\u2029'],
  ['left-to-right mark', '\u200e', '\\u200e'],
  ['right-to-left mark', '\u200f', '\\u200f'],
  ['right-to-left override', '\u202e', '\\u202e'],
  ['left-to-right embedding', '\u202a', '\\u202a'],
  ['first strong isolate', '\u2068', '\\u2068'],
  ['pop directional isolate', '\u2069', '\\u2069'],
  ['Arabic letter mark', '\u061c', '\\u061c'],
];
const RAW = new RegExp(`[${CLASSES.map(([, c]) => c).join('')}]`, 'u');

/** Change the recorded processes as a damaged or older state could hold them (the real encrypted store). */
async function patchRecords(sb: Sandbox, fn: (p: ProcessRecord) => void): Promise<void> {
  const dataDir = sb.env.BG_DATA_DIR!;
  await new StateStore({ dataDir, keys: unlock(dataDir, PASSWORD, { create: false })!.keys }).update((doc) =>
    doc.processes.forEach(fn),
  );
}

withSandbox(
  'list_processes: a command and a name with each class of unshown character (C1, U+2028/9, bidi) are one row, escaped',
  async (sb) => {
    const ids: string[] = [];
    for (const [what, c] of CLASSES) {
      // The command as given on the command line: a shell comment carries the character.
      const { id } = await start(sb, ['--no-pty', '--', `true # ${what}: <${c}>`]);
      ids.push(id);
    }
    // A name cannot hold these (start_process refuses them); a state from elsewhere can.
    await patchRecords(sb, (p) => (p.name = `n<${CLASSES[ids.indexOf(p.id)]![1]}>`));
    const list = await run(sb, 'list_processes.ts', []);
    assert.is(list.code, 0, list.stderr);
    const lines = list.stdout.replace(/\n$/, '').split('\n');
    assert.is(lines.length, 1 + CLASSES.length, `one row per process:\n${list.stdout}`);
    assert.not.match(list.stdout, RAW, 'no unshown character printed raw');
    CLASSES.forEach(([what, , esc], i) => {
      const row = lines.find((l) => l.startsWith(ids[i]!))!;
      assert.ok(row.endsWith(`true # ${what}: <${esc}>`), `COMMAND shows ${what} as ${esc}: ${JSON.stringify(row)}`);
      assert.ok(row.includes(` n<${esc}> `), `NAME shows ${what} as ${esc}: ${JSON.stringify(row)}`);
    });
    // remove_process names the command and the name it removed, each on one line too.
    const rm = await run(sb, 'remove_process.ts', ['--exited']);
    assert.is(rm.code, 0, rm.stderr);
    assert.not.match(rm.stdout, RAW, 'no unshown character printed raw');
    assert.is(rm.stdout.trim().split('\n').length, CLASSES.length, rm.stdout);
    assert.match(rm.stdout, /^Removed process [0-9a-f]{8} \(n<\\u202e>\): true # right-to-left override: <\\u202e>$/m);
  },
);

withSandbox('an ID argument holding ESC, C1 or bidi controls is echoed escaped in the error (CLI)', async (sb) => {
  await start(sb, ['--no-pty', 'true']);
  const ref = '\x1b[31mred\u009b\u202egnp\u2028x';
  const shown = '\\x1b[31mred\\x9b\\u202egnp\\u2028x';
  for (const script of [
    'stop_process.ts',
    'get_logs.ts',
    'restart_process.ts',
    'wait_process.ts',
    'remove_process.ts',
    'send_input.ts',
  ]) {
    const r = await run(sb, script, script === 'send_input.ts' ? [ref, 'hi'] : [ref]);
    assert.is(r.code, 4, `${script}: ${r.stderr}`);
    assert.not.match(r.stderr, RAW, `${script} echoes no unshown character raw: ${JSON.stringify(r.stderr)}`);
    assert.ok(r.stderr.includes(`"${shown}"`), `${script} shows the ID escaped: ${JSON.stringify(r.stderr)}`);
    assert.is(r.stderr.trim().split('\n').length, 1, `${script}: one line`);
  }
  // A name given to start_process that cannot be used is echoed escaped as well.
  const bad = await run(sb, 'start_process.ts', ['--name', '\x1b]0;title\x07', 'true']);
  assert.is(bad.code, 2, bad.stderr);
  assert.ok(bad.stderr.includes('name "\\x1b]0;title\\x07" is not usable'), JSON.stringify(bad.stderr));
});

withSandbox(
  'get_logs --stream events and all: the command in the "started:" line is shown escaped (--raw keeps it exact)',
  async (sb) => {
    const arg = `${CLASSES.map(([, c]) => c).join('')}\x07end`;
    const { id } = await start(sb, ['--no-pty', 'sh', '-c', 'exit 0', 'sh', arg]);
    await waitFor('its end', async () =>
      /exited/.test((await run(sb, 'get_logs.ts', [id, '--stream', 'events', '-n', '0'])).stdout),
    );
    for (const stream of ['events', 'all']) {
      const r = await run(sb, 'get_logs.ts', [id, '--stream', stream, '-n', '0']);
      assert.is(r.code, 0, r.stderr);
      const started = r.stdout.split('\n').find((l) => l.includes('started: '));
      assert.ok(started, `${stream}: a started line in ${JSON.stringify(r.stdout)}`);
      assert.not.match(started, RAW, `${stream}: no unshown character printed raw`);
      assert.not.match(started, /\x07/, `${stream}: no BEL printed raw`);
      for (const [, , esc] of CLASSES) assert.ok(started.includes(esc), `${stream}: ${esc} shown in ${started}`);
    }
    const raw = await run(sb, 'get_logs.ts', [id, '--stream', 'events', '-n', '0', '--raw']);
    assert.ok(raw.stdout.includes(arg), '--raw keeps the bytes');
  },
);

withSandbox(
  'restart_process of a recorded command holding a NUL: exit 2 before anything is stopped or started',
  async (sb) => {
    const { id, pid } = await start(sb, ['--no-pty', 'sleep', '300']);
    await patchRecords(sb, (p) => {
      p.argv = ['sleep', '300\0; echo cut'];
      p.command = 'sleep 300\0; echo cut';
    });
    const r = await run(sb, 'restart_process.ts', [id]);
    assert.is(r.code, 2, `${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /NUL/);
    assert.not.match(r.stderr, /\0/, 'the NUL itself is not printed');
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(alive(pid), 'the old run was not stopped');
    const rec = records(sb).find((p) => p.id === id)!;
    assert.is(rec.pid, pid, 'no new run was recorded');
    // The record stays as it was: stop it as usual.
    assert.is((await run(sb, 'stop_process.ts', [id])).code, 0);
    await waitFor('stopped', () => !alive(pid));
  },
);

withSandbox('an internal error (not one of ours) is one escaped line; its stack only with BG_DEBUG', async (sb) => {
  // A preload makes the first thing runMain awaits fail with a plain Error whose message holds
  // a newline and terminal controls, as a bug echoing a path could.
  const preload = path.join(sb.dir, 'fail.cjs');
  fs.writeFileSync(
    preload,
    `globalThis[Symbol.for('background-manager.kek-prefetch')] = { ready: { then(_, fail) { fail(new Error('boom \\x1b[31mred\\u202e\\nsecond line')); } } };\n`,
  );
  const env: NodeJS.ProcessEnv = {
    ...sb.env,
    NODE_OPTIONS: `${sb.env.NODE_OPTIONS ?? ''} --require ${preload}`.trim(),
  };
  delete env.BG_DEBUG;
  const r = await run(sb, 'list_processes.ts', [], { env });
  assert.is(r.code, 1, r.stderr);
  assert.is(r.stderr.trim().split('\n').length, 1, `one line: ${JSON.stringify(r.stderr)}`);
  assert.not.match(r.stderr, RAW, JSON.stringify(r.stderr));
  assert.ok(
    r.stderr.startsWith('list_processes: internal error: boom \\x1b[31mred\\u202e\\nsecond line'),
    JSON.stringify(r.stderr),
  );
  const debug = await run(sb, 'list_processes.ts', [], { env: { ...env, BG_DEBUG: '1' } });
  assert.is(debug.code, 1, debug.stderr);
  assert.match(debug.stderr, /^\s+at /m, 'the stack with BG_DEBUG');
  assert.not.match(debug.stderr, RAW, JSON.stringify(debug.stderr));
});

withSandbox("MCP: a log resource's description shows the command escaped", async (sb) => {
  await start(sb, ['--no-pty', 'true', '\x1b[31mred\u009b\u202egnp\u2028x']);
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [path.join(ROOT, 'skills/background-manager/dist/mcp_server.mjs')],
    env: sb.env as Record<string, string>,
    stderr: 'pipe',
  });
  const client = new Client({ name: 'bgm-test', version: '1.0.0' });
  await client.connect(transport);
  track(sb, transport.pid!);
  try {
    const { resources } = await client.listResources();
    const mine = resources.filter((r) => r.uri.startsWith('bg://process/'));
    assert.is(mine.length, 1, JSON.stringify(resources));
    assert.not.match(mine[0]!.description ?? '', RAW, JSON.stringify(mine[0]));
    assert.ok(mine[0]!.description!.includes('\\x1b[31mred\\x9b\\u202egnp\\u2028x'), JSON.stringify(mine[0]));
  } finally {
    await client.close();
  }
});

test.run();
