// Provenance (issue 26, part 3): start_process records the caller's folder and, inside git, the
// worktree, branch and commit, read from git's files; list_processes --here keeps what the
// current checkout started; --json says `stale` once the worktree moved to another commit. Real
// repositories made with git in the sandbox: a main checkout, a linked worktree, a detached
// HEAD, packed refs, a folder outside git, and hostile .git contents.
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import { ListRootsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { execFile, spawn } from 'node:child_process';
import { chromium } from 'playwright-core';
import { records, ROOT, type Sandbox, skip, track, waitFor, withSandbox } from './helpers.ts';
import { mcpTest } from './mcp-helpers.ts';

const GIT_ENV = {
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@example.com',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
  HOME: '/nonexistent',
};

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: { ...process.env, ...GIT_ENV }, encoding: 'utf8' }).trim();
}

/** A repository at <sb>/repo on branch main with one commit, and a linked worktree <sb>/wt on topic. */
function repos(sb: Sandbox): { repo: string; wt: string } {
  const root = fs.realpathSync(sb.dir);
  const repo = path.join(root, 'repo');
  const wt = path.join(root, 'wt');
  fs.mkdirSync(path.join(repo, 'src'), { recursive: true });
  git(repo, 'init', '-q', '-b', 'main');
  fs.writeFileSync(path.join(repo, 'a.txt'), 'one\n');
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'one');
  git(repo, 'worktree', 'add', '-q', '-b', 'topic', wt);
  return { repo, wt };
}

function commitIn(dir: string, text: string): string {
  fs.appendFileSync(path.join(dir, 'a.txt'), `${text}\n`);
  git(dir, 'commit', '-q', '-am', text);
  return git(dir, 'rev-parse', 'HEAD');
}

interface Row {
  id: string;
  status: string;
  provenance: { folder: string; git: { worktree: string; branch: string | null; commit: string } | null } | null;
  stale: boolean | null;
}

/**
 * A script run as SKILL.md shows it (node skills/background-manager/dist/<x>.mjs), from `cwd`:
 * the caller's folder is what this file is about (tests/helpers.ts run() loads tsx from it).
 */
