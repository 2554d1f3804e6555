// Bundles the supervisor into plain JavaScript (dist/supervisor.mjs): under the tsx loader it
// would cost about 5x the memory (DESIGN.md). Run by `npm run build`, and by start_process
// itself when the bundle is missing or older than its sources.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.dirname(fileURLToPath(import.meta.url));

export const BUNDLES = {
  supervisor: { entry: 'scripts/supervisor.ts', out: 'dist/supervisor.mjs' },
};

export async function build(names = Object.keys(BUNDLES)) {
  fs.mkdirSync(path.join(root, 'dist'), { recursive: true });
  for (const name of names) {
    const { entry, out } = BUNDLES[name];
    const outfile = path.join(root, out);
    const tmp = `${outfile}.${process.pid}.tmp.mjs`;
    await esbuild.build({
      entryPoints: [path.join(root, entry)],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: tmp,
      external: ['@lydell/node-pty'],
      // CommonJS dependencies (proper-lockfile) call require(); give the ESM bundle one.
      banner: { js: "import { createRequire as __bgRequire } from 'node:module'; const require = __bgRequire(import.meta.url);" },
      logLevel: 'warning',
    });
    fs.renameSync(tmp, outfile); // atomic: concurrent builders never expose a half file
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  await build(process.argv.slice(2).length ? process.argv.slice(2) : undefined);
}
