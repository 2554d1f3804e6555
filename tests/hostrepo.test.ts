// The skill where its users are: copied into another repository's skills/, installed with the
// one documented command, and called as SKILL.md and REFERENCE.md show, from that repository's
// root and from other folders. Two host shapes: one with no package.json at all, one whose
// package.json says "type": "commonjs" and has an unrelated dependency. Every ```bash example
// of both documents runs here verbatim (ports swapped for free ones), in order, each exit 0:
// once as written, in the documented form (node skills/background-manager/dist/<x>.mjs), then
// again on fresh data in the compatible form (npx tsx skills/background-manager/scripts/<x>.ts).
// npm may use its cache (--prefer-offline); after the first install on a machine it needs no
// network.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT, freePort, figure, waitFor } from './helpers.ts';
import { unlock } from '../skills/background-manager/scripts/lib/store/keys.ts';
import { StateStore } from '../skills/background-manager/scripts/lib/store/state.ts';
import { matchIdentity, signalTree } from '../skills/background-manager/scripts/lib/process/proc.ts';

const SKILL_SRC = path.join(ROOT, 'skills/background-manager');
const FIRST_PASSWORD = 'a long passphrase'; // what the docs' `export BG_PASSWORD=...` sets

interface Ran {
  code: number | null;
  out: string;
  err: string;
  ms: number;
}

/** The environment of a user's shell: none of the outer npm's variables, no BG_* settings. */
function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(npm_|BG_|INIT_CWD$|NODE_OPTIONS$)/i.test(k)) env[k] = v;
  return { ...env, ...extra };
}

function sh(line: string, cwd: string, env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<Ran> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', line], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`did not finish in ${timeoutMs} ms: ${line}\n${out}\n${err}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err, ms: Date.now() - t0 });
    });
  });
}

/** Every file under dir except the skill folder: to show the install wrote nothing else. */
function listOutsideSkill(host: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (p === path.join(host, 'skills/background-manager')) continue;
      out.push(path.relative(host, p));
      if (e.isDirectory()) walk(p);
    }
  };
  walk(host);
  return out.sort();
}

function duKiB(dir: string): number {
  let bytes = 0;
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) bytes += fs.statSync(p).size;
    }
  };
  walk(dir);
  return Math.round(bytes / 1024);
}

/** The ```bash blocks of a markdown file, each as its lines (comments and blank lines left out). */
function bashBlocks(file: string): string[][] {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(/^```bash\n([\s\S]*?)^```$/gm)].map((m) =>
    m[1]!.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#')),
  );
}

const README = path.join(ROOT, 'README.md');

/** The two ways to call a script: the documented one, and the compatible one (REFERENCE.md, "Calling the scripts"). */
type Form = 'fast' | 'tsx';
const FAST_CALL = /\bnode skills\/background-manager\/dist\/(\w+)\.mjs\b/g;
const CALLS: Record<Form, (script: string) => string> = {
  fast: (x) => `node skills/background-manager/dist/${x}.mjs`,
  tsx: (x) => `npx tsx skills/background-manager/scripts/${x}.ts`,
};

/** An example line (written in the fast form) in the given form. */
const inForm = (line: string, form: Form) => line.replace(FAST_CALL, (_all, x: string) => CALLS[form](x));
const readmeBlock = (first: RegExp) => bashBlocks(README).find((b) => b.some((l) => first.test(l)))!;

/** Swap each port number the examples use for a free one (the same number for the same port). */
async function portMap(lines: string[]): Promise<Map<string, string>> {
  const map = new Map<string, string>();
  for (const l of lines) {
    for (const m of l.matchAll(/(?:http\.server |--wait-port |PORT=)(\d{4,5})\b/g)) {
      if (!map.has(m[1]!)) map.set(m[1]!, String(await freePort()));
    }
  }
  return map;
}

/**
 * Run a document's examples in order in one host, as an agent would type them: each line
 * through bash from the host's root, `export X=...` lines carried over to the next ones.
 * Returns the password in force at the end.
 */
