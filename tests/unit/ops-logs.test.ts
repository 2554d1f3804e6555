// get_logs' use case (ops/logs.ts) in process: the defaults a request gets, the rules that
// refuse a combination (in the script's words and in the MCP tool's), and the script's main
// naming a clashing flag as it was typed, without a process or a log behind most of them.
import * as assert from 'uvu/assert';
import { BgError } from '../../skills/background-manager/scripts/lib/errors.ts';
import { main as logsMain, WORDS as CLI } from '../../skills/background-manager/scripts/lib/commands/get_logs.ts';
import { WORDS as MCP } from '../../skills/background-manager/scripts/lib/mcp/logs-tool.ts';
import { DEFAULT_LINES, MCP_WAIT_TIMEOUT_SEC } from '../../skills/background-manager/scripts/lib/ops/defaults.ts';
import {
  checkLogs,
  checkStream,
  logKeys,
  parseSince,
  type LogsRequest,
  type LogsWords,
} from '../../skills/background-manager/scripts/lib/ops/logs.ts';
import type { Context } from '../../skills/background-manager/scripts/lib/store/context.ts';
import { addRecords, callMain, endedRecord, type UnitDir, unitSuite, withUnitDir } from './harness.ts';

const test = unitSuite('ops/logs (get_logs)');

/** The USAGE message `req` is refused with, in words `w`. */
function refused(req: LogsRequest, w: LogsWords): string {
  try {
    checkLogs(req, w);
  } catch (err) {
    assert.instance(err, BgError);
    assert.is((err as BgError).code, 'USAGE');
    return (err as BgError).message;
  }
  throw new Error(`not refused: ${JSON.stringify(req)}`);
}

test('defaults: the last DEFAULT_LINES lines of stdout and stderr, no timeout; MCP waits its own default', () => {
  const c = checkLogs({}, CLI);
  assert.is(c.plan.mode, 'tail');
  assert.is(c.plan.query.lines, DEFAULT_LINES);
  assert.is(c.plan.legacyLines, DEFAULT_LINES);
  assert.is(c.plan.missLines, DEFAULT_LINES);
  assert.is(c.options.stream, 'output');
  assert.equal([...c.plan.query.streams], ['stdout', 'stderr']);
  assert.is(c.timeoutSec, undefined);
  assert.is(c.cursor, false);
  assert.is(checkLogs({ waitFor: 'x' }, CLI).timeoutSec, undefined); // the script waits until it matches
  assert.is(checkLogs({ waitFor: 'x' }, MCP).timeoutSec, MCP_WAIT_TIMEOUT_SEC);
  assert.is(checkLogs({ waitFor: 'x', timeoutSec: 3 }, MCP).timeoutSec, 3);
  assert.is(checkLogs({}, MCP).timeoutSec, undefined);
  assert.is(checkLogs({ new: true }, CLI).plan.query.lines, 0); // all of what is new
});

test('--since: a duration or an ISO time; anything else is refused in each front end words', () => {
  assert.is(parseSince('30s', 100_000), 70_000);
  assert.is(parseSince('2026-01-31T12:00:00Z'), Date.parse('2026-01-31T12:00:00Z'));
  assert.is(parseSince('yesterday'), undefined);
  assert.is(checkLogs({ since: '5m' }, CLI).plan.mode, 'since');
  const tail = ' is not a time: use 30s, 5m, 2h, 1d or an ISO time like 2026-01-31T12:00:00Z.';
  assert.is(refused({ since: 'yesterday' }, CLI), `--since "yesterday"${tail}`);
  assert.is(refused({ since: 'yesterday' }, MCP), `since "yesterday"${tail}`);
});

