// The layers of scripts/ (README.md, Layout): every import points down, or stays inside its own
// folder; no two folders of one level import each other; no files import each other in a loop.
// Read from the sources' own import lines, so a new file or import is checked as it lands.
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { unitSuite } from './harness.ts';

const test = unitSuite('layers');

const SCRIPTS = path.resolve(import.meta.dirname, '../../skills/background-manager/scripts');

/** Each layer from the ground up; a file may import its own layer's folder and any lower layer. */
const LEVELS: string[][] = [
  ['lib/errors.ts'],
  ['lib/util'],
  ['lib/install'],
  ['lib/store'],
  ['lib/log/format'],
  ['lib/log/write', 'lib/log/read'],
  ['lib/process'],
  ['lib/control'],
  ['lib/ops', 'supervisor'],
  ['lib/web', 'lib/mcp'],
  ['lib/cli'],
  ['lib/commands'],
  ['.'], // the entry scripts
];

function layerOf(file: string): { level: number; folder: string } {
  const rel = path.relative(SCRIPTS, file);
  let best: { level: number; folder: string } | undefined;
  for (const [level, folders] of LEVELS.entries()) {
    for (const folder of folders) {
      const inside = folder === '.' ? !rel.includes('/') : rel === folder || rel.startsWith(`${folder}/`);
      if (inside && (!best || folder.length > best.folder.length)) best = { level, folder };
    }
  }
  if (!best) throw new Error(`${rel} is in no layer: add its folder to LEVELS here and to README's Layout`);
  return best;
}

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const f = path.join(dir, e.name);
    return e.isDirectory() ? sources(f) : e.name.endsWith('.ts') ? [f] : [];
  });
}

/** The files of scripts/ a file imports (static, dynamic and type-only imports alike). */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]+)\1/g)].map(
    (m) => m[2]!,
  );
  return specs.map((s) => path.resolve(path.dirname(file), s)).filter((f) => f.startsWith(`${SCRIPTS}/`));
}

const files = sources(SCRIPTS);
const graph = new Map(files.map((f) => [f, importsOf(f).filter((t) => fs.existsSync(t))]));
const rel = (f: string) => path.relative(SCRIPTS, f);

test('every import points down a layer or stays in its own folder', () => {
  const wrong: string[] = [];
  for (const [from, targets] of graph) {
    const a = layerOf(from);
    for (const to of targets) {
      const b = layerOf(to);
      if (b.folder === a.folder || b.level < a.level) continue;
      wrong.push(`${rel(from)} -> ${rel(to)} (${a.folder} may not import ${b.folder})`);
    }
  }
  assert.equal(wrong, [], wrong.join('\n'));
});

test('no files import each other in a loop', () => {
  const loops: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string) => {
    state.set(f, 'open');
    stack.push(f);
    for (const t of graph.get(f) ?? []) {
      if (state.get(t) === 'open') loops.push([...stack.slice(stack.indexOf(t)), t].map(rel).join(' -> '));
      else if (!state.has(t)) visit(t);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of files) if (!state.has(f)) visit(f);
  assert.equal(loops, [], loops.join('\n'));
});

test('the check sees imports: a known import of each kind is found', () => {
  // So that a change to the import pattern cannot make the tests above pass by seeing nothing.
  const errors = path.join(SCRIPTS, 'lib/errors.ts');
  const importers = [...graph].filter(([, t]) => t.includes(errors)).length;
  assert.ok(importers > 20, `only ${importers} files import lib/errors.ts`);
  assert.ok(files.length > 100, `${files.length} source files found`);
});

test.run();
