// node-pty's spawn-helper (macOS only). On darwin node-pty starts every PTY command through a
// small program shipped in its prebuild package (@lydell/node-pty-darwin-<arch>/spawn-helper,
// mode 0755 in the tarball), with posix_spawn. A copied skill folder (a zip, a copy that drops
// modes) may leave it without its execute bits, and then every PTY start fails with node-pty's
// bare "posix_spawnp failed.": the supervisor checks it first and names the file and the fix.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { BgError } from '../errors.ts';

/**
 * The spawn-helper node-pty will run, found as node-pty finds it (unixTerminal.js:
 * require.resolve of `@lydell/node-pty-<platform>-<arch>/spawn-helper` from node-pty's own
 * folder, then app.asar made app.asar.unpacked). A helper that is missing from its package is
 * still named (where it should be); undefined when there is no such package: node-pty's own
 * error then says what is missing.
 */
export function spawnHelperPath(req: NodeJS.Require): string | undefined {
  let ptyReq: NodeJS.Require;
  try {
    ptyReq = createRequire(req.resolve('@lydell/node-pty'));
  } catch {
    return undefined;
  }
  const pkg = `@lydell/node-pty-${process.platform}-${process.arch}`;
  let file: string;
  try {
    file = ptyReq.resolve(`${pkg}/spawn-helper`);
  } catch {
    try {
      file = path.join(path.dirname(ptyReq.resolve(`${pkg}/package.json`)), 'spawn-helper');
    } catch {
      return undefined;
    }
  }
  return file.replace('app.asar', 'app.asar.unpacked').replace('node_modules.asar', 'node_modules.asar.unpacked');
}

/** Why the spawn-helper at `file` cannot be run, in one line with the fix; undefined when it can. */
export function spawnHelperProblem(file: string): string | undefined {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    return `node-pty's spawn-helper is missing: ${file}. Install the skill's packages again (npm install --prefix <the skill's folder>).`;
  }
  if (!st.isFile())
    return `node-pty's spawn-helper is not a file: ${file}. Install the skill's packages again (npm install --prefix <the skill's folder>).`;
  try {
    fs.accessSync(file, fs.constants.X_OK);
  } catch {
    return `node-pty's spawn-helper is not executable (mode ${(st.mode & 0o777).toString(8)}; a copy may have dropped it): ${file}. Run: chmod +x '${file}'`;
  }
  return undefined;
}

/** On macOS, before node-pty starts a command: its spawn-helper must be there and executable (exit 1). */
export function checkSpawnHelper(req: NodeJS.Require): void {
  if (process.platform !== 'darwin') return;
  const file = spawnHelperPath(req);
  const problem = file === undefined ? undefined : spawnHelperProblem(file);
  if (problem) throw new BgError('CANNOT_START', problem);
}
