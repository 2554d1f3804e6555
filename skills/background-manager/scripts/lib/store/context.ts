// What every script needs before it can act: the data dir, the password, the unlocked key
// (one PBKDF2 derivation per call) and the state store.
import fs from 'node:fs';
import { dataDirFromEnv } from '../install/paths.ts';
import { isNotUtf8, passwordFromEnv, unlock, type Unlocked } from './keys.ts';
import { howToRun } from '../install/hints.ts';
import { StateStore } from './state.ts';
import { cacheTtl, noCacheNoteDue, showNoCacheNote } from './keycache.ts';
import { BgError } from '../errors.ts';
import { checkDataDir } from './datadir.ts';
import { layerName } from '../util/platform.ts';

export interface Context {
  dataDir: string;
  password: string;
  unlocked: Unlocked | undefined; // undefined: nothing of ours stored yet
  store: StateStore;
}

export function openContext(opts: { create: boolean }, env: NodeJS.ProcessEnv = process.env): Context {
  const password = passwordFromEnv(env);
  cacheTtl(env); // a BG_KEY_CACHE that means nothing is a usage error before anything is written
  layerName(); // so is a BG_PLATFORM (the layer this process uses: its own environment's)
  const dataDir = dataDirFromEnv(env);
  try {
    if (!fs.statSync(dataDir).isDirectory()) {
      throw new BgError(
        'STORAGE',
        `data dir ${dataDir} is not a folder. Set BG_DATA_DIR to a folder (one that does not exist yet is made).`,
      );
    }
  } catch (err) {
    if (err instanceof BgError) throw err;
    // A missing data dir is fine: it is made on the first start.
  }
  checkDataDir(dataDir);
  const unlocked = unlock(dataDir, password, opts);
  if (unlocked && isNotUtf8(password)) {
    // Made before such passwords were refused: it opens, but so would other bad bytes.
    process.stderr.write(
      `note: BG_PASSWORD is not valid UTF-8, so other passwords with bad bytes in the same places open this data too. Set a valid one: BG_NEW_PASSWORD='a long passphrase' ${howToRun('change_password')}\n`,
    );
  }
  const store = new StateStore({ dataDir, keys: unlocked?.keys, password });
  if (noCacheNoteDue()) {
    store.read(); // a data dir this call refuses (another process layer's, damaged) gets no note, no mark
    showNoCacheNote();
  }
  return { dataDir, password, unlocked, store };
}
