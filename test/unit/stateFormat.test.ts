/**
 * The state file's format of its own (core/stateFormat.ts): what the judge writes is what the format
 * declares, reads back to the same judge, and version-1 files written by real runs (fixtures
 * test/fixtures/state-v1, made by make-state-v1.ts) are read as version 2 with nothing lost.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { Judge, JudgeSnapshot } from '../../src/core/judge';
import { loadParser } from '../../src/core/parser';
import { makePlan } from '../../src/pipeline/read';
import { describeFiles } from '../../src/io/logFiles';
import { STATE_VERSION, State, loadState, saveState } from '../../src/io/state';
import { checkStateShape } from '../../src/io/stateShape';
import { fixturesOf } from '../helpers/fixtures';
import { silentLogger } from '../helpers/logger';

before(loadParser);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgds-format-'));
const V1 = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'state-v1');

/** The state file `saveState` writes for a judge's snapshot, parsed. */
function written(judge: JudgeSnapshot): unknown {
  const file = path.join(dir, 'written.json');
  const state: State = { version: STATE_VERSION, log: { files: [], judge }, journal: { nextSeq: 0, entries: [] }, targets: {} };
  saveState(file, state);
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** Where units start in the log: places to cut a read between two runs. */
function cuts(units: { offset: number }[]): number[] {
  const at = [...new Set(units.map((u) => u.offset))];
  return [at[1], at[Math.floor(at.length / 2)], at[at.length - 1]].filter((c): c is number => c !== undefined && c > 0);
}

describe('the state format, version 2', () => {
  const files = [...fixturesOf('all'), ...fixturesOf('ddl')].filter((f) => /pg1[0578]-/.test(f));
  for (const fixture of files) {
    const name = path.basename(fixture);
    it(`${name}: a judge saved mid-log holds only declared keys, reads back the same, and goes on as if never saved`, async () => {
      const whole = await makePlan(describeFiles([fixture]), [0], undefined, { log: silentLogger() });
      const bytes = fs.readFileSync(fixture);
      for (const cut of cuts(whole.units)) {
        const log = path.join(dir, `${name}-${cut}`);
        fs.writeFileSync(log, bytes.subarray(0, cut));
        const first = await makePlan(describeFiles([log]), [0], undefined, { log: silentLogger() });
        const saved = written(first.judge.snapshot()) as { log: { judge: JudgeSnapshot } };
        assert.equal(checkStateShape(saved, 2, true), null, `cut at ${cut}`);
        assert.deepEqual(new Judge(saved.log.judge).snapshot(), saved.log.judge, `cut at ${cut}`);
        // The same file, grown: the second run starts where the first ended, from what it saved.
        fs.appendFileSync(log, bytes.subarray(cut));
        const second = await makePlan(describeFiles([log]), first.ends, saved.log.judge, { log: silentLogger() });
        const place = (u: { offset: number; parts: number[] }): string => `${u.offset}:${u.parts.join(',')}`;
        assert.deepEqual([...first.units, ...second.units].map(place), whole.units.map(place), `cut at ${cut}`);
        const once = await makePlan(describeFiles([log]), [0], undefined, { log: silentLogger() });
        assert.deepEqual(written(second.judge.snapshot()), written(once.judge.snapshot()), `cut at ${cut}`);
      }
    });
  }

  it('the strict check names a key the format does not declare', () => {
    const saved = written({ nextOrder: 0, nextTx: 0, sessions: [], txs: [], pending: [], prepared: {} }) as { log: { judge: Record<string, unknown> } };
    saved.log.judge.stray = 1;
    assert.equal(checkStateShape(saved, 2, true), 'key "log.judge.stray" is not part of the format');
    assert.equal(checkStateShape(saved, 2), null);
  });
});

describe('version-1 state files written by real runs', () => {
  const names = fs.readdirSync(V1).filter((f) => /^\d\d-.*\.json$/.test(f));

  /** A fixture loaded as a run loads it, from a private copy. */
  function load(name: string): State {
    const file = path.join(dir, name);
    fs.copyFileSync(path.join(V1, name), file);
    fs.chmodSync(file, 0o600);
    return loadState(file);
  }

  for (const name of names) {
    it(`${name} is read as version 2, every key declared, and writes back the same`, () => {
      const state = load(name);
      assert.equal(state.version, 2);
      const file = path.join(dir, `again-${name}`);
      saveState(file, state);
      const text = fs.readFileSync(file, 'utf8');
      assert.equal(checkStateShape(JSON.parse(text), 2, true), null);
      assert.deepEqual(loadState(file), state);
      // Everything outside the judge's part is as version 1 wrote it.
      const v1 = JSON.parse(fs.readFileSync(path.join(V1, name), 'utf8')) as Record<string, unknown>;
      const { version: _v, log: oldLog, ...rest } = v1;
      const { version: _w, log: newLog, ...restNow } = JSON.parse(text) as Record<string, unknown>;
      assert.deepEqual(restNow, rest);
      const { judge: _j, ...marks } = oldLog as Record<string, unknown>;
      const { judge: _k, ...marksNow } = newLog as Record<string, unknown>;
      assert.deepEqual(marksNow, marks);
    });
  }

  it('keeps the open block with its savepoints and the prepared transaction of a first run', () => {
    const v1 = JSON.parse(fs.readFileSync(path.join(V1, '01-run.json'), 'utf8')) as { log: { judge: { pending: unknown[]; txs: { status: string }[] } } };
    const judge = load('01-run.json').log!.judge;
    assert.equal(judge.pending.length, v1.log.judge.pending.length);
    const open = judge.txs.find((t) => t.state.is === 'running');
    assert.equal(open?.block, 'logged');
    assert.deepEqual(open?.savepoints.map((s) => s.name), ['s1', 's2']);
    const prepared = judge.txs.find((t) => t.state.is === 'prepared');
    assert.equal(prepared?.gid, 'g1');
    assert.deepEqual(judge.prepared, { g1: prepared?.id });
  });

  it("keeps the crash's time on the transaction it left unknown, and a person's word on it", () => {
    const unknown = load('04-run.json').log!.judge.txs.find((t) => t.state.is === 'unknown');
    assert.match(unknown?.state.is === 'unknown' ? unknown.state.crashedAt : '', /^\d{4}-\d\d-\d\d /);
    const resolved = load('05-resolve.json').log!.judge.txs.find((t) => t.id === unknown?.id);
    assert.deepEqual(resolved?.state, { is: 'committed' });
  });
});
