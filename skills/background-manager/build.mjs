// Bundles the supervisor into plain JavaScript (dist/supervisor.mjs): under the tsx loader it
// would cost about 5x the memory (DESIGN.md). Run by `npm run build`, and by start_process
// itself when the bundle is missing or older than its sources.
//
// It also makes the fast path for every entry script: `node dist/<name>.mjs` takes the same
// arguments as `npx tsx scripts/<name>.ts`, without npx, tsx and its loaders:
//   dist/bundle/<name>.js   the script bundled with its lib (yargs, proper-lockfile inside),
//                           as the body of an async function (CommonJS inside)
//   dist/bundle/<name>.cache  V8's code cache for that body (codeCache below)
//   dist/<name>.mjs         a small launcher (scripts/lib/install/launcher.ts, bundled):
//                           starts the password's key derivation on libuv's thread pool
//                           (reading key.json's salt and iteration count), rebuilds everything
//                           first if any source is newer than the bundle, then compiles the
//                           body with vm.Script and its cache and runs it; runMain waits for
//                           the derivation before main (lib/cli/cli.ts, lib/store/crypto.ts).
// scripts/<name>.ts hands over to dist/<name>.mjs when it is current (lib/install/bundle.ts), so
// `npx tsx` gets most of the gain too. The bundles find the skill folder from their own
// location (lib/install/paths.ts), as the sources do.
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { newestSourceMtime } from './sources.mjs';

const root = path.dirname(fileURLToPath(import.meta.url));

// Every .ts file in scripts/ is an entry script (start_process, list_processes, ...); the
// supervisor is a folder of its own (scripts/supervisor/, entry main.ts).
export const ENTRY_SCRIPTS = fs
  .readdirSync(path.join(root, 'scripts'), { withFileTypes: true })
  .filter((f) => f.isFile() && f.name.endsWith('.ts'))
  .map((f) => f.name.slice(0, -3))
  .sort();

export const BUNDLES = {
  supervisor: { entry: 'scripts/supervisor/main.ts', out: 'dist/supervisor.mjs' },
  // The supervisor's log thread (a worker: it must not load node-pty, which the supervisor does).
  'log-thread': { entry: 'scripts/lib/log/write/log-thread.ts', out: 'dist/log-thread.mjs' },
  // The dashboard's page (dashboard.ts serves dist/web/): bundled for the browser, with xterm.js
  // and its CSS; index.html and boot.js are copied beside it as they are.
  page: { entry: 'web/app.ts', out: 'dist/web/app.js', browser: true, copy: ['web/index.html', 'web/boot.js'] },
  // An entry script's bundle runs its command's main directly (scripts/<name>.ts would hand over).
  ...Object.fromEntries(
    ENTRY_SCRIPTS.map((n) => [
      n,
      {
        // __bgAwait becomes a real await inside the async wrapper the launcher runs it in (cjsEntry);
        // __bgWarmUp is that wrapper's last parameter, set only by codeCache's warm-up run.
        main: `import { runMain } from './lib/cli/cli.ts';\nimport { main } from './lib/commands/${n}.ts';\n__bgAwait(__bgWarmUp || runMain('${n}', main));\n`,
        out: `dist/bundle/${n}.js`,
        cache: `dist/bundle/${n}.cache`,
        launcher: `dist/${n}.mjs`,
      },
    ]),
  ),
};

function writeAtomic(file, data, stamp) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, data);
  fs.utimesSync(tmp, stamp, stamp);
  fs.renameSync(tmp, file); // atomic: concurrent builders never expose a half file
}