test('-n: a whole number, 0 or more, shown as typed; not with --wait-for', () => {
  assert.is(refused({ lines: -3 }, CLI), '-n must be a whole number of lines, 0 or more (got -3).');
  assert.is(
    refused({ lines: 0 }, { ...CLI, shown: () => '' }),
    '-n must be a whole number of lines, 0 or more (got ).',
    'an empty -n (yargs: 0) is refused',
  );
  assert.is(
    refused({ lines: Number.NaN }, { ...CLI, shown: () => 'abc' }),
    '-n must be a whole number of lines, 0 or more (got abc).',
  );
  assert.is(
    refused({ lines: 5, waitFor: 'x' }, CLI),
    '-n does not apply to --wait-for, which prints the matching line (with --new, every new line up to it). Leave out -n.',
  );
  assert.is(
    refused({ lines: 5, waitFor: 'x' }, MCP),
    'lines does not apply to wait_for, which returns the matching line (with new, the new lines up to it). Leave out lines.',
  );
});

test('--timeout: a duration, only with --follow or --wait-for', () => {
  assert.is(
    refused({ timeoutSec: 5 }, CLI),
    '--timeout applies only to --follow and --wait-for; without them get_logs returns at once.',
  );
  assert.is(refused({ timeoutSec: 5 }, MCP), 'timeout applies only to wait_for; without it get_logs returns at once.');
  assert.is(checkLogs({ timeoutSec: 5, follow: true }, CLI).timeoutSec, 5);
  assert.is(refused({ timeoutSec: -1, waitFor: 'x' }, MCP), 'timeout must be a number of seconds, 0 or more (got -1).');
  assert.match(refused({ timeoutSec: 1e12, waitFor: 'x' }, CLI), /^--timeout 1000000000000 is too long/);
});

test('--screen: no line option with it, the first given named; --cursor only with it', () => {
  assert.is(refused({ cursor: true }, CLI), '--cursor marks the cursor row of --screen: add --screen.');
  const clash = (name: string, w: LogsWords) =>
    `${w.screen} ${w.gives} the whole screen as it stands; ${name} applies to lines. Leave out one of them.`;
  // MCP: in its order, by its names (the request's).
  assert.is(refused({ screen: true, grep: 'x', new: true }, MCP), clash('new', MCP));
  assert.is(refused({ screen: true, grep: 'x', stream: 'stdout' }, MCP), clash('grep', MCP));
  // The script: as typed, the first typed first.
  const given = new Map([
    ['follow', '-f'],
    ['lines', '--lines'],
  ] as const);
  assert.is(refused({ screen: true, lines: 3, follow: true }, { ...CLI, given }), clash('-f', CLI));
  assert.is(checkLogs({ screen: true, cursor: true, waitFor: 'x' }, CLI).plan.mode, 'screen');
  assert.is(
    refused({ attrs: true }, MCP),
    'attrs marks reverse video, bold, underline and colours on screen: add screen.',
  );
  assert.is(checkLogs({ screen: true, attrs: true }, CLI).attrs, true);
});

test('patterns: the script compiles as JavaScript does, MCP for the linear-time engine', () => {
  assert.match(refused({ grep: '(' }, CLI), /^--grep "\(" is not a valid regular expression/);
  assert.match(refused({ waitFor: '(' }, MCP), /^wait_for "\(" is not a valid regular expression/);
  assert.is(checkLogs({ grep: '(a)\\1' }, CLI).plan.query.grep?.source, '(a)\\1');
  assert.throws(() => checkLogs({ grep: '(a)\\1' }, MCP), /grep/); // a backreference backtracks
});

test('a PTY process has no stderr of its own; a log needs key.json', () => {
  const pty = endedRecord('aaaa0001', { pty: true });
  assert.not.throws(() => checkStream(pty, 'output', CLI));
  assert.not.throws(() => checkStream(endedRecord('aaaa0002'), 'stderr', CLI));
  assert.throws(
    () => checkStream(pty, 'stderr', MCP),
    (e: BgError) =>
      e.code === 'USAGE' &&
      e.message ===
        'stderr is merged into the terminal for PTY processes; start with pty: false to keep it apart (stream output shows it with the rest).',
  );
  const ctx = { dataDir: '/d', unlocked: undefined } as unknown as Context;
  assert.throws(
    () => logKeys(ctx, pty),
    (e: BgError) =>
      e.code === 'DAMAGED' &&
      e.message === '/d/logs/aaaa0001.log.enc needs key.json, which is missing. Restore it from a backup.',
  );
});

