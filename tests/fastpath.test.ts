// The fast path: `npm run build` makes dist/<script>.mjs, run by plain node with the same
// arguments as the .ts scripts. Run from another folder, so that the scripts must find the
// skill folder from their own location. The .ts scripts hand over to it when it is current.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import {
  alive,
  cleanup,
  copySkillSources,
  makeSandbox,
  records,
  ROOT,
  run,
  waitFor,
  type RunResult,
  type Sandbox,
} from './helpers.ts';

const DIST = path.join(ROOT, 'skills/background-manager/dist');

function fast(sb: Sandbox, script: string, args: string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(DIST, `${script}.mjs`), ...args], {
      env: sb.env,
      cwd: sb.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} ${args.join(' ')} did not finish in 60 s\n${stdout}\n${stderr}`));
    }, 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test.before(() => {
  if (!fs.existsSync(path.join(DIST, 'list_processes.mjs'))) {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'skills/background-manager/build.mjs')], {
      encoding: 'utf8',
    });
    assert.is(r.status, 0, r.stderr);
  }
});

// Help text names the script as run ($0): list_processes.mjs against list_processes.ts.
// Help names the script as it was called (npx tsx .../scripts/x.ts or node .../dist/x.mjs), so that its examples run as printed.
const sameHelp = (text: string) =>
  text
    .replace(/npx tsx \S*scripts\/(\w+)\.ts|node \S*dist\/(\w+)\.mjs/g, '$1$2')
    .replace(/\.mjs\b/g, '.ts')
    .replace(/[ \t]+/g, ' ');

test('dist/list_processes.mjs and dist/start_process.mjs: the same output as the .ts scripts; the started process is stopped', async () => {
  const sb = makeSandbox();
  try {
    const empty = await fast(sb, 'list_processes', []);
    assert.is(empty.code, 0, empty.stderr);
    assert.is(empty.stdout, `No managed processes in ${sb.env.BG_DATA_DIR}.\n`);

    const started = await fast(sb, 'start_process', ['sleep', '300']);
    assert.is(started.code, 0, started.stderr);
    const m = /^Started process ([0-9a-f]{8}) \(PID (\d+)\)$/m.exec(started.stdout);
    assert.ok(m, started.stdout);
    // Started on the fast path from outside the repository: the fast path's get_logs, by full path.
    assert.ok(
      started.stdout.includes(`\nRead its output with: node ${path.join(DIST, 'get_logs.mjs')} ${m![1]}\n`),
      started.stdout,
    );
    const [, id, pidText] = m!;
    const pid = Number(pidText);
    assert.ok(alive(pid), 'the command runs');
    assert.is(records(sb)[0]!.id, id, 'recorded in the sandbox data dir, not in the skill folder');

    for (const args of [[], ['--json']]) {
      const viaDist = await fast(sb, 'list_processes', args);
      const viaTs = await run(sb, 'list_processes.ts', args);
      assert.is(viaDist.code, 0, viaDist.stderr);
      assert.is(viaDist.stdout, viaTs.stdout, `list_processes ${args.join(' ')}: the same as the .ts script`);
    }
    const table = (await fast(sb, 'list_processes', [])).stdout;
    assert.match(table, new RegExp(`^${id}\\s.*\\b${pid}\\b.*\\brunning\\b.*sleep 300$`, 'm'));

    const help = await fast(sb, 'list_processes', ['--help']);
    assert.is(help.code, 0);
    assert.is(sameHelp(help.stdout), sameHelp((await run(sb, 'list_processes.ts', ['--help'])).stdout));
    const bad = await fast(sb, 'list_processes', ['--bogus']);
    assert.is(bad.code, 2, 'bad options exit 2, as with the .ts script');

    const stop = await fast(sb, 'stop_process', [id!]);
    assert.is(stop.code, 0, stop.stderr);
    assert.match(stop.stdout, new RegExp(`^Stopped process ${id} \\(PID ${pid}\\)`, 'm'));
    await waitFor('the child and its supervisor to be gone', () => {
      const r = records(sb)[0]!;
      return r.ended && !alive(pid) && !(r.supervisorPid && alive(r.supervisorPid));
    });
    const after = JSON.parse((await fast(sb, 'list_processes', ['--json'])).stdout);
    assert.is(after[0].status, 'stopped');
  } finally {
    cleanup(sb);
  }
});

/** A copy of the skill folder without dist/ (node_modules linked beside it), and a way to run its scripts. */
function copySkill(sb: Sandbox): { skill: string; runTs: (script: string, args: string[]) => Promise<RunResult> } {
  const copy = path.join(sb.dir, 'repo');
  const skill = path.join(copy, 'skills/background-manager');
  copySkillSources(skill);
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules')); // tsx
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(copy, 'package.json'));
  const runTs = (script: string, args: string[]) =>
    new Promise<RunResult>((resolve) => {
      const c = spawn(process.execPath, ['--import', 'tsx', path.join(skill, 'scripts', script), ...args], {
        env: sb.env,
        cwd: copy,
      });
      let stdout = '';
      let stderr = '';
      c.stdout.on('data', (d) => (stdout += d));
      c.stderr.on('data', (d) => (stderr += d));
      c.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  return { skill, runTs };
}

// scripts/<name>.ts hands over to dist/<name>.mjs when the bundle is newer than every source,
// and runs its TypeScript otherwise. The copy has no dist/ at first; a marker line added to
// its bundle tells which way a call went.
test('the .ts scripts run their TypeScript without a current bundle, and hand over to a current one', async () => {
  const sb = makeSandbox();
  try {
    const { skill, runTs } = copySkill(sb);
    const list = (args: string[] = []) => runTs('list_processes.ts', args);

    const fromTs = await list();
    assert.is(fromTs.code, 0, fromTs.stderr);
    assert.match(fromTs.stdout, /^No managed processes in \/.*\.\n$/);
    assert.not.ok(fs.existsSync(path.join(skill, 'dist')), 'nothing was built to list');

    // start_process builds the supervisor, and with it every bundle.
    const start = await runTs('start_process.ts', ['sleep', '300']);
    assert.is(start.code, 0, start.stderr);
    const bundle = path.join(skill, 'dist/bundle/list_processes.js');
    assert.ok(
      fs.existsSync(bundle) && fs.existsSync(path.join(skill, 'dist/list_processes.mjs')),
      'the bundles were built',
    );
    fs.appendFileSync(bundle, "\nprocess.stdout.write('(from the bundle)\\n');\n");
    const handedOver = await list(['--status', 'running']);
    assert.is(handedOver.code, 0, handedOver.stderr);
    assert.match(handedOver.stdout, /\bsleep 300\n\(from the bundle\)\n$/);

    // A source newer than the bundle (being edited): the TypeScript runs, nothing is rebuilt.
    const later = new Date(Date.now() + 60_000);
    fs.utimesSync(path.join(skill, 'scripts/lib/commands/list_processes.ts'), later, later);
    const edited = await list(['--status', 'running']);
    assert.is(edited.code, 0, edited.stderr);
    assert.match(edited.stdout, /\bsleep 300\n$/);
    assert.match(fs.readFileSync(bundle, 'utf8'), /from the bundle/, 'the bundle was left as it was');
  } finally {
    cleanup(sb);
  }
});

// The supervisor's stderr is read until it reports the command running, so a supervisor that
// dies first (here: a broken bundle) is an error that says why, with nothing recorded or left.
test('a supervisor that dies before the command runs: start_process says why, exits 1, records nothing', async () => {
  const sb = makeSandbox();
  try {
    const { skill, runTs } = copySkill(sb);
    assert.is(spawnSync(process.execPath, [path.join(skill, 'build.mjs')], { encoding: 'utf8' }).status, 0);
    fs.appendFileSync(path.join(skill, 'dist/supervisor.mjs'), '\nthis is not javascript(\n');
    const r = await runTs('start_process.ts', ['sleep', '301']);
    assert.is(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /^start_process: error: the supervisor exited before it started the command \(SyntaxError: [^)]+\)\. Nothing was recorded/,
    );
    assert.is(r.stdout, '');
    assert.equal(records(sb), []);
  } finally {
    cleanup(sb);
  }
});

test.run();