async function runExamples(
  doc: string,
  host: string,
  env: NodeJS.ProcessEnv,
  form: Form,
  lines = bashBlocks(doc).flat(),
): Promise<string> {
  assert.ok(lines.length >= 5, `${doc} has examples`);
  for (const l of lines)
    if (!/^export \w+=/.test(l))
      assert.ok(
        l.match(FAST_CALL)?.length && !/npx tsx|scripts\/\w+\.ts/.test(l),
        `${path.basename(doc)}'s examples lead with the fast form: ${l}`,
      );
  const ports = await portMap(lines);
  const slow: [number, string][] = [];
  for (const written of lines) {
    const original = inForm(written, form);
    let line = original;
    for (const [from, to] of ports) line = line.replace(new RegExp(`\\b${from}\\b`, 'g'), to);
    const exp = /^export (\w+)=(['"])(.*)\2$/.exec(line);
    if (exp) {
      env[exp[1]!] = exp[3]!;
      continue;
    }
    const r = await sh(line, host, env);
    slow.push([r.ms, original]);
    assert.is(
      r.code,
      0,
      `${path.basename(doc)} example failed (exit ${r.code}): ${original}\nstdout: ${r.out}\nstderr: ${r.err}`,
    );
    assert.not.match(r.err, /error/i, `${path.basename(doc)} example printed an error: ${original}\n${r.err}`);
    // A hint is a command in the caller's form, relative to the root it ran from.
    const hint = /^Read its output with: (.*) \S+$/m.exec(r.out);
    if (hint) assert.is(hint[1], CALLS[form]('get_logs'), `the hint after ${original}`);
  }
  slow.sort((a, b) => b[0] - a[0]);
  figure(
    `${path.basename(doc)}, ${form} form: ${lines.length} examples took ${(slow.reduce((t, [ms]) => t + ms, 0) / 1000).toFixed(1)} s; slowest: ${slow
      .slice(0, 3)
      .map(([ms, l]) => `${ms} ms ${l.replace(/^(npx tsx|node) skills\/background-manager\/(scripts|dist)\//, '')}`)
      .join('; ')}`,
  );
  return env.BG_PASSWORD!;
}

/** End everything recorded in the host's data dir, by PID and start time, then check it all ended. */
async function stopAll(host: string, password: string): Promise<void> {
  const dataDir = path.join(host, 'skills/background-manager/data');
  const u = fs.existsSync(path.join(dataDir, 'key.json')) ? unlock(dataDir, password, { create: false }) : undefined;
  if (!u) return;
  const recs = new StateStore({ dataDir, keys: u.keys }).read().processes;
  for (const r of recs) {
    if (matchIdentity({ pid: r.pid, startTicks: r.startTicks, bootId: r.bootId }))
      signalTree(r.pid, 'SIGKILL', r.startTicks);
    if (
      r.supervisorPid &&
      matchIdentity({ pid: r.supervisorPid, startTicks: r.supervisorStartTicks, bootId: r.bootId })
    ) {
      try {
        process.kill(r.supervisorPid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}

/** End what the examples left running and remove the data dir: the next pass starts as a new user's. */
async function freshData(host: string, password: string): Promise<void> {
  await stopAll(host, password);
  fs.rmSync(path.join(host, 'skills/background-manager/data'), { recursive: true, force: true });
}

/** README's install lines, as a user types them in the host's root (with --prefer-offline for npm). */
async function install(host: string, env: NodeJS.ProcessEnv): Promise<{ skillMs: number; tsxMs: number }> {
  const lines = readmeBlock(/npm install --prefix skills\/background-manager/);
  assert.ok(lines.length >= 3, 'README has the install lines');
  // SKILL.md's "once per repository" line, and its compatible form's tsx line, are README's.
  const skillMd = fs.readFileSync(path.join(ROOT, 'SKILL.md'), 'utf8');
  for (const want of [
    /`(npm install --prefix skills\/background-manager)`/,
    /`(npm install --save-dev tsx --prefix \.)`/,
  ]) {
    const said = want.exec(skillMd)?.[1];
    assert.ok(said, `SKILL.md says ${want}`);
    assert.ok(
      lines.some((l) => l.replace(/\s*#.*$/, '') === said),
      `SKILL.md's install line is one of README's: ${said}`,
    );
  }
  const times = { skillMs: 0, tsxMs: 0 };
  for (const original of lines) {
    const line = original
      .replace('/path/to/background-manager', ROOT)
      .replace(/^(npm install [^#]*?)\s*(#.*)?$/, '$1 --prefer-offline --no-audit --no-fund');
    const before = listOutsideSkill(host);
    const r = await sh(line, host, env, 300_000);
    assert.is(r.code, 0, `README install line failed: ${original}\n${r.out}${r.err}`);
    if (/--prefix skills\/background-manager/.test(line)) {
      times.skillMs = r.ms;
      assert.equal(listOutsideSkill(host), before, 'the skill install wrote nothing outside skills/background-manager');
    }
    if (/--save-dev tsx/.test(line)) times.tsxMs = r.ms;
  }
  const skill = path.join(host, 'skills/background-manager');
  assert.ok(fs.lstatSync(path.join(skill, 'SKILL.md')).isFile(), 'SKILL.md is copied as a file');
  assert.not.ok(fs.existsSync(path.join(skill, 'data')), 'no data came along');
  for (const f of [
    'dist/start_process.mjs',
    'dist/supervisor.mjs',
    'node_modules/@lydell/node-pty/package.json',
    'package-lock.json',
    'references/REFERENCE.md',
  ]) {
    assert.ok(fs.existsSync(path.join(skill, f)), `the install made skills/background-manager/${f}`);
  }
  return times;
}

/**
 * A host repository in a folder of its own, under a parent that has a package.json of its own
 * (as a home folder may): an install that climbs out of the host would land there.
 */
function makeHost(shape: 'bare' | 'commonjs'): string {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), `bgm-host-${shape}-`));
  fs.writeFileSync(path.join(parent, 'package.json'), '{ "name": "the-parent-folder", "private": true }\n');
  const host = path.join(parent, 'repo');
  fs.mkdirSync(host);
  const init = spawnSync('git', ['init', '-q'], { cwd: host }); // a repository, as users have
  assert.is(init.status, 0, String(init.stderr));
  if (shape === 'commonjs') {
    fs.writeFileSync(
      path.join(host, 'package.json'),
      JSON.stringify(
        {
          name: 'some-agent-repo',
          private: true,
          type: 'commonjs',
          // What REFERENCE.md's examples run: a dev server that says "ready in", a build, a worker.
          scripts: { dev: 'node dev-server.js', build: 'node -e "console.log(1)"' },
          dependencies: { kleur: '^4.1.5' },
        },
        null,
        2,
      ),
    );
    fs.writeFileSync(
      path.join(host, 'dev-server.js'),
      "require('http').createServer((q, r) => r.end('ok')).listen(Number(process.env.PORT), '127.0.0.1', () => console.log('ready in 5 ms'));\n",
    );
    fs.writeFileSync(path.join(host, 'worker.sh'), '#!/bin/sh\necho working\nexec sleep 600\n', { mode: 0o755 });
  }
  return host;
}

for (const [shape, doc] of [
  ['bare', 'SKILL.md'],
  ['commonjs', 'skills/background-manager/references/REFERENCE.md'],
] as const) {
  test(`a ${shape} host repo: the documented install, then every example of ${path.basename(doc)} verbatim from its root, and the fast path from another folder`, async () => {
    const host = makeHost(shape);
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'bgm-elsewhere-'));
    // The key cache goes to a runtime dir of this test's own on tmpfs, removed with it.
    const runtime = fs.mkdtempSync('/dev/shm/bgm-host-runtime-');
    const env = userEnv({ XDG_RUNTIME_DIR: runtime });
    let password = FIRST_PASSWORD;
    const parent = path.dirname(host);
    let parentHolds: string[] = [];
    try {
      const times = await install(host, env);
      const skillDir = path.join(host, 'skills/background-manager');
      figure(
        `${shape} host: npm install --prefix skills/background-manager took ${(times.skillMs / 1000).toFixed(1)} s (warm cache), npm install --save-dev tsx ${(times.tsxMs / 1000).toFixed(1)} s; installed folder ${(duKiB(skillDir) / 1024).toFixed(1)} MiB`,
      );

      for (const form of ['fast', 'tsx'] as const) {
        if (form === 'tsx') await freshData(host, password);
        password = await runExamples(path.join(ROOT, doc), host, env, form);
        if (shape === 'bare') await runExamples(README, host, env, form, readmeBlock(/^export BG_PASSWORD/));
      }
      assert.ok(fs.existsSync(path.join(skillDir, 'data/key.json')), "the data dir is the skill folder's data/");
      const untracked = spawnSync('git', ['status', '--porcelain', '-uall'], {
        cwd: host,
        encoding: 'utf8',
      }).stdout.split('\n');
      const leaks = untracked.filter((l) => /skills\/background-manager\/(node_modules|dist|data)\//.test(l));
      assert.equal(
        leaks,
        [],
        "the skill folder's .gitignore keeps its packages, build and data out of the host's commits",
      );

      const callEnv = { ...env, BG_PASSWORD: password };
      // A relative --cwd, and the command's own folder, are the caller's current folder.
      fs.mkdirSync(path.join(elsewhere, 'sub'));
      for (const [how, cmd] of [
        ['fast path', `node ${skillDir}/dist/start_process.mjs`],
        ['tsx', `${host}/node_modules/.bin/tsx ${skillDir}/scripts/start_process.ts`],
      ] as const) {
        for (const [opt, want] of [
          ['--cwd sub', path.join(elsewhere, 'sub')],
          ['', elsewhere],
        ] as const) {
          const started = await sh(`${cmd} --no-pty ${opt} -- pwd`, elsewhere, callEnv);
          assert.is(started.code, 0, `${how} ${opt}: ${started.err}`);
          const id = /Started process ([0-9a-f]{8})/.exec(started.out)![1]!;
          assert.match(
            started.out,
            new RegExp(`Read its output with: node ${skillDir}/dist/get_logs.mjs ${id}`),
            `${how}: the hint runs from where the caller stands`,
          );
          const logs = await waitFor(
            `pwd's output (${how} ${opt})`,
            async () => {
              const r = await sh(`node ${skillDir}/dist/get_logs.mjs ${id} -n 0`, elsewhere, callEnv);
              return r.out.trim() ? r : undefined;
            },
            30_000,
            100,
          );
          assert.is(
            logs.out.trim(),
            fs.realpathSync(want),
            `${how} ${opt || '(no --cwd)'}: the command ran in the caller's folder`,
          );
        }
      }
      // The fast path and the host's tsx, by absolute paths, from a folder outside the host.
      const fast = await sh(`node ${skillDir}/dist/list_processes.mjs`, elsewhere, callEnv);
      assert.is(fast.code, 0, fast.err);
      assert.match(fast.out, /^ID\s+PID\s+STATUS\s+STARTED/, 'the fast path lists from another folder');
      assert.is(
        fast.out.match(/^[0-9a-f]{8} .* pwd$/gm)?.length,
        4,
        `the fast path lists the same data (the four pwd runs): ${fast.out}`,
      );
      const viaTsx = await sh(
        `${host}/node_modules/.bin/tsx ${skillDir}/scripts/list_processes.ts`,
        elsewhere,
        callEnv,
      );
      assert.is(viaTsx.code, 0, viaTsx.err);
      assert.is(viaTsx.out, fast.out, 'tsx by absolute path lists the same');

      const stop = await sh(`node ${skillDir}/dist/stop_process.mjs --all`, elsewhere, callEnv);
      assert.is(stop.code, 0, stop.err);
    } finally {
      await stopAll(host, password);
      parentHolds = fs.readdirSync(parent).sort();
      fs.rmSync(parent, { recursive: true, force: true });
      fs.rmSync(runtime, { recursive: true, force: true });
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
    // Checked after the cleanup, not inside it: a failure there would hide the test's own
    // failure and leave the folders behind.
    assert.equal(parentHolds, ['package.json', 'repo'], 'nothing was installed into the parent folder');
  });
}

test('SKILL.md is within its budget and names REFERENCE.md, which exists', () => {
  const skill = fs.readFileSync(path.join(ROOT, 'SKILL.md'), 'utf8');
  assert.ok(skill.length <= 10_000, `SKILL.md is ${skill.length} characters (at most 10,000)`);
  assert.match(skill, /skills\/background-manager\/references\/REFERENCE\.md/);
  assert.ok(fs.existsSync(path.join(SKILL_SRC, 'references/REFERENCE.md')));
  assert.is(
    fs.realpathSync(path.join(SKILL_SRC, 'SKILL.md')),
    path.join(ROOT, 'SKILL.md'),
    'the skill folder carries SKILL.md',
  );
});

test.run();
