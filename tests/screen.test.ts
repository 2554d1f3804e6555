// Issue 13, item 1: get_logs --screen shows a PTY process's screen as a person would see it,
// replayed through a terminal emulator; --wait-for with --screen waits until the screen matches.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { figure, viaFastPath, waitFor, withSandbox, type Sandbox } from './helpers.ts';

// Every script through the fast path (node dist/<x>.mjs, the same sources bundled), as
// logs.test.ts: a third of tsx's CPU per call; none of these assertions is about the form.
const { run, start, listJson } = viaFastPath;

const screen = (sb: Sandbox, id: string, args: string[] = []) =>
  run(sb, 'get_logs.ts', [id, '--screen', ...args], { timeoutMs: 120_000 });

withSandbox('a curses counter: --screen shows its exact rows mid-run, and what is left after it exits', async (sb) => {
  const { id } = await start(sb, ['--wait-for', 'quit', 'python3', 'tests/fixtures/counter.py']);
  const mid = await screen(sb, id, ['--wait-for', '^Counter: 3$', '--timeout', '60']);
  assert.is(mid.code, 0, mid.stderr);
  assert.is(mid.stdout, 'Counter: 3\n\npress q to quit\n');
  const json = JSON.parse((await screen(sb, id, ['--json'])).stdout) as {
    rows: string[];
    cursor: { row: number; col: number };
    size: { cols: number; rows: number };
  };
  assert.equal(json.size, { cols: 200, rows: 50 });
  assert.is(json.rows.length, 50);
  assert.equal(json.rows.slice(0, 4), ['Counter: 3', '', 'press q to quit', '']);
  assert.is(json.cursor.row, 2);
  // --cursor: a gutter of its own, so a program's "> " is never taken for it.
  assert.is((await screen(sb, id, ['--cursor'])).stdout, ' │Counter: 3\n │\n▶│press q to quit\n');
  assert.is((await run(sb, 'send_input.ts', [id, '-n', 'q'])).code, 0);
  await waitFor('the exit', async () => (await listJson(sb))[0]!.status === 'exited', 30_000);
  // curses gives the main screen back, and "bye" is printed on it.
  const after = await screen(sb, id);
  assert.is(after.code, 0, after.stderr);
  assert.is(after.stdout, 'bye\n');
});

withSandbox('top under a PTY: --screen shows its header row', async (sb) => {
  const { id } = await start(sb, ['top']);
  const r = await screen(sb, id, ['--wait-for', '^Tasks: ', '--timeout', '60']);
  assert.is(r.code, 0, r.stderr);
  const rows = r.stdout.split('\n');
  assert.match(rows[0]!, /^top - \d\d:\d\d:\d\d up .*load average: /);
  assert.match(rows[1]!, /^Tasks: +\d+ total/);
  assert.match(r.stdout, /^ +PID USER +PR +NI/m);
  assert.ok(
    rows.every((l) => l === l.trimEnd()),
    'no trailing spaces',
  );
  assert.ok(rows.length <= 51, `${rows.length} rows`);
  assert.is((await run(sb, 'send_input.ts', [id, '-n', 'q'])).code, 0);
  await waitFor('top to quit', async () => (await listJson(sb))[0]!.status === 'exited', 30_000);
});

withSandbox('a menu driven by --keys, read with --screen between keypresses', async (sb) => {
  const { id } = await start(sb, ['python3', 'tests/fixtures/menu.py']);
  const first = await screen(sb, id, ['--wait-for', '^> One$', '--timeout', '60']);
  assert.is(first.code, 0, first.stderr);
  assert.is(first.stdout, 'Pick one:\n> One\n  Two\n  Three\n  Four\n\nkeys:\n');
  assert.is((await run(sb, 'send_input.ts', [id, '--keys', 'down down'])).code, 0);
  const moved = await screen(sb, id, ['--wait-for', '^> Three$', '--timeout', '60']);
  assert.is(moved.code, 0, moved.stderr);
  assert.is(moved.stdout, 'Pick one:\n  One\n  Two\n> Three\n  Four\n\nkeys:\n');
  assert.is((await run(sb, 'send_input.ts', [id, '--keys', 'up enter'])).code, 0);
  await waitFor('the menu to exit', async () => (await listJson(sb))[0]!.status === 'exited', 30_000);
  assert.is((await run(sb, 'get_logs.ts', [id, '-n', '1'])).stdout, 'chose: Two\n');
});

