// The fast path's launcher: build.mjs bundles this module into dist/<name>.mjs for every entry
// script, which then takes the same arguments as `npx tsx scripts/<name>.ts`, without npx, tsx
// and their loaders. In order, it
// 1. starts deriving the password's key on libuv's thread pool (reading key.json's salt and
//    iteration count), so that the derivation runs while the bundle below is compiled and
//    evaluated: runMain waits for it (cli/cli.ts), crypto.ts uses it (install/fastpath.ts);
// 2. rebuilds dist/ first when a source is newer than the bundle (sources.mjs: bundlesFresh);
// 3. compiles the bundle, dist/bundle/<name>.js (the body of an async function, build.mjs),
//    with vm.Script and its code cache, and runs it.
// It runs before any of the script's modules: node built-ins and leaf modules only here.
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { createHash, pbkdf2 } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bundlesFresh } from '../../../sources.mjs';
import { keyCacheEntry, keyCacheTtl } from '../../../keycache-locate.mjs';
import { processLayerName } from '../../../platform.mjs';
import {
  BUNDLE_CHECKED,
  fastPathGlobals,
  KEK_PREFETCH,
  MAX_ITERATIONS,
  MIN_ITERATIONS,
  type KekPrefetch,
} from './fastpath.ts';
import { withoutEnv } from './bundle.ts';
import { dataDirFromEnv } from './paths.ts';

// What build.mjs tells each launcher as it bundles this module (esbuild's define): the entry
// script's name, and the text around its bundle that makes it a function (BODY_HEAD, BODY_TAIL).
declare const BG_SCRIPT: string;
declare const BG_BODY_HEAD: string;
declare const BG_BODY_TAIL: string;

/** The bundle, as its head and tail make it: CommonJS's module wrapper, async, and import.meta.url. */
type Body = (
  exports: object,
  require: NodeJS.Require,
  module: { exports: object },
  filename: string,
  dirname: string,
  importMetaUrl: string,
  warmUp?: boolean, // build.mjs's warm-up run only (codeCache): the script's main is left out
) => Promise<void>;

// Scripts that start a supervisor gain nothing from the early derivation: they derive the key
// while the supervisor boots, and waiting for it first would serialise the two.
const NO_PREFETCH = new Set(['start_process', 'restart_process']);

// Kept from esbuild's helper process in a rebuild (withoutEnv).
const SECRET_VARS = ['BG_PASSWORD', 'BG_NEW_PASSWORD'];

const script = BG_SCRIPT;
const dist = path.dirname(fileURLToPath(import.meta.url));
const skill = path.dirname(dist);
const bundle = path.join(dist, 'bundle', `${script}.js`);

// Servers: their main returns while they serve.
const SERVES = new Set(['mcp_server', 'dashboard']);

if (!NO_PREFETCH.has(script)) prefetchKek();
if (!fastPathGlobals[BUNDLE_CHECKED] && !bundlesFresh(skill, [`bundle/${script}.js`])) await rebuild();
await runBundle();
if (!SERVES.has(script)) exitWhenDone();

/**
 * End the process once the script is done instead of after node has torn its heap down
 * (10-20 ms of a call; issue 25, item 7), and only then: when nothing keeps the event loop
 * alive but handles being closed, and stdout and stderr hold nothing unwritten. Anything
 * else (a stream still draining, a timer, a socket) and node ends as usual.
 */
function exitWhenDone(): void {
  setImmediate(() => {
    const busy = process.getActiveResourcesInfo().some((r) => r !== 'CloseReq');
    if (!busy && !process.stdout.writableLength && !process.stderr.writableLength) process.exit();
  });
}

/**
 * Start deriving the password's key now. crypto.ts uses the result only for the very same
 * password, salt and iteration count; anything unexpected here just skips the head start.
 */
function prefetchKek(): void {
  const password = process.env.BG_PASSWORD;
  if (!password || process.argv.includes('--help') || process.argv.includes('-h')) return;
  try {
    const dataDir = dataDirFromEnv();
    const kdf = (
      JSON.parse(fs.readFileSync(path.join(dataDir, 'key.json'), 'utf8')) as { kdf: Record<string, unknown> }
    ).kdf;
    // A fresh key cache entry (store/keycache.ts) will most likely open: no derivation to start.
    // The portable process layer keeps no cache: always derive.
    const ttl = processLayerName() === 'linux' ? keyCacheTtl() : 0;
    const used = ttl > 0 ? fs.statSync(keyCacheEntry(dataDir), { throwIfNoEntry: false })?.mtimeMs : undefined;
    // Only what keys.ts accepts (MIN_ITERATIONS..MAX_ITERATIONS, a 16-byte salt).
    if (
      (used === undefined || Date.now() - used > ttl * 1000) &&
      kdf.algorithm === 'pbkdf2-sha256' &&
      Number.isInteger(kdf.iterations) &&
      (kdf.iterations as number) >= MIN_ITERATIONS &&
      (kdf.iterations as number) <= MAX_ITERATIONS &&
      typeof kdf.salt === 'string' &&
      kdf.salt.length === 24
    ) {
      const entry: KekPrefetch = { password, salt: kdf.salt, iterations: kdf.iterations as number };
      entry.ready = new Promise((resolve) =>
        pbkdf2(
          Buffer.from(password, 'utf8'),
          Buffer.from(entry.salt, 'base64'),
          entry.iterations,
          32,
          'sha256',
          (err, key) => {
            if (!err) entry.key = key;
            resolve();
          },
        ),
      );
      fastPathGlobals[KEK_PREFETCH] = entry;
    }
  } catch {
    /* no key file yet, or unreadable: the script reports it */
  }
}

/**
 * Rebuild dist/ (a source changed since the bundle was made). scripts/<name>.ts, which hands
 * over only to a current bundle, has just checked (BUNDLE_CHECKED).
 */
async function rebuild(): Promise<void> {
  try {
    await withoutEnv(SECRET_VARS, async () =>
      ((await import(new URL('../build.mjs', import.meta.url).href)) as { build(): Promise<void> }).build(),
    );
  } catch (err) {
    const why = String((err as { message?: unknown } | null | undefined)?.message ?? err).split('\n')[0];
    process.stderr.write(
      `${script}: error: the sources changed since the last build and do not build now (${why}). Run npm run build to see why.\n`,
    );
    process.exit(1);
  }
}

/**
 * Compile the bundle with its code cache when the cache was made from this very body (a stale
 * or foreign one would be worse than none: V8 checks little more than the source's length).
 */
async function runBundle(): Promise<void> {
  const source = fs.readFileSync(bundle, 'utf8');
  let cachedData: Buffer | undefined;
  try {
    const cache = fs.readFileSync(path.join(dist, 'bundle', `${script}.cache`));
    if (cache.length > 32 && cache.subarray(0, 32).equals(createHash('sha256').update(source).digest()))
      cachedData = cache.subarray(32);
  } catch {
    /* no cache: V8 compiles the body as usual */
  }
  const compiled = new vm.Script(BG_BODY_HEAD + source + BG_BODY_TAIL, {
    filename: bundle,
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const module = { exports: {} };
  await (compiled.runInThisContext() as Body)(
    module.exports,
    createRequire(bundle),
    module,
    bundle,
    path.dirname(bundle),
    pathToFileURL(bundle).href,
  );
}
