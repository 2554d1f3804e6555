// start_process's use case (lib/ops/start.ts) and the readiness it asks for (lib/ops/ready.ts),
// in process: the checks and their messages as each front end names its options, the defaults
// each front end gets, and the name refused before anything starts. Nothing is spawned.
import * as assert from 'uvu/assert';
import { BgError } from '../../skills/background-manager/scripts/lib/errors.ts';
import {
  checkStart,
  START_DEFAULTS,
  type StartRequest,
  start,
} from '../../skills/background-manager/scripts/lib/ops/start.ts';
import { errorOf, runningRecord } from './ops-helpers.ts';
import { addRecords, contextOf, unitSuite, withUnitDir } from './harness.ts';
import { CLI, CLI_WAITS, MCP, MCP_WAITS } from './ops-fronts.ts';

const test = unitSuite('ops/start');

/** The USAGE message checkStart gives for `req`, or '' if it passes. */
function refusal(req: Partial<StartRequest>, fe = CLI, example?: string): string {
  try {
    checkStart({ command: ['true'], ...req }, fe, fe === CLI ? CLI_WAITS : MCP_WAITS, { example });
    return '';
  } catch (err) {
    if (!(err instanceof BgError)) throw err;
    assert.is(err.code, 'USAGE');
    return err.message;
  }
}

test('a bare request gets the documented defaults, and no wait', () => {
  const plan = checkStart({ command: ['true'] }, CLI, CLI_WAITS);
  assert.equal(
    [plan.pty, plan.replace, plan.restart, plan.maxLogSize, plan.cwd, plan.extraEnv, plan.timeoutSec, plan.wait],
    [true, false, { mode: 'no', max: 0 }, 100 * 1024 * 1024, process.cwd(), {}, undefined, {}],
  );
  assert.is(START_DEFAULTS.maxRestarts, 10);
  // The restart budget counts only when restarts are on.
  assert.equal(checkStart({ command: ['true'], restart: 'always' }, CLI, CLI_WAITS).restart, {
    mode: 'always',
    max: 10,
  });
});

test('a wait without a timeout lasts 60 s from the scripts and 30 s from MCP', () => {
  const cli = checkStart({ command: ['true'], waitFor: 'ready' }, CLI, CLI_WAITS).wait;
  assert.equal(cli.ready, { pattern: 'ready', port: undefined, timeoutSec: 60 });
  assert.ok(cli.pattern?.test('all ready'));
  const mcp = checkStart({ command: ['true'], waitPort: 8080 }, MCP, MCP_WAITS).wait;
  assert.equal(mcp, { ready: { pattern: undefined, port: 8080, timeoutSec: 30 }, pattern: undefined });
  assert.is(checkStart({ command: ['true'], waitPort: 1, waitTimeout: 2 }, CLI, CLI_WAITS).wait.ready?.timeoutSec, 2);
});

test('--wait-timeout alone is refused, named as each front end names it', () => {
  assert.is(
    refusal({ waitTimeout: 5 }),
    '--wait-timeout needs --wait-for or --wait-port: it says how long to wait for them.',
  );
  assert.is(
    refusal({ waitTimeout: 5 }, MCP),
    'wait_timeout needs wait_for or wait_port: it says how long to wait for them.',
  );
});