withSandbox(
  '--screen on a --no-pty process exits 2 and says why; --screen --wait-for gives up at --timeout with exit 1',
  async (sb) => {
    const plain = await start(sb, ['--no-pty', 'sh', '-c', 'echo hello; sleep 300']);
    const r = await screen(sb, plain.id);
    assert.is(r.code, 2);
    assert.is(r.stdout, '');
    assert.match(r.stderr, /runs without a terminal \(--no-pty\), so it has no screen/);
    const clash = await run(sb, 'get_logs.ts', [plain.id, '--screen', '-n', '5']);
    assert.is(clash.code, 2);
    assert.match(clash.stderr, /--screen prints the whole screen as it stands; -n applies to lines/);
    const { id } = await start(sb, ['--wait-for', 'ready', 'sh', '-c', 'echo ready; sleep 300']);
    const late = await screen(sb, id, ['--wait-for', 'never-there', '--timeout', '1']);
    assert.is(late.code, 1);
    assert.match(late.stderr, /the screen did not match \/never-there\/ within 1 s; the screen as it stands:/);
    assert.is(late.stdout, 'ready\n');
  },
);

withSandbox(
  '--screen replays only from the last full-screen clear: 32 MiB of redraws cost about what 1 MiB does',
  async (sb) => {
    const small = await start(sb, [
      '--wait-for',
      'FINAL FRAME',
      'python3',
      'tests/fixtures/redraw.py',
      String(1 << 20),
    ]);
    const big = await start(sb, [
      '--wait-for',
      'FINAL FRAME',
      '--wait-timeout',
      '300',
      'python3',
      'tests/fixtures/redraw.py',
      String(32 << 20),
    ]);
    const time = async (id: string) => {
      const t0 = process.hrtime.bigint();
      const r = await screen(sb, id);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      assert.is(r.code, 0, r.stderr);
      assert.match(r.stdout, /^FINAL FRAME \d+\nrow 0\n(.*\n){9}$/);
      return ms;
    };
    await time(small.id); // warm-up
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < 3; i++) {
      a.push(await time(small.id));
      b.push(await time(big.id));
    }
    const med = (v: number[]) => [...v].sort((x, y) => x - y)[1]!;
    figure(
      `get_logs --screen: 32 MiB of redraws ${med(b).toFixed(0)} ms, 1 MiB ${med(a).toFixed(0)} ms (medians of 3), ratio ${(med(b) / med(a)).toFixed(2)}x`,
    );
    assert.ok(med(b) < med(a) * 2, `32 MiB: ${b.join(', ')} ms; 1 MiB: ${a.join(', ')} ms`);
  },
);

// Issue 25, defect 3: a full-screen program's output read as lines is a jumble, so a line
// wait never matched; after it enters the alternate screen a screen row counts too.
withSandbox(
  'a curses TUI: start_process, restart_process and get_logs --wait-for match a screen row within seconds',
  async (sb) => {
    const t0 = Date.now();
    const started = await start(sb, [
      '--wait-for',
      'control panel',
      '--wait-timeout',
      '20',
      'python3',
      'tests/fixtures/tui.py',
    ]);
    const took = Date.now() - t0;
    assert.match(started.out.stdout, /^Ready: .*control panel/m);
    assert.ok(took < 15_000, `start_process took ${took} ms`);
    const { id } = started;
    const logs = await run(sb, 'get_logs.ts', [id, '--wait-for', '^. +control panel', '--timeout', '20']);
    assert.is(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /^│ +control panel +│\n$/);
    const json = await run(sb, 'get_logs.ts', [id, '--wait-for', 'tick \\d+', '--timeout', '20', '--json']);
    assert.is(json.code, 0, json.stderr);
    const hit = JSON.parse(json.stdout) as { text: string; stream: string; screen?: { row: number } };
    assert.match(hit.text, /^│ +tick \d+ +│$/);
    assert.equal(hit.screen, { row: 4 });
    const t1 = Date.now();
    const again = await run(sb, 'restart_process.ts', [id, '--wait-for', 'control panel', '--wait-timeout', '20']);
    assert.is(again.code, 0, again.stderr);
    assert.match(again.stdout, /^Ready: .*control panel/m);
    assert.ok(Date.now() - t1 < 15_000, `restart_process took ${Date.now() - t1} ms`);
    // A row that is only drawn after a while: the wait sees it come.
    const late = await start(sb, [
      '--wait-for',
      'all systems go',
      '--wait-timeout',
      '20',
      'python3',
      'tests/fixtures/tui.py',
      'all systems go',
    ]);
    assert.match(late.out.stdout, /^Ready: │ +all systems go +│$/m);
  },
);

withSandbox(
  'a curses TUI that never shows the pattern: the timeout prints its screen rows, not a jumble',
  async (sb) => {
    const r = await run(sb, 'start_process.ts', [
      '--wait-for',
      'never-there',
      '--wait-timeout',
      '5',
      'python3',
      'tests/fixtures/tui.py',
    ]);
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stderr, /no line or screen row matched \/never-there\/ within 5 s; .* Its screen:/);
    const rows = r.stdout.split('\n').slice(2, -1); // after "Started process" and "Read its output with"
    assert.ok(rows.length >= 5 && rows.length < 50, rows.join('\n'));
    assert.match(rows[0]!, /^┌─+┐$/);
    assert.ok(rows.includes(rows.find((l) => /^│ +control panel +│$/.test(l))!), rows.join('\n'));
    assert.ok(
      rows.every((l) => l.length <= 40 && l === l.trimEnd() && l.trim() !== ''),
      rows.join('\n'),
    );
    const id = /Started process ([0-9a-f]{8})/.exec(r.stdout)![1]!;
    const g = await run(sb, 'get_logs.ts', [id, '--wait-for', 'never-there', '--timeout', '1']);
    assert.is(g.code, 1);
    assert.match(g.stderr, /no line or screen row matched \/never-there\/ within 1 s; its screen:/);
    assert.match(g.stdout, /^┌─+┐\n/);
    assert.match(g.stdout, /^│ +q to quit +│$/m);
  },
);

