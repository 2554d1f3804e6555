// The Makefile's targets (README: "CMD and TEXT are passed as typed, quotes and $ included"):
// what a person types reaches the process unchanged, and make itself runs none of it. Make
// exports the variables given on its command line to every recipe, expanding them on the way:
// a TEXT holding $(shell ...) ran it, even for `make list`.
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { run, waitFor, withSandbox, ROOT } from './helpers.ts';

function make(env: NodeJS.ProcessEnv, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'make',
      ['-s', '--no-print-directory', ...args],
      { cwd: ROOT, env, timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({
          code: err ? Number((err as NodeJS.ErrnoException & { code?: unknown }).code ?? 1) : 0,
          stdout,
          stderr,
        }),
    );
  });
}

withSandbox(
  'make start, send and list: CMD and TEXT reach the process as typed, and make runs none of their $(shell ...)',
  async (sb) => {
    const ran = (what: string) => path.join(sb.dir, `ran-${what}`);
    const started = await make(sb.env, [
      'start',
      `CMD=cat; : '$(shell touch ${ran('cmd')})'`,
      'OPTS=--name mk --no-pty',
    ]);
    assert.is(started.code, 0, started.stderr);
    assert.match(started.stdout, /^Started process [0-9a-f]{8}/m);
    const text = `it's "$HOME" $(shell touch ${ran('text')}) done`;
    const sent = await make(sb.env, ['send', 'ID=mk', `TEXT=${text}`]);
    assert.is(sent.code, 0, sent.stderr);
    const listed = await make(sb.env, ['list', `TEXT=$(shell touch ${ran('list')})`]);
    assert.is(listed.code, 0, listed.stderr);
    const out = await waitFor('the text in the log', async () => {
      const r = await run(sb, 'get_logs.ts', ['mk', '-n', '0']);
      return r.stdout.includes('done') && r.stdout;
    });
    assert.is(out, `${text}\n`, 'the process got the text as typed');
    // The targets run the documented form (node dist/*.mjs); TSX=1 the compatible one, with the
    // same output (and FAST=1, the old switch to the first, is still accepted).
    const viaMake = await make(sb.env, ['-n', 'list']);
    assert.match(viaMake.stdout, /^node skills\/background-manager\/dist\/list_processes\.mjs$/m, viaMake.stdout);
    const viaTsx = await make(sb.env, ['-n', 'list', 'TSX=1']);
    assert.match(viaTsx.stdout, /^npx tsx skills\/background-manager\/scripts\/list_processes\.ts$/m, viaTsx.stdout);
    const [fast, tsx, old] = await Promise.all([
      make(sb.env, ['list']),
      make(sb.env, ['list', 'TSX=1']),
      make(sb.env, ['list', 'FAST=1']),
    ]);
    assert.is(tsx.code, 0, tsx.stderr);
    assert.is(tsx.stdout, fast.stdout, 'make list TSX=1 prints what make list prints');
    assert.is(old.stdout, fast.stdout, 'make list FAST=1 too');
    for (const what of ['cmd', 'text', 'list'])
      assert.not.ok(fs.existsSync(ran(what)), `make ran the $(shell ...) in ${what.toUpperCase()}`);
  },
);

test.run();
