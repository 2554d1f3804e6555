// change_password: re-wrap the data key under a new password. Nothing else is rewritten, and
// running processes keep logging: they hold the data key, which does not change.
import fs from 'node:fs';
import path from 'node:path';
import { makeParser } from '../cli/cli.ts';
import { dataDirFromEnv } from '../install/paths.ts';
import { checkNewPassword, KEY_FILE, noKeyToChange, passwordFromEnv, rewrapKey } from '../store/keys.ts';
import { STATE_FILE, withLock } from '../store/state.ts';
import { checkDataDir } from '../store/datadir.ts';
import { BgError, EXIT } from '../errors.ts';

export async function main(argv: string[]): Promise<number> {
  await makeParser(
    argv,
    'Usage: BG_PASSWORD=old BG_NEW_PASSWORD=new $0\n\nChanges the password that protects the data: afterwards only BG_NEW_PASSWORD opens\nit. Only key.json changes; running processes keep running and logging.',
  )
    .example('BG_NEW_PASSWORD="$NEW" $0', 'Then export BG_PASSWORD="$NEW" for later calls')
    .demandCommand(0, 0, '', 'change_password takes no arguments.')
    .parseAsync();
  const oldPw = passwordFromEnv(process.env, 'BG_PASSWORD');
  const newPw = passwordFromEnv(process.env, 'BG_NEW_PASSWORD');
  checkNewPassword(newPw); // before the lock: a refused password changes nothing, not even the lock
  if (newPw === oldPw) throw new BgError('USAGE', 'BG_NEW_PASSWORD is the same as BG_PASSWORD; nothing to change.');
  const dataDir = dataDirFromEnv();
  checkDataDir(dataDir);
  const keyFile = path.join(dataDir, KEY_FILE);
  // Checked again under the lock (rewrapKey); the lock needs the folder, which may not exist yet.
  if (!fs.existsSync(keyFile)) throw noKeyToChange(keyFile);
  // The state's lock: state writes also rewrite key.json (the generation it vouches for).
  await withLock(path.join(dataDir, STATE_FILE), (lock) => rewrapKey(dataDir, oldPw, newPw, { lock }), {
    guards: [KEY_FILE],
  });
  process.stdout.write(`Password changed for ${dataDir}. Use the new one from now on (export BG_PASSWORD=...).\n`);
  return EXIT.OK;
}