// From the review of issue 25: a --new read that has passed the switch into the alternate
// screen left the next --new --wait-for matching lines only (the jumble), never a row.
withSandbox(
  'get_logs --new --wait-for matches a screen row after an earlier --new read passed the switch',
  async (sb) => {
    const { id } = await start(sb, [
      '--wait-for',
      'control panel',
      'python3',
      'tests/fixtures/tui.py',
      'all ready',
      '8',
    ]);
    assert.is((await run(sb, 'get_logs.ts', [id, '--new'])).code, 0);
    const r = await run(sb, 'get_logs.ts', [id, '--new', '--wait-for', '^│   all ready +│$', '--timeout', '60']);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /^│ {3}all ready +│$/m);
    assert.is((await run(sb, 'send_input.ts', [id, '--key', 'q'])).code, 0);
  },
);

// Issue 25, item 4: a menu that shows its selection only by reverse video, or only by a colour
// pair, reads plainly as "Alpha / Beta / Gamma"; --attrs marks what the attributes say.
withSandbox('--screen --attrs: a selection shown only in reverse video, or only by colour, is marked', async (sb) => {
  for (const [how, flag] of [
    ['reverse', 'r'],
    ['colour', 'c'],
  ] as const) {
    const { id } = await start(sb, ['python3', 'tests/fixtures/attr-menu.py', how]);
    const plain = await screen(sb, id, ['--wait-for', 'picks', '--timeout', '60']);
    assert.is(plain.code, 0, plain.stderr);
    // Plain --screen stays plain: the program's own ⟦ ⟧ \ as printed, no marks.
    assert.is(
      plain.stdout,
      'Pick a letter\n   Alpha\n   Beta\n   Gamma\n\nliteral: ⟦b:x⟧ and a \\ backslash\nEnter picks\n',
    );
    const marked = await screen(sb, id, ['--attrs']);
    assert.is(marked.code, 0, marked.stderr);
    assert.is(
      marked.stdout,
      `⟦b:Pick a letter⟧\n   Alpha\n   ⟦${flag}:Beta⟧\n   Gamma\n\nliteral: \\⟦b:x\\⟧ and a \\\\ backslash\n⟦u:Enter⟧ picks\n`,
    );
    const json = JSON.parse((await screen(sb, id, ['--attrs', '--json'])).stdout) as {
      rows: string[];
      spans: { row: number; col: number; text: string; attrs: string[]; fg: unknown; bg: unknown }[];
    };
    assert.is(json.rows[2], '   Beta');
    const beta = json.spans.find((s) => s.row === 2)!;
    assert.equal(
      { ...beta, fg: undefined, bg: undefined },
      { row: 2, col: 3, text: 'Beta', attrs: [how === 'reverse' ? 'inverse' : 'colour'], fg: undefined, bg: undefined },
    );
    if (how === 'colour') assert.equal([beta.fg, beta.bg], [0, 3]); // black on yellow, curses' COLOR_YELLOW
    assert.equal(
      json.spans.map((s) => [s.row, s.text, s.attrs.join()]),
      [
        [0, 'Pick a letter', 'bold'],
        [2, 'Beta', how === 'reverse' ? 'inverse' : 'colour'],
        [6, 'Enter', 'underline'],
      ],
    );
    assert.not.ok('spans' in JSON.parse((await screen(sb, id, ['--json'])).stdout), 'no spans without --attrs');
    // The selection moves: the mark follows it, and --wait-for with --attrs matches the marks
    // (the new-user trial waited on 'r:Beta' for its whole timeout: it matched the plain rows).
    assert.is((await run(sb, 'send_input.ts', [id, '--keys', 'down'])).code, 0);
    const moved = await screen(sb, id, ['--attrs', '--wait-for', `⟦${flag}:Gamma⟧`, '--timeout', '30']);
    assert.is(moved.code, 0, moved.stderr);
    assert.match(moved.stdout, new RegExp(`^   ⟦${flag}:Gamma⟧$`, 'm'));
  }
  const refused = await run(sb, 'get_logs.ts', ['x', '--attrs']);
  assert.is(refused.code, 2);
  assert.match(refused.stderr, /--attrs marks reverse video, bold, underline and colours on --screen: add --screen\./);
});

test.run();