// The page: one script and one stylesheet (esbuild names it app.css, after app.js), no other build step.
async function buildPage(entry, outfile, copy, stamp) {
  const dir = path.dirname(outfile);
  const tmpDir = fs.mkdtempSync(path.join(dir, '.tmp-'));
  try {
    await esbuild.build({
      entryPoints: [path.join(root, entry)],
      bundle: true,
      platform: 'browser',
      format: 'iife',
      target: 'es2020',
      minify: true,
      outfile: path.join(tmpDir, path.basename(outfile)),
      logLevel: 'warning',
    });
    for (const f of copy) fs.copyFileSync(path.join(root, f), path.join(tmpDir, path.basename(f)));
    for (const f of fs.readdirSync(tmpDir)) {
      fs.utimesSync(path.join(tmpDir, f), stamp, stamp);
      fs.renameSync(path.join(tmpDir, f), path.join(dir, f)); // atomic, file by file
    }
  } finally {
    fs.rmSync(tmpDir, { recursive: true, force: true });
  }
}

/**
 * Build the named bundles (default: all). Each output gets the modification time of the newest
 * source as it was before the build began (plus 1 ms), not the time it was written: a source
 * edited while esbuild ran is then newer than the bundle, which counts as out of date.
 */
export async function build(names = Object.keys(BUNDLES)) {
  const stamp = (Math.ceil(newestSourceMtime(root)) + 1) / 1000;
  for (const name of names) {
    const { entry, main, out, cache, launcher, browser, copy } = BUNDLES[name];
    const outfile = path.join(root, out);
    fs.mkdirSync(path.dirname(outfile), { recursive: true });
    if (browser) {
      await buildPage(entry, outfile, copy, stamp);
      continue;
    }
    const tmp = `${outfile}.${process.pid}.tmp${main ? '.js' : '.mjs'}`;
    await esbuild.build({
      ...(entry
        ? { entryPoints: [path.join(root, entry)] }
        : {
            stdin: { contents: main, resolveDir: path.join(root, 'scripts'), sourcefile: `${name}.ts`, loader: 'ts' },
          }),
      bundle: true,
      platform: 'node',
      target: 'node20',
      outfile: tmp,
      // Loaded from node_modules when used: the terminal emulator only by get_logs --screen.
      external: ['@lydell/node-pty', '@xterm/headless'],
      logLevel: 'warning',
      plugins: main ? [lazyStringWidth] : [lazyStringWidth, builtinsByRequire],
      ...(main ? CJS_BODY : ESM_MODULE),
    });
    if (main) cjsEntry(tmp);
    fs.utimesSync(tmp, stamp, stamp);
    fs.renameSync(tmp, outfile); // atomic: concurrent builders never expose a half file
    if (cache) writeAtomic(path.join(root, cache), await codeCache(outfile), stamp);
    if (launcher) writeAtomic(path.join(root, launcher), await launcherSource(name), stamp);
  }
}

// string-width (three copies, under yargs, cliui and wrap-ansi) makes an Intl.Segmenter and an
// RGI_Emoji regular expression as it loads: ICU data, 20-70 ms of every call, though only
// --help and usage errors measure text. Each import of it gets a stub that loads the real
// module on its first call (esbuild bundles a require()d ES module as a lazy initialiser).
const lazyStringWidth = {
  name: 'lazy-string-width',
  setup(b) {
    b.onResolve({ filter: /^string-width$/ }, async (args) => {
      if (args.pluginData === 'lazy') return undefined; // the stub's own import: the real one
      const real = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: 'lazy' });
      if (real.errors.length) return { errors: real.errors };
      return { path: real.path, namespace: 'lazy-string-width' };
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy-string-width' }, (args) => ({
      contents: `let width;\nexport default function stringWidth(text, options) {\n  width ??= require(${JSON.stringify(args.path)}).default;\n  return width(text, options);\n}\n`,
      loader: 'js',
      resolveDir: path.dirname(args.path),
    }));
  },
};

// The supervisor and its log thread: ES modules. CommonJS dependencies call require(); give the
// ESM bundle one. Node's built-ins come through it too (builtinsByRequire).
const ESM_MODULE = {
  format: 'esm',
  banner: {
    js: "import { createRequire as __bgRequire } from 'node:module'; const require = __bgRequire(import.meta.url);",
  },
};

