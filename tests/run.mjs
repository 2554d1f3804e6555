// The test runner behind `npm test`: the unit tier (tests/unit/, in process, seconds) first,
// then each file of the full tier (tests/*.test.ts: real processes, PTYs, sockets) as its own
// uvu process, a few at a time. Most of the full tier's time is spent waiting (for a process to
// start, a grace period to pass, a log to arrive), so two or three files side by side take about
// half the time of one after another on two cores. Every file runs and reports even when an
// earlier one failed; a file that hangs is ended (its whole process group) after FILE_LIMIT.
//
// A check that cannot run here (root needed, a mount refused...) calls skip() from
// tests/helpers.ts, which prints a line starting `SKIP: ` on stdout and returns: the runner
// counts those lines per test, shows them, and counts that test as skipped, not passed (a test that
// skipped and then failed is a failure; uvu's own test.skip counts too). With CI set (anything but
// '', 0 or false), a skip fails the run.
// Each file's output is shown with '| ' before every line, so that nothing a test prints can
// pass for the runner's lines; the last line is always 'N passed, N failed, N skipped'.
//
//   node tests/run.mjs [--unit | --full] [--jobs N] [--dir FOLDER] [file-name regex]
//
// TEST_JOBS sets the default number of files side by side (2); --dir runs the *.test.ts files
// of another folder as the full tier (tests/runner.test.ts runs fixtures that way).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const tests = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(tests);
const CI = !!process.env.CI && !/^(0|false)$/i.test(process.env.CI);
const uvu = path.join(root, 'node_modules', 'uvu', 'bin.js');
const FILE_LIMIT_MS = 20 * 60_000;

// The longest files first, so that no long file starts last and runs on alone while the other
// workers have nothing left (longest first: the last files to start are the shortest). Seconds
// each took in a full run, two side by side on a loaded machine (the rest took under 30 s each and
// run after these, by name); a new file that takes longer than the last one here belongs in it.
const SLOW_FIRST = [
  'reliability', // 569
  'hostrepo', // 551
  'e2e', // 255
  'logs', // 187
  'lifecycle', // 135
  'waiting-input', // 131
  'screen', // 116
  'dashboard', // 93
  'watch-events', // 93
  'long-lines', // 92
  'integrity-logchain', // 85
  'input-any-size', // 72
  'attach', // 69
  'keycache', // 68
  'mcp', // 59
  'logs-context', // 59
  'dashboard-server', // 57
  'budget', // 55
  'integrity-store', // 55
  'text-escape', // 51
  'redact', // 46
  'provenance', // 45
  'pid-reuse', // 44
  'redact-glue', // 42
  'portable', // 42 (issue 29's tier, at a load of 4-8)
  'direct-exec', // 41
  'control-socket', // 41
  'events-damage', // 41
  'storage', // 37
  'stop-long-timeout', // 35
  'long-timeouts', // 30
];

function parseArgs(argv) {
  const opts = { unit: true, full: true, jobs: Number(process.env.TEST_JOBS || 2), filter: '', dir: tests };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--unit') opts.full = false;
    else if (a === '--full') opts.unit = false;
    else if (a === '--jobs') opts.jobs = Number(argv[++i]);
    else if (a === '--dir') opts.dir = path.resolve(argv[++i] ?? '');
    else if (a.startsWith('-')) {
      console.error(
        `run.mjs: unknown option ${a}. Usage: node tests/run.mjs [--unit | --full] [--jobs N] [--dir FOLDER] [file-name regex]`,
      );
      process.exit(2);
    } else opts.filter = a;
  }
  if (!Number.isInteger(opts.jobs) || opts.jobs < 1) {
    console.error(`run.mjs: --jobs (or TEST_JOBS) must be a whole number from 1, not ${opts.jobs}.`);
    process.exit(2);
  }
  return opts;
}

function fullTierFiles(dir, filter) {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.test.ts') && new RegExp(filter).test(f));
  const rank = (f) => {
    const i = SLOW_FIRST.indexOf(f.slice(0, -'.test.ts'.length));
    return i < 0 ? SLOW_FIRST.length : i;
  };
  return files.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

// Ctrl-C or a CI timeout ends every file still running: SIGTERM to its process group first, so
// that its tests' cleanup can stop the supervisors they started (those run in sessions of their
// own, out of the group's reach), SIGKILL 10 s later. What each printed so far is shown.
const running = new Map(); // pid -> { label, out() }
let interrupted = 0; // the exit code a signal asked for
const endGroup = (pid, sig) => {
  try {
    process.kill(-pid, sig);
  } catch {}
};
for (const [sig, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
]) {
  process.on(sig, () => {
    interrupted = code;
    for (const [pid, f] of running) {
      process.stdout.write(`${quoted(f.out())}\nINTERRUPTED ${f.label}: still running at ${sig}\n\n`);
      endGroup(pid, 'SIGTERM');
    }
    setTimeout(
      () => {
        for (const pid of running.keys()) endGroup(pid, 'SIGKILL');
        process.exit(code);
      },
      running.size ? 10_000 : 0,
    ).unref?.();
    if (!running.size) process.exit(code);
  });
}

const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, '');
/** A file's output as shown: every line after '| ', so none of it can read as the runner's own. */
const quoted = (out) =>
  out
    .trimEnd()
    .split('\n')
    .map((l) => `| ${l}`)
    .join('\n');