function run(
  sb: Sandbox,
  script: string,
  args: string[],
  { cwd }: { cwd: string },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const file = path.join(ROOT, 'skills/background-manager/dist', script.replace(/\.ts$/, '.mjs'));
  return new Promise((resolve) => {
    execFile(process.execPath, [file, ...args], { cwd, env: sb.env, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

async function list(sb: Sandbox, cwd: string, ...args: string[]): Promise<{ code: number | null; out: string }> {
  const r = await run(sb, 'list_processes.ts', args, { cwd });
  assert.is(r.stderr, '', r.stderr);
  return { code: r.code, out: r.stdout };
}

async function listJson(sb: Sandbox, cwd: string, ...args: string[]): Promise<Row[]> {
  const r = await list(sb, cwd, '--json', ...args);
  assert.is(r.code, 0);
  return JSON.parse(r.out);
}

async function startIn(sb: Sandbox, cwd: string, name: string): Promise<string> {
  const r = await run(sb, 'start_process.ts', ['--name', name, 'sleep', '600'], { cwd });
  const id = /^Started process ([0-9a-f]{8})/m.exec(r.stdout)?.[1];
  assert.ok(r.code === 0 && id, `start in ${cwd}: ${r.stdout}${r.stderr}`);
  return id!;
}

withSandbox(
  "start_process records the caller's folder and its checkout: main, linked worktree, detached HEAD, packed refs, outside git",
  async (sb) => {
    const { repo, wt } = repos(sb);
    const plain = path.join(fs.realpathSync(sb.dir), 'plain');
    fs.mkdirSync(plain);
    const head = git(repo, 'rev-parse', 'HEAD');
    const fromMain = await startIn(sb, path.join(repo, 'src'), 'main-sub');
    const fromWt = await startIn(sb, wt, 'in-wt');
    const fromPlain = await startIn(sb, plain, 'plain');
    git(wt, 'checkout', '-q', '--detach');
    const fromDetached = await startIn(sb, wt, 'detached');
    git(repo, 'pack-refs', '--all');
    assert.not.ok(fs.existsSync(path.join(repo, '.git/refs/heads/main')), 'the branch is only in packed-refs now');
    const fromPacked = await startIn(sb, repo, 'packed');
    const rows = new Map((await listJson(sb, plain)).map((r) => [r.id, r]));
    const checkout = (worktree: string, branch: string | null) => ({ worktree, branch, commit: head });
    assert.equal(rows.get(fromMain)!.provenance, { folder: path.join(repo, 'src'), git: checkout(repo, 'main') });
    assert.equal(rows.get(fromWt)!.provenance, { folder: wt, git: checkout(wt, 'topic') });
    assert.equal(rows.get(fromPlain)!.provenance, { folder: plain, git: null });
    assert.equal(rows.get(fromDetached)!.provenance, { folder: wt, git: checkout(wt, null) });
    assert.equal(rows.get(fromPacked)!.provenance, { folder: repo, git: checkout(repo, 'main') });
    // In the encrypted record, as docs/FORMAT.md says.
    const rec = records(sb).find((p) => p.id === fromWt)!;
    assert.equal(rec.provenance, { folder: wt, git: checkout(wt, 'topic') });
  },
);

withSandbox(
  '--here: only what the current worktree (or folder, outside git) started; --json has the fields',
  async (sb) => {
    const { repo, wt } = repos(sb);
    const plain = path.join(fs.realpathSync(sb.dir), 'plain');
    fs.mkdirSync(plain);
    const a = await startIn(sb, repo, 'web-main');
    const b = await startIn(sb, path.join(wt), 'web-topic');
    const c = await startIn(sb, plain, 'plain');
    const ids = async (cwd: string) => (await listJson(sb, cwd, '--here')).map((r) => r.id);
    assert.equal(await ids(repo), [a]);
    assert.equal(await ids(path.join(repo, 'src')), [a], 'from a subfolder of the worktree too');
    assert.equal(await ids(wt), [b]);
    assert.equal(await ids(plain), [c]);
    const elsewhere = path.join(fs.realpathSync(sb.dir), 'elsewhere');
    fs.mkdirSync(elsewhere);
    assert.equal(await ids(elsewhere), []);
    // The table: only its rows; an empty --here says whose.
    const table = await list(sb, wt, '--here');
    assert.is(table.code, 0);
    assert.match(table.out, new RegExp(`^ID .*\\n${b} .*web-topic.*\\n$`));
    const none = await list(sb, elsewhere, '--here');
    assert.is(none.out, `No processes started from ${elsewhere}.\n`);
    // The plain list of processes from two checkouts shows their branches; from one, no column.
    const all = await list(sb, plain);
    assert.match(all.out, /^ID .* BRANCH +COMMAND\n/);
    assert.match(all.out, new RegExp(`\\n${a} .*web-main .* main +sleep 600\\n`));
    assert.match(all.out, new RegExp(`\\n${b} .*web-topic .* topic +sleep 600\\n`));
    assert.match(all.out, new RegExp(`\\n${c} .*plain .* - +sleep 600\\n`));
    assert.not.match((await list(sb, wt, '--here')).out, /BRANCH/);
  },
);

withSandbox(
  'stale: a running process whose worktree moved to another commit; only --json and --here say so; a restart runs the new commit',
  async (sb) => {
    const { repo, wt } = repos(sb);
    const a = await startIn(sb, repo, 'web');
    const b = await startIn(sb, wt, 'other');
    const stale = async () => new Map((await listJson(sb, repo)).map((r) => [r.id, r.stale]));
    assert.equal([...(await stale()).values()], [false, false]);
    const second = commitIn(repo, 'two');
    assert.equal(
      await stale(),
      new Map([
        [a, true],
        [b, false],
      ]),
      'only the worktree that moved',
    );
    // --here says it in a line after the table; the plain list pays nothing and says nothing.
    const here = await list(sb, repo, '--here');
    const said = `\\nStale: ${a} \\(web\\) runs commit [0-9a-f]{8}; its worktree is now at ${second.slice(0, 8)}\\. Restart it to run the new code: \\S*node \\S*restart_process\\S* web\\n$`;
    assert.match(here.out, new RegExp(said));
    assert.not.match((await list(sb, repo)).out, /[Ss]tale/);
    // restart_process keeps the folder and reads the commit again: it now runs the new code.
    const r = await run(sb, 'restart_process.ts', [a], { cwd: wt });
    assert.is(r.code, 0, r.stderr);
    const row = (await listJson(sb, wt)).find((x) => x.id === a)!;
    assert.equal(row.provenance, { folder: repo, git: { worktree: repo, branch: 'main', commit: second } });
    assert.is(row.stale, false);
    // An ended process is not stale: it runs nothing.
    await run(sb, 'stop_process.ts', [b], { cwd: wt });
    commitIn(wt, 'three');
    assert.is((await listJson(sb, wt)).find((x) => x.id === b)!.stale, null);
  },
);

withSandbox(
  "a restart policy's next run reads the commit again: it runs the worktree's code as it is then",
  async (sb) => {
    const { repo } = repos(sb);
    const first = git(repo, 'rev-parse', 'HEAD');
    // Each run waits for the file go, takes it and fails: the policy starts the next run.
    const line = 'while [ ! -e go ]; do sleep 0.1; done; rm go; exit 1';
    const r = await run(sb, 'start_process.ts', ['--name', 'crashy', '--restart', 'on-failure', line], { cwd: repo });
    const id = /^Started process ([0-9a-f]{8})/m.exec(r.stdout)?.[1];
    assert.ok(r.code === 0 && id, r.stdout + r.stderr);
    assert.is((await listJson(sb, repo)).find((x) => x.id === id)!.provenance!.git!.commit, first);
    const second = commitIn(repo, 'two');
    fs.writeFileSync(path.join(repo, 'go'), '');
    const row = await waitFor(
      'the next run, with the new commit',
      async () => {
        const x = (await listJson(sb, repo)).find((y) => y.id === id) as Row & { restarts: number };
        return x.restarts >= 1 && x.status === 'running' && x;
      },
      60_000,
    );
    assert.equal(row.provenance, { folder: repo, git: { worktree: repo, branch: 'main', commit: second } });
    assert.is(row.stale, false);
  },
);

withSandbox('hostile .git contents: the start goes on, the checkout is unknown, --here still works', async (sb) => {
  const root = fs.realpathSync(sb.dir);
  const cases: Record<string, (dir: string) => void> = {
    fifo: (d) => execFileSync('mkfifo', [path.join(d, '.git')]),
    loop: (d) => fs.symlinkSync('.git', path.join(d, '.git')),
    huge: (d) => fs.writeFileSync(path.join(d, '.git'), `gitdir: ${'x'.repeat(8 << 20)}\n`),
    anywhere: (d) => fs.writeFileSync(path.join(d, '.git'), 'gitdir: /dev/zero\n'),
    'fifo-head': (d) => {
      fs.mkdirSync(path.join(d, '.git'));
      execFileSync('mkfifo', [path.join(d, '.git/HEAD')]);
    },
  };
  for (const [name, make] of Object.entries(cases)) {
    const dir = path.join(root, name);
    fs.mkdirSync(dir);
    make(dir);
    const id = await startIn(sb, dir, name);
    const rows = await listJson(sb, dir, '--here');
    assert.equal(
      rows.map((r) => [r.id, r.provenance, r.stale]),
      [[id, { folder: dir, git: { worktree: dir, branch: 'unknown', commit: 'unknown' } }, null]],
      name,
    );
  }
});

mcpTest(
  "MCP: a start records the client's first root; list_processes here: the client's roots' checkouts, with provenance and stale",
  async (sb, _note, open) => {
    const { repo, wt } = repos(sb);
    const home = path.join(fs.realpathSync(sb.dir), 'server-home');
    fs.mkdirSync(home);
    const mcp = await open({
      label: 'roots: the linked worktree',
      cwd: home,
      capabilities: { roots: { listChanged: true } },
      setup: (c) => c.setRequestHandler(ListRootsRequestSchema, () => ({ roots: [{ uri: pathToFileURL(wt).href }] })),
    });
    const fromCli = await startIn(sb, repo, 'cli-main');
    // A start with cwd elsewhere still comes from the client's root.
    const res = await mcp.call('start_process', { command: ['sleep', '600'], name: 'mcp-wt', cwd: repo });
    assert.not.ok(res.isError);
    const id = (res.structuredContent as { id: string }).id;
    type McpRow = Row & { name: string };
    const rows = async (args: Record<string, unknown>) =>
      ((await mcp.call('list_processes', args)).structuredContent as { processes: McpRow[] }).processes;
    const mine = await rows({ here: true });
    assert.equal(
      mine.map((r) => [r.id, r.provenance, r.stale]),
      [[id, { folder: wt, git: { worktree: wt, branch: 'topic', commit: git(wt, 'rev-parse', 'HEAD') } }, false]],
    );
    commitIn(repo, 'two');
    const every = new Map((await rows({})).map((r) => [r.id, r]));
    assert.equal([every.get(fromCli)!.stale, every.get(id)!.stale], [true, false]);
    // No roots: here is the server's own folder (nothing was started from it).
    const bare = await open({ label: 'no roots', cwd: home });
    const none = await bare.call('list_processes', { here: true });
    assert.equal((none.structuredContent as { processes: unknown[] }).processes, []);
  },
);

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

withSandbox("the page: a process's detail shows its branch and worktree, and that it is stale", async (sb) => {
  if (!fs.existsSync(CHROMIUM)) return skip(`the page's check: no chromium at ${CHROMIUM} (set CHROMIUM_PATH)`);
  const { repo } = repos(sb);
  const id = await startIn(sb, repo, 'web');
  const dash = spawn(process.execPath, [path.join(ROOT, 'skills/background-manager/dist/dashboard.mjs')], {
    env: sb.env,
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(sb, dash.pid!);
  let out = '';
  dash.stdout!.on('data', (d) => (out += d));
  const browser = await chromium.launch({ executablePath: CHROMIUM });
  try {
    const url = await waitFor('the Dashboard line', () => /^Dashboard: (\S+)$/m.exec(out)?.[1], 60_000);
    const page = await browser.newPage();
    await page.goto(url);
    await page.locator(`#procs tr[data-id="${id}"]`).click({ timeout: 90_000 });
    const from = page.locator('#d-from');
    await from.filter({ hasText: `Started from branch main in ${repo}` }).waitFor({ timeout: 90_000 });
    // biome-ignore lint/performance/useDomNodeTextContent: the text as the page shows it
    assert.not.match(await from.innerText(), /stale/);
    commitIn(repo, 'two');
    // The list is looked at again every second while a page is open (lib/web/feeds.ts).
    await from.filter({ hasText: 'stale: its worktree is on another commit now' }).waitFor({ timeout: 90_000 });
  } finally {
    await browser.close();
    dash.kill('SIGTERM');
  }
});

test.run();