test('the port range, the timeout and the log size floor: one message each, the value as the caller gave it', () => {
  assert.is(refusal({ waitPort: 0 }), '--wait-port must be a TCP port, 1 to 65535 (got typed).');
  assert.is(refusal({ waitPort: 65536 }, MCP), 'wait_port must be a TCP port, 1 to 65535 (got 65536).');
  assert.is(refusal({ waitPort: 65535 }), '');
  assert.is(refusal({ waitPort: 1, waitTimeout: 0 }, MCP), 'wait_timeout must be a number of seconds above 0 (got 0).');
  assert.is(refusal({ timeout: -1 }), '--timeout must be a number of seconds above 0 (got typed).');
  assert.is(
    refusal({ maxLogSize: '512K' }),
    '--max-log-size must be a size of at least 1M, like 50M or 2G (got "512K").',
  );
  assert.is(
    refusal({ maxLogSize: 'big' }, MCP),
    'max_log_size must be a size of at least 1M, like 50M or 2G (got "big").',
  );
  assert.is(refusal({ maxRestarts: 1.5 }), '--max-restarts must be a whole number, 0 or more (got typed).');
  assert.is(
    refusal({ waitFor: '(' }),
    '--wait-for "(" is not a valid regular expression (Invalid regular expression: /(/: Unterminated group).',
  );
});

test('the checks run in the order the script always ran them: the first wrong field is the one named', () => {
  // max-log-size before the name, the name before --replace, the wait before --timeout, the command last.
  assert.match(refusal({ maxLogSize: '1K', name: 'bad name' }), /^--max-log-size/);
  assert.match(refusal({ name: 'bad name', replace: true }), /^name "bad name" is not usable/);
  assert.is(refusal({ replace: true }), '--replace needs --name: it replaces the live process of that name.');
  assert.match(refusal({ waitPort: 0, timeout: 0 }), /^--wait-port/);
  assert.match(refusal({ timeout: 0, command: [] }), /^--timeout/);
  assert.is(
    refusal({ command: [' '] }, CLI, 'start_process.ts python3 -m http.server 8080'),
    'no command given. Example: start_process.ts python3 -m http.server 8080',
  );
  assert.is(refusal({ command: [''] }, MCP), 'no command given.');
});

test('env: KEY=VALUE pairs from the script, an object from MCP, both checked', () => {
  assert.equal(checkStart({ command: ['true'], env: ['A=1', 'B=x=y'] }, CLI, CLI_WAITS).extraEnv, { A: '1', B: 'x=y' });
  assert.equal(checkStart({ command: ['true'], env: { A: '1' } }, MCP, MCP_WAITS).extraEnv, { A: '1' });
  assert.match(refusal({ env: { 'A=B': '1' } }, MCP), /^env key "A=B" is not a variable name/);
  assert.match(refusal({ env: ['BG_PASSWORD=x'] }), /^--env BG_PASSWORD is refused/);
  assert.is(
    refusal({ env: { BG_PASSWORD: 'x' } }, MCP),
    'env BG_PASSWORD is refused: the password never reaches a child process.',
  );
});

withUnitDir(test, 'a name a live process holds is refused before anything starts, with the fix', async (u) => {
  // A live record: this test process, as its child and its supervisor.
  const live = runningRecord('aaaa0001', { name: 'web' });
  await addRecords(u, live);
  const plan = checkStart({ command: ['true'], name: 'web' }, CLI, CLI_WAITS);
  const ctx = contextOf(u);
  try {
    await start(plan, () => ctx);
    assert.unreachable('started');
  } catch (err) {
    assert.instance(err, BgError);
    assert.is((err as BgError).code, 'REFUSED');
    assert.is(
      (err as BgError).message,
      'the name "web" belongs to running process aaaa0001. Stop it, pick another name, or pass --replace.',
    );
  }
  // MCP's words: its argument, not the script's flag.
  const mcp = checkStart({ command: ['true'], name: 'web' }, MCP, MCP_WAITS);
  assert.is(
    await errorOf(() => start(mcp, () => ctx)),
    'REFUSED: the name "web" belongs to running process aaaa0001. Stop it, pick another name, or pass replace: true.',
  );
  // A command that cannot run is refused first, before the name is looked at.
  const cannot = checkStart({ command: ['no-such-program-xyz'], name: 'web' }, CLI, CLI_WAITS);
  try {
    await start(cannot, () => ctx);
    assert.unreachable('started');
  } catch (err) {
    assert.is((err as BgError).code, 'CANNOT_START');
  }
});

test.run();