// uvu's summary, which ends its stdout: counts printed anywhere else (by a test) are not taken.
const SUMMARY = /\n {2}Total: +(\d+)\n {2}Passed: +(\d+)\n {2}Skipped: +(\d+)\n {2}Duration: +[\d.]+m?s\n*$/;

/** Runs uvu on one folder and pattern; resolves with its output, exit status and counts. */
function runUvu(dir, pattern, label) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [uvu, '-r', 'tsx', dir, pattern], {
      cwd: root,
      detached: true, // its own process group, so a hung file can be ended whole
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FORCE_COLOR: process.stdout.isTTY ? '1' : '0' },
    });
    let out = ''; // stdout and stderr as they came, to show
    let stdout = ''; // stdout alone, to count from
    running.set(child.pid, { label, out: () => out });
    process.stdout.write(`start ${label}\n`);
    child.stdout.on('data', (d) => ((out += d), (stdout += d)));
    child.stderr.on('data', (d) => (out += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      endGroup(child.pid, 'SIGTERM'); // its cleanup may still run
      setTimeout(() => endGroup(child.pid, 'SIGKILL'), 10_000).unref();
    }, FILE_LIMIT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child.pid);
      const plain = strip(stdout);
      const [, total = 0, uvuPassed = 0, uvuSkipped = 0] = (SUMMARY.exec(plain) ?? []).map(Number);
      // A test that said SKIP and then passed counts as skipped, not passed; one that said SKIP and
      // then failed is a failure. uvu prints each test's mark (• passed, ✘ failed) after what the
      // test printed, so a SKIP line belongs to the test whose mark comes next. Tests left out by
      // test.skip or test.only are skipped too.
      const said = [];
      let pending = [];
      for (const m of plain.matchAll(/^SKIP: (.*)$|•|✘/gm)) {
        if (m[1] !== undefined) pending.push(m[1].trim());
        else {
          if (m[0] === '•' && pending.length) said.push(pending.join('; '));
          pending = [];
        }
      }
      const skipped = said.length + uvuSkipped;
      const skips = uvuSkipped ? [...said, `${uvuSkipped} test(s) left out by test.skip or test.only`] : said;
      const passed = Math.max(0, uvuPassed - said.length);
      const ok = code === 0 && !timedOut && total > 0 && uvuPassed === total;
      const failed = ok ? 0 : Math.max(1, total - uvuPassed); // a file that crashed counts once
      const why = timedOut
        ? `ended after ${FILE_LIMIT_MS / 60_000} min`
        : signal
          ? `killed by ${signal}`
          : code !== 0
            ? `exit ${code}`
            : total === 0
              ? 'no uvu summary'
              : '';
      resolve({ label, ok, total, passed, failed, skipped, skips, seconds: (Date.now() - started) / 1000, out, why });
    });
  });
}

function report(r) {
  const mark = !r.ok ? 'FAIL' : r.skipped ? 'SKIP' : 'ok  ';
  process.stdout.write(
    `${quoted(r.out)}\n${mark} ${r.label}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped in ${r.seconds.toFixed(1)} s${r.why ? ` (${r.why})` : ''}\n\n`,
  );
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const results = [];
  if (opts.unit && fs.existsSync(path.join(tests, 'unit'))) {
    const r = await runUvu('tests/unit', '\\.test\\.ts$', 'unit tier (tests/unit)');
    report(r);
    results.push(r);
  }
  if (opts.full) {
    const queue = fullTierFiles(opts.dir, opts.filter);
    if (queue.length === 0) {
      console.error(
        `run.mjs: no *.test.ts file in ${path.relative(root, opts.dir) || '.'}/ matches /${opts.filter}/. Give part of a file name, e.g. lifecycle.`,
      );
      process.exit(2);
    }
    const worker = async () => {
      for (let f = queue.shift(); f; f = queue.shift()) {
        const name = f.replace(/[.]/g, '\\.');
        const r = await runUvu(path.relative(root, opts.dir) || '.', `^${name}$`, f);
        report(r);
        results.push(r);
      }
    };
    await Promise.all(Array.from({ length: opts.jobs }, worker));
  }
  const failed = results.filter((r) => !r.ok);
  const sum = (k) => results.reduce((n, r) => n + r[k], 0);
  const skipped = sum('skipped');
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  for (const r of results) for (const s of r.skips) console.log(`SKIPPED in ${r.label}: ${s}`);
  if (failed.length) console.log(`FAILED: ${failed.map((r) => `${r.label}${r.why ? ` (${r.why})` : ''}`).join(', ')}`);
  if (skipped && CI) console.log(`FAILED: ${skipped} skipped, and CI is set: in CI every check must run.`);
  console.log(
    `${results.length} file${results.length === 1 ? '' : 's'} in ${minutes} min${opts.full ? ` (${opts.jobs} files side by side)` : ''}.`,
  );
  console.log(`${sum('passed')} passed, ${sum('failed')} failed, ${skipped} skipped`);
  if (interrupted) process.exit(interrupted);
  if (failed.length || (skipped && CI)) process.exit(1);
}

await main();