const withDir = (name: string, fn: (u: UnitDir) => Promise<void> | void) => withUnitDir(test, name, fn);
const logs = (u: UnitDir, ...argv: string[]) => callMain('get_logs', logsMain, argv, u.env);

withDir('get_logs main: the clashing flag named as typed, an empty -n refused, stderr of a PTY refused', async (u) => {
  await addRecords(u, endedRecord('aaaa0001', { pty: true }));
  const screenClash = (flag: string) =>
    `get_logs: error: --screen prints the whole screen as it stands; ${flag} applies to lines. Leave out one of them.\n`;
  for (const [argv, flag] of [
    [['--screen', '-f', '-n', '3'], '-f'],
    [['--follow', '--screen'], '--follow'],
    [['--screen', '--lines=3'], '--lines'],
    [['-t', '--screen', '--grep', 'x'], '-t'],
    [['--screen', '--stream', 'output'], '--stream'],
  ] as const) {
    const r = await logs(u, 'aaaa0001', ...argv);
    assert.is(r.stderr, screenClash(flag), argv.join(' '));
    assert.is(r.code, 2);
  }
  const empty = await logs(u, 'aaaa0001', '-n', '');
  assert.is(empty.stderr, 'get_logs: error: -n must be a whole number of lines, 0 or more (got ).\n');
  const stderr = await logs(u, 'aaaa0001', '--stream', 'stderr');
  assert.is(
    stderr.stderr,
    'get_logs: error: stderr is merged into the terminal for PTY processes; start with --no-pty to keep it apart (--stream output shows it with the rest).\n',
  );
  assert.is(stderr.code, 2);
});

test('grep context: -A/-B plan every line read and the matches picked from them; -n counts matches (issue 25, item 5)', () => {
  const c = checkLogs({ grep: 'ERR', before: 2 }, CLI);
  assert.equal(
    { ...c.plan.context, grep: String(c.plan.context?.grep) },
    { grep: '/ERR/', before: 2, after: 0, matches: DEFAULT_LINES },
  );
  assert.is(c.plan.query.grep, undefined, 'the window sees every line');
  assert.is(c.plan.query.lines, 0);
  assert.is(c.plan.delivery, 'stream');
  assert.is(c.plan.view, checkLogs({ grep: 'ERR' }, CLI).plan.view, 'the --new position of --grep ERR');
  assert.is(checkLogs({ grep: 'ERR', after: 1, lines: 3 }, CLI).plan.context?.matches, 3);
  assert.is(checkLogs({ grep: 'ERR', after: 1, new: true }, CLI).plan.context?.matches, 0);
  assert.is(checkLogs({ grep: 'ERR', after: 1, follow: true }, CLI).plan.mode, 'follow');
  assert.is(checkLogs({ grep: 'ERR' }, CLI).plan.context, undefined);
});

test("grep context refusals, in each front end's words", () => {
  assert.is(
    refused({ after: 1 }, CLI),
    "-A, -B and -C show lines around --grep's matches: add --grep PATTERN, or leave them out.",
  );
  assert.is(
    refused({ before: 0 }, MCP),
    "context_before and context_after show lines around grep's matches: add grep PATTERN, or leave them out.",
  );
  assert.is(refused({ grep: 'x', after: -1 }, CLI), '-A must be a whole number of lines, 0 or more (got -1).');
  assert.is(
    refused({ grep: 'x', before: 1.5 }, MCP),
    'context_before must be a whole number of lines, 0 or more (got 1.5).',
  );
  assert.match(refused({ grep: 'x', waitFor: 'y', before: 1 }, CLI), /^-A, -B and -C do not apply to --wait-for/);
  assert.match(
    refused({ screen: true, after: 1 }, MCP),
    /^screen returns the whole screen as it stands; after applies/,
  );
});

test.run();
