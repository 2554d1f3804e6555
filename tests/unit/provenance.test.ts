// list_processes's use of provenance (ops/provenance.ts, ops/list.ts) in process: what --here
// keeps, `stale` (only when asked, only for what runs, null when not known), the BRANCH column
// (only for rows from several checkouts) and the stale lines. Checkouts are written by hand as
// git lays them out (tests/unit/git.test.ts reads them; tests/provenance.test.ts uses git).
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import {
  emptyListText,
  listed,
  listedJson,
  processTable,
} from '../../skills/background-manager/scripts/lib/ops/list.ts';
import { hereCheckouts, staleLines } from '../../skills/background-manager/scripts/lib/ops/provenance.ts';
import { SHELL_HINTS } from '../../skills/background-manager/scripts/lib/install/hints.ts';
import { provenanceOf } from '../../skills/background-manager/scripts/lib/util/git.ts';
import { addRecords, contextOf, endedRecord, unitSuite, withUnitDir } from './harness.ts';
import { runningRecord } from './ops-helpers.ts';

const test = unitSuite('ops/provenance');

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

/** A checkout at `dir` on branch `branch` at `commit`, as git writes it. */
function checkout(dir: string, branch: string, commit: string): string {
  fs.mkdirSync(path.join(dir, '.git/refs/heads'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'src'), { recursive: true });
  fs.writeFileSync(path.join(dir, '.git/HEAD'), `ref: refs/heads/${branch}\n`);
  fs.writeFileSync(path.join(dir, '.git/refs/heads', branch), `${commit}\n`);
  return dir;
}

withUnitDir(
  test,
  '--here keeps one checkout; stale only when asked, only for what runs; BRANCH for several',
  async (u) => {
    const one = checkout(path.join(u.dir, 'one'), 'main', A);
    const two = checkout(path.join(u.dir, 'two'), 'topic', A);
    const plain = path.join(u.dir, 'plain');
    fs.mkdirSync(plain);
    await addRecords(
      u,
      runningRecord('aaaa0001', { name: 'web', provenance: provenanceOf(path.join(one, 'src')) }),
      runningRecord('bbbb0002', { provenance: provenanceOf(two) }),
      endedRecord('cccc0003', { provenance: provenanceOf(one) }),
      runningRecord('dddd0004', { provenance: provenanceOf(plain) }),
      runningRecord('eeee0005'), // started before provenance was recorded
    );
    const doc = contextOf(u).store.read();
    const ids = (rows: { p: { id: string } }[]) => rows.map((r) => r.p.id);
    assert.equal(ids(listed(doc, undefined, { here: hereCheckouts([one]) })), ['aaaa0001', 'cccc0003']);
    assert.equal(ids(listed(doc, undefined, { here: hereCheckouts([path.join(two, 'src')]) })), ['bbbb0002']);
    assert.equal(ids(listed(doc, undefined, { here: hereCheckouts([plain]) })), ['dddd0004']);
    assert.equal(ids(listed(doc, 'running', { here: hereCheckouts([one, two]) })), ['aaaa0001', 'bbbb0002']);
    assert.is(emptyListText(undefined, '/d', ['/w/x', '/w/y']), 'No processes started from /w/x or /w/y.');
    assert.is(emptyListText('running', '/d', ['/w/x']), 'No processes with status running started from /w/x.');

    // Not asked: not computed (the plain list reads no git file).
    assert.equal(
      listed(doc).map((r) => r.stale),
      [undefined, undefined, undefined, undefined, undefined],
    );
    fs.writeFileSync(path.join(one, '.git/refs/heads/main'), `${B}\n`); // a new commit in `one`
    const rows = listed(doc, undefined, { stale: true });
    assert.equal(
      rows.map((r) => [r.p.id, r.stale]),
      [
        ['aaaa0001', true],
        ['bbbb0002', false],
        ['cccc0003', null], // ended: runs nothing
        ['dddd0004', null], // outside git
        ['eeee0005', null], // no provenance
      ],
    );
    assert.equal(listedJson(rows[0]!).provenance, {
      folder: path.join(one, 'src'),
      git: { worktree: one, branch: 'main', commit: A },
    });
    assert.is(listedJson(rows[0]!).stale, true);
    assert.equal([listedJson(rows[4]!).provenance, listedJson(rows[4]!).stale], [null, null]);
    assert.equal(staleLines(rows, SHELL_HINTS), [
      `Stale: aaaa0001 (web) runs commit aaaaaaaa; its worktree is now at bbbbbbbb. Restart it to run the new code: ${SHELL_HINTS.call('restart_process', { ref: 'web' })}`,
    ]);

    // BRANCH: the rows come from several checkouts; one checkout's rows have no such column.
    const table = processTable(rows).split('\n');
    assert.match(table[0]!, / PORTS +INPUT +BRANCH +COMMAND$/);
    assert.match(table[1]!, /^aaaa0001 .* main +echo hello$/);
    assert.match(table[2]!, /^bbbb0002 .* topic +echo hello$/);
    assert.match(table[4]!, /^dddd0004 .* - +echo hello$/);
    assert.match(table[5]!, /^eeee0005 .* - +echo hello$/);
    assert.not.match(processTable(listed(doc, undefined, { here: hereCheckouts([one]) })), /BRANCH/);
  },
);

test.run();
