/**
 * Runs go on exactly from state files version 1 wrote. The fixtures (test/fixtures/state-v1, made by
 * make-state-v1.ts with the code that wrote version 1) are the state after each step of real runs, a
 * skip and a resolve, with the log they read. Each step is done again here with today's CLI, from the
 * version-1 state before it, on the log as it was then and a target where the steps before left it:
 * what it writes must be what version 1 wrote after that step, migrated, up to times of day.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadState } from '../../src/io/state';
import { Cluster, makeTempDir } from '../helpers/cluster';
import { cli } from '../helpers/cli';
import type { Manifest } from '../fixtures/make-state-v1';

const V1 = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'state-v1');

/**
 * A fixture's state bound to this test's copy of the log: its directory, and each file's inode
 * (the marks, the journal and the judge name files by inode too).
 */
function rebind(name: string, logDir: string): string {
  const bind = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(bind);
    if (typeof v !== 'object' || v === null) return v;
    const o = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, bind(x)]));
    if (typeof o.name === 'string' && typeof o.ino === 'number' && fs.existsSync(path.join(logDir, o.name))) o.ino = fs.statSync(path.join(logDir, o.name)).ino;
    return o;
  };
  const state = bind(JSON.parse(fs.readFileSync(path.join(V1, name), 'utf8'))) as Record<string, unknown>;
  return JSON.stringify({ ...state, primary: { logDir: fs.realpathSync(logDir) } });
}

/** Times of day (ISO) are the run's own: the same state holds other ones. */
function timeless(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v), (_k, x: unknown) => (typeof x === 'string' && /^\d{4}-\d\d-\d\dT/.test(x) ? 'TIME' : x));
}

describe('runs go on from version-1 state files', () => {
  let target: Cluster;
  let work: string;
  const manifest = JSON.parse(fs.readFileSync(path.join(V1, 'steps.json'), 'utf8')) as Manifest;

  before(async () => {
    work = makeTempDir('pgds-migrate-');
    target = await Cluster.start({ name: 'a' });
    target.psql('postgres', manifest.targetSetup);
  });

  after(async () => {
    await target?.destroy();
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('each step of real runs, a skip and a resolve, done again from the version-1 state before it, writes what version 1 did', async () => {
    const logDir = path.join(work, 'pg_log');
    fs.mkdirSync(logDir, { mode: 0o700 });
    const stateFile = path.join(work, 'state.json');
    let previous: string | undefined;
    for (const step of manifest.steps) {
      // The log as the step read it: each file grown in place (its inode kept) to its size then.
      for (const [name, size] of Object.entries(step.log)) {
        fs.writeFileSync(path.join(logDir, name), fs.readFileSync(path.join(V1, 'log', name)).subarray(0, size), { mode: 0o640 });
      }
      fs.rmSync(stateFile, { force: true });
      if (previous) fs.writeFileSync(stateFile, rebind(previous, logDir), { mode: 0o600 });
      const common = ['--csvlog-dir', logDir, '--state-file', stateFile, '--log-dir', path.join(work, 'log')];
      const res = await cli([...step.args, ...common, ...(step.args[0] === 'resolve' ? [] : ['--target', `a=${target.syncUrl}`])]);
      assert.equal(res.code, step.code, `${step.args.join(' ')}: ${res.stderr}`);
      const expected = path.join(work, `expected-${step.after}`);
      fs.writeFileSync(expected, rebind(step.after, logDir), { mode: 0o600 });
      assert.deepEqual(timeless(loadState(stateFile)), timeless(loadState(expected)), step.after);
      previous = step.after;
    }
    const tables = await target.query<{ r: string }>('postgres', "SELECT relname AS r FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY 1");
    // Each table once, none of the rolled-back block, the prepared one after its COMMIT PREPARED.
    assert.deepEqual(tables.map((t) => t.r), ['after_clash', 'after_crash', 'base_t', 'clash', 'last_t', 'lost_t', 'prepared_t']);
  });
});