// An ES module's import of a built-in makes node build an ESM facade that reads every export,
// getters included: node:fs loads its streams, node:crypto WebCrypto (10-60 ms of each
// supervisor's start, which start_process waits for). Each built-in import becomes a CommonJS
// stub over require(), which reads only what the code uses.
const builtinsByRequire = {
  name: 'builtins-by-require',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) =>
      args.namespace === 'builtin' ? { path: args.path, external: true } : { path: args.path, namespace: 'builtin' },
    );
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});\n`,
      loader: 'js',
    }));
  },
};

// An entry script: the body of an async function (BODY_HEAD .. BODY_TAIL) that its launcher
// compiles with vm.Script, for two reasons. V8 takes a code cache made at build time for it
// (node 20 caches nothing for ES modules), and it is not loaded through any module loader, so
// under `npx tsx` tsx's loader never sees the 300-400 KB bundle (for one holding an `import(`,
// start_process's, tsx re-parsed it and made a source map: about 0.3 s a call).
const CJS_BODY = { format: 'cjs', define: { 'import.meta.url': '__bgImportMetaUrl' } };
export const BODY_HEAD =
  '(async function (exports, require, module, __filename, __dirname, __bgImportMetaUrl, __bgWarmUp) {';
export const BODY_TAIL = '\n})';

// esbuild writes no top-level await in CommonJS: the entry's marker call becomes one here.
function cjsEntry(file) {
  const text = fs.readFileSync(file, 'utf8');
  const at = text.lastIndexOf('__bgAwait(');
  if (at < 0 || text.indexOf('__bgAwait(') !== at) throw new Error(`${file}: expected one __bgAwait( call`);
  fs.writeFileSync(file, `${text.slice(0, at)}await (${text.slice(at + '__bgAwait('.length)}`);
}

/**
 * An entry script's launcher, dist/<name>.mjs: scripts/lib/install/launcher.ts (type-checked
 * with the rest), bundled with the few leaf modules it imports, and told its script's name and
 * the body's wrapper (BODY_HEAD, BODY_TAIL) through define. An ES module whose built-ins come
 * through require() (builtinsByRequire), as the supervisor's.
 */
async function launcherSource(name) {
  const { outputFiles } = await esbuild.build({
    entryPoints: [path.join(root, 'scripts/lib/install/launcher.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    write: false,
    logLevel: 'warning',
    plugins: [builtinsByRequire],
    ...ESM_MODULE,
    banner: {
      js: `// Fast path for ${name} (made by build.mjs from scripts/lib/install/launcher.ts; same arguments as scripts/${name}.ts).\n${ESM_MODULE.banner.js}`,
    },
    define: {
      BG_SCRIPT: JSON.stringify(name),
      BG_BODY_HEAD: JSON.stringify(BODY_HEAD),
      BG_BODY_TAIL: JSON.stringify(BODY_TAIL),
    },
  });
  return outputFiles[0].contents;
}

/**
 * V8's code cache for a body: the sha256 of the body (32 bytes), then V8's data. The body runs
 * here first with its main left out (__bgWarmUp), so that the functions its modules call
 * as they load (yargs, mostly) are compiled and in the cache too. The launcher uses the data
 * only beside the very same body, as V8 itself checks little more than the source's length.
 * So the rule for every module an entry script bundles: loading it has no side effects (no
 * files, processes, timers or reads of secrets at top level); the warm-up runs inside whoever
 * builds (npm run build, or start_process rebuilding dist/).
 */
async function codeCache(file) {
  const body = fs.readFileSync(file, 'utf8');
  const script = new vm.Script(BODY_HEAD + body + BODY_TAIL, {
    filename: file,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const module = { exports: {} };
  await script.runInThisContext()(
    module.exports,
    createRequire(file),
    module,
    file,
    path.dirname(file),
    pathToFileURL(file).href,
    true, // __bgWarmUp: the entry's main is left out
  );
  return Buffer.concat([createHash('sha256').update(body).digest(), script.createCachedData()]);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  await build(process.argv.slice(2).length ? process.argv.slice(2) : undefined);
}
