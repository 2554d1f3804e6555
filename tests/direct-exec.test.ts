// Issue 13, item 4: a command given as one plain word runs as the program itself, and a
// single simple command given as a shell line is exec'd by the shell, so the PID shown and
// the status recorded are the program's own (not sh's).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { FIXTURES, listJson, run, start, waitFor, withSandbox, type Sandbox } from './helpers.ts';
import {
  execLine,
  isPlainWord,
  simpleCommandWords,
} from '../skills/background-manager/scripts/lib/process/shellplan.ts';

const logs = async (sb: Sandbox, id: string, args: string[] = []) =>
  (await run(sb, 'get_logs.ts', [id, ...args])).stdout;
const send = async (sb: Sandbox, id: string, args: string[]) => {
  const r = await run(sb, 'send_input.ts', [id, ...args]);
  assert.is(r.code, 0, r.stderr);
};
const exeOf = (pid: number) => {
  try {
    return fs.readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return '';
  }
};

async function interruptThenEnd(sb: Sandbox, id: string, sleepLine: string): Promise<void> {
  await send(sb, id, [sleepLine]);
  await waitFor('the sleep', async () => /^sleeping$/m.test(await logs(sb, id, ['-n', '0'])), 30_000);
  await send(sb, id, ['--key', 'ctrl-c']);
  await waitFor(
    'the interrupt',
    async () => /^(KeyboardInterrupt|(\^C)?interrupted)$/m.test(await logs(sb, id, ['-n', '0'])),
    30_000,
  );
  await send(sb, id, ['--key', 'ctrl-d']);
}

withSandbox(
  "python3 started as one word: the PID shown is python's, and its status after ctrl-c and ctrl-d is python's own",
  async (sb) => {
    const { id, pid } = await start(sb, ['--wait-for', '^>>> ', 'python3']);
    assert.match(exeOf(pid), /python/, `PID ${pid} runs ${exeOf(pid)}`);
    await interruptThenEnd(sb, id, "import time; print('sleep' + 'ing'); time.sleep(100)");
    const row = await waitFor(
      'the exit',
      async () => (await listJson(sb)).find((p) => p.id === id && p.status !== 'running'),
      30_000,
    );
    assert.is(row.pid, pid);
    // CPython (3.11 here) ends by SIGINT itself when the last statement it ran was interrupted:
    // the status must be whatever python's own is, read from the kernel for python's PID.
    const own = pythonOwnStatus();
    assert.is(row.status === 'exited' ? `exited(${row.exitCode})` : `killed(${row.signal})`, own);
  },
);

withSandbox(
  'a REPL started as one word that handles ctrl-c is exited(0) after ctrl-c then ctrl-d, with its own PID',
  async (sb) => {
    const { id, pid } = await start(sb, ['--wait-for', '^mini> ', './tests/fixtures/mini-repl.py']);
    assert.match(
      fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1'),
      /^\S*python3\0\.\/tests\/fixtures\/mini-repl\.py\0$/,
      JSON.stringify(fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1')),
    );
    await interruptThenEnd(sb, id, 'sleep');
    const row = await waitFor(
      'the exit',
      async () => (await listJson(sb)).find((p) => p.id === id && p.status !== 'running'),
      30_000,
    );
    assert.is(`${row.status}(${row.exitCode ?? row.signal})`, 'exited(0)');
    assert.is(row.pid, pid);
  },
);

withSandbox(
  "the same REPL given as a shell line (python3 FILE) is exec'd: exited(0) after ctrl-c then ctrl-d",
  async (sb) => {
    const { id, pid } = await start(sb, ['--wait-for', '^mini> ', 'python3 tests/fixtures/mini-repl.py']);
    assert.match(exeOf(pid), /python/, `PID ${pid} runs ${exeOf(pid)}`);
    await interruptThenEnd(sb, id, 'sleep');
    const row = await waitFor(
      'the exit',
      async () => (await listJson(sb)).find((p) => p.id === id && p.status !== 'running'),
      30_000,
    );
    assert.is(`${row.status}(${row.exitCode ?? row.signal})`, 'exited(0)');
  },
);

/** What python3's REPL itself exits with after the same keys, run straight under a PTY. */
function pythonOwnStatus(): string {
  const r = spawnSync('python3', [path.join(FIXTURES, 'python-repl-status.py')], { encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 0, r.stderr);
  return r.stdout.trim();
}

withSandbox("a single simple command given as a shell line is exec'd: the PID shown is the program's", async (sb) => {
  const p = await start(sb, ['sleep 300 >/dev/null 2>&1']);
  assert.match(exeOf(p.pid), /sleep$/);
  // With an assignment before it, too.
  const q = await start(sb, ['--no-pty', 'GREETING="hi there" sh -c \'echo "$GREETING"; exec sleep 300\'']);
  await waitFor('the greeting', async () => (await logs(sb, q.id)) === 'hi there\n', 20_000);
  assert.match(exeOf(q.pid), /sleep$/);
  // A list of commands keeps its shell, and the shell's status.
  const r = await start(sb, ['sleep 300; echo after']);
  assert.match(exeOf(r.pid), /(dash|bash|sh)$/);
  const s = await start(sb, ['sh -c "exit 3"']);
  const row = await waitFor(
    'exit 3',
    async () => (await listJson(sb)).find((x) => x.id === s.id && x.status === 'exited'),
    20_000,
  );
  assert.is(row.exitCode, 3);
});

test('which lines are one simple command, and where exec goes', () => {
  const isProgram = (w: string) => ['npm', 'sleep', 'python3'].includes(w);
  assert.ok(isPlainWord('python3'));
  assert.ok(isPlainWord('./bin/server'));
  for (const w of ['a b', 'x;y', '$HOME', 'a*', '~/x', "'q'", 'a\\b', 'FOO=1', 'a|b', 'a>b', 'a?'])
    assert.not.ok(isPlainWord(w), w);
  assert.is(execLine('npm run dev', isProgram), 'exec npm run dev');
  assert.is(execLine('  npm run dev 2>&1', isProgram), '  exec npm run dev 2>&1');
  assert.is(execLine('PORT=3000 X="a b" npm start', isProgram), 'PORT=3000 X="a b" exec npm start');
  assert.is(execLine("python3 -c 'print(1); print(2)'", isProgram), "exec python3 -c 'print(1); print(2)'");
  for (const line of [
    'npm run dev; echo done',
    'npm run dev & wait',
    'npm run dev | tee x',
    'npm run dev && x',
    '(npm run dev)',
    'npm run `x`',
    'npm run dev\necho',
    'cd x',
    'echo hi',
    '$CMD run',
    "npm 'unterminated",
  ]) {
    assert.is(execLine(line, isProgram), undefined, line);
  }
  assert.equal(
    simpleCommandWords('a "b c" # d; e')?.map((w) => w.text),
    ['a', '"b c"'],
  );
});

test.run();
