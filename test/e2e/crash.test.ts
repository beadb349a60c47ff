/**
 * Exactly once, whatever happens to a run: runs killed with SIGKILL at random moments, over and over,
 * on statements that fail if applied twice; then one clean run must exit 0 with every target in step.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fingerprint } from '../../src/io/logFiles';
import { loadState } from '../../src/io/state';
import { Cluster, makeTempDir, startPrimaryAndTargets } from '../helpers/cluster';
import { assertInStep } from '../helpers/compare';
import { cli, readDir } from '../helpers/cli';

const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 25);
const GROUPS_PER_ROUND = 15;

describe('crash: runs killed at random moments', () => {
  let primary: Cluster;
  let a: Cluster;
  let b: Cluster;
  let work: string;
  let stateFile: string;
  let toolLog: string;

  const args = () => [
    'run', '--csvlog-dir', primary.logDir, '--target', `a=${a.syncUrl}`, '--target', `b=${b.syncUrl}`,
    '--state-file', stateFile, '--log-dir', toolLog,
  ];

  /** `file:offset` of the dry-run listing entry whose SQL is `sql`. */
  async function positionOf(sql: string): Promise<{ file: string; offset: number }> {
    const res = await cli(['run', '--dry-run', '--csvlog-dir', primary.logDir, '--state-file', stateFile]);
    const out = res.stdout.split('\n');
    const i = out.indexOf(sql);
    assert.ok(i > 0, `dry run lacks ${sql}: ${res.stdout}${res.stderr}`);
    // The statement's header: `-- database D, as role R, from FILE:OFFSET`, then its settings' line.
    const header = out.slice(0, i).reverse().find((l) => l.startsWith('-- database ')) ?? '';
    const m = /from (.+\.csv):(\d+)$/.exec(header);
    assert.ok(m, header);
    return { file: m[1], offset: Number(m[2]) };
  }

  before(async () => {
    work = makeTempDir('pgds-crash-');
    stateFile = path.join(work, 'state.json');
    toolLog = path.join(work, 'log');
    [primary, a, b] = await startPrimaryAndTargets(['a', 'b']);
    primary.psql('postgres', 'CREATE DATABASE crash;\n');
    primary.psql('crash', 'CREATE TABLE base (a int);\n');
    await primary.waitForLog('CREATE TABLE base');
    const first = await cli(args());
    assert.equal(first.code, 0, first.stderr);
  });

  after(async () => {
    await Promise.all([primary, a, b].map((c) => c?.destroy()));
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('a statement that ran alone before a crash cut off its ledger entry is completed, not re-run', async () => {
    primary.psql('postgres', 'CREATE DATABASE crash_alone;\n');
    await primary.waitForLog('CREATE DATABASE crash_alone');
    const at = await positionOf('CREATE DATABASE crash_alone;');
    // The crash window on a: the in_flight entry committed, the statement ran, the process died.
    a.psql('postgres', 'CREATE DATABASE crash_alone;\n');
    const key = fingerprint(path.join(primary.logDir, at.file));
    await a.query('postgres', "INSERT INTO ddl_sync.applied (source, file_key, record_offset, log_file, state, statement) VALUES ('crash-test', $1, $2, $3, 'in_flight', 'CREATE DATABASE crash_alone')", [key, at.offset, at.file]);
    const res = await cli(args());
    assert.equal(res.code, 0, res.stderr);
    assert.match(readDir(toolLog), /applied \(had run before a crash; ledger completed\) target=a database=postgres/);
    assert.deepEqual(await a.query('postgres', 'SELECT state FROM ddl_sync.applied WHERE file_key = $1 AND record_offset = $2', [key, at.offset]), [{ state: 'done' }]);
    await assertInStep(primary, a, b);
  });

  test('a statement whose in_flight entry committed but which never ran is run', async () => {
    primary.psql('crash', 'CREATE INDEX CONCURRENTLY base_a ON base (a);\n');
    await primary.waitForLog('base_a');
    const at = await positionOf('CREATE INDEX CONCURRENTLY base_a ON base (a);');
    const key = fingerprint(path.join(primary.logDir, at.file));
    await b.query('crash', "INSERT INTO ddl_sync.applied (source, file_key, record_offset, log_file, state, statement) VALUES ('crash-test', $1, $2, $3, 'in_flight', 'CREATE INDEX CONCURRENTLY base_a')", [key, at.offset, at.file]);
    const res = await cli(args());
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(await b.query('crash', "SELECT indexname FROM pg_indexes WHERE indexname = 'base_a'"), [{ indexname: 'base_a' }]);
    assert.deepEqual(await b.query('crash', "SELECT count(*)::int AS n FROM ddl_sync.applied WHERE state <> 'done'"), [{ n: 0 }]);
    await assertInStep(primary, a, b);
  });

  test('an index a cut-off CREATE INDEX CONCURRENTLY left INVALID on a target is made again', async () => {
    primary.psql('crash', 'CREATE TABLE dup (a int);\n');
    await primary.waitForLog('CREATE TABLE dup');
    assert.equal((await cli(args())).code, 0);
    // On a, a build that failed (a crash, a cancel, a deadlock) left an INVALID index of the name to come.
    a.psql('crash', 'INSERT INTO dup VALUES (1), (1);\nCREATE UNIQUE INDEX CONCURRENTLY dup_i ON dup (a);\nDELETE FROM dup;\n');
    assert.deepEqual(await a.query('crash', "SELECT indisvalid FROM pg_index WHERE indexrelid = 'dup_i'::regclass"), [{ indisvalid: false }]);
    primary.psql('crash', 'CREATE INDEX CONCURRENTLY dup_i ON dup (a);\n');
    await primary.waitForLog('CONCURRENTLY dup_i');
    const res = await cli(args());
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(await a.query('crash', "SELECT indisvalid FROM pg_index WHERE indexrelid = 'dup_i'::regclass"), [{ indisvalid: true }]);
    await assertInStep(primary, a, b);
  });

  test("the INVALID index dropped to make one again is the statement table's, not one of that name found first on the path", async () => {
    primary.psql('crash', 'CREATE SCHEMA s2;\nCREATE TABLE s2.dup2 (a int);\nCREATE TABLE public.other2 (a int);\n');
    await primary.waitForLog('other2');
    assert.equal((await cli(args())).code, 0);
    // On a: an INVALID dup2_i in public (first on the path) and one in s2, on the statement's table.
    for (const t of ['public.other2', 's2.dup2']) {
      a.psql('crash', `INSERT INTO ${t} VALUES (1), (1);\nCREATE UNIQUE INDEX CONCURRENTLY dup2_i ON ${t} (a);\nDELETE FROM ${t};\n`);
    }
    primary.psql('crash', 'CREATE INDEX CONCURRENTLY dup2_i ON s2.dup2 (a);\n');
    await primary.waitForLog('CONCURRENTLY dup2_i');
    const res = await cli(args());
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(
      await a.query('crash', "SELECT n.nspname AS s, i.indisvalid AS v FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = 'dup2_i' ORDER BY 1"),
      [{ s: 'public', v: false }, { s: 's2', v: true }],
    );
    await a.query('crash', 'DROP INDEX public.dup2_i');
    await assertInStep(primary, a, b);
  });

  test('appliers that do not share a lock (a replay beside a run, two state files) apply each statement once', async () => {
    const sql: string[] = [];
    for (let i = 0; i < 40; i++) sql.push(`CREATE TABLE race_${i} (a int);`, `ALTER TABLE race_${i} ADD COLUMN b int;`);
    for (let i = 0; i < 4; i++) sql.push(`CREATE INDEX CONCURRENTLY race_i${i} ON race_${i} (a);`);
    primary.psql('crash', `${sql.join('\n')}\n`);
    await primary.waitForLog('race_i3');
    const logs = ['run1', 'run2', 'replay'].map((n) => path.join(work, `race-${n}`));
    const targets = ['--target', `a=${a.syncUrl}`, '--target', `b=${b.syncUrl}`];
    const results = await Promise.all([
      cli([...args(), '--log-dir', logs[0]]),
      cli(['run', '--csvlog-dir', primary.logDir, ...targets, '--state-file', path.join(work, 'other.json'), '--log-dir', logs[1]]),
      cli(['replay', ...targets, '--log-dir', logs[2], ...primary.csvFiles()]),
    ]);
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    await assertInStep(primary, a, b);
    // Each statement was applied by exactly one of the three, to each target.
    for (const target of ['a', 'b']) {
      const applied = logs.flatMap((d) => readDir(d).split('\n')).filter((l) => l.includes(`applied target=${target} `) && /race_/.test(l));
      assert.equal(applied.length, sql.length, `${target}: ${applied.length} applications of ${sql.length} statements`);
    }
  });

  test(`${ROUNDS} runs killed with SIGKILL mid-work, then one clean run: every target in step`, async (t) => {
    let kills = 0;
    let finished = 0;
    let statements = 0;
    // How long an unkilled run takes here; kills are spread over that span, startup included.
    let typicalMs = 500;
    for (let round = 0; round < ROUNDS; round++) {
      const sql: string[] = [];
      for (let g = 0; g < GROUPS_PER_ROUND; g++) {
        const n = `r${round}_${g}`;
        sql.push(`CREATE TABLE t_${n} (a int);`, `ALTER TABLE t_${n} ADD COLUMN b int;`, `CREATE SEQUENCE s_${n};`);
      }
      sql.push(`CREATE INDEX CONCURRENTLY i_r${round} ON t_r${round}_0 (a);`);
      if (round > 0) sql.push(`DROP TABLE t_r${round - 1}_1;`);
      if (round % 8 === 3) sql.push(`CREATE SCHEMA sc_r${round};`);
      statements += sql.length;
      primary.psql('crash', `${sql.join('\n')}\n`);
      if (round % 8 === 5) {
        primary.psql('postgres', `CREATE DATABASE crash_r${round};\n`);
        statements++;
      }
      await primary.waitForLog(sql[sql.length - 1]);
      const killAfterMs = 100 + Math.floor(Math.random() * typicalMs * 1.2);
      const started = Date.now();
      const res = await cli(args(), { killAfterMs });
      if (res.signal === 'SIGKILL') kills++;
      else {
        assert.equal(res.code, 0, `round ${round}: a run that was not killed failed: ${res.stderr}`);
        finished++;
        typicalMs = Date.now() - started;
      }
      // The state file is always a whole version, old or new, never torn.
      if (fs.existsSync(stateFile)) loadState(stateFile);
    }
    const logged = readDir(toolLog).length;
    // At debug, so that its summary is logged even when the killed runs had done everything.
    const clean = await cli([...args(), '--log-level', 'debug']);
    assert.equal(clean.code, 0, clean.stderr);
    // The clean run did the work: it did not stop at a lock a killed run left.
    assert.match(readDir(toolLog).slice(logged), /run finished/);
    try {
      await assertInStep(primary, a, b);
    } catch (err) {
      // Keep what explains it: the tool's log of the last runs and the state they left.
      const kept = fs.mkdtempSync(path.join(os.tmpdir(), 'pgds-crash-failed-'));
      fs.cpSync(work, kept, { recursive: true });
      fs.cpSync(primary.logDir, path.join(kept, 'primary-csvlog'), { recursive: true });
      (err as Error).message += `\n(tool log, state and the primary's csvlog kept in ${kept})`;
      throw err;
    }
    for (const s of [a, b]) {
      for (const db of ['postgres', 'crash']) {
        const open = await s.query(db, "SELECT count(*)::int AS n FROM ddl_sync.applied WHERE state <> 'done'");
        assert.deepEqual(open, [{ n: 0 }], `in_flight rows left on ${s.name}/${db}`);
      }
    }
    const log = readDir(toolLog);
    const count = (re: RegExp) => (log.match(re) ?? []).length;
    t.diagnostic(
      `${statements} statements in ${ROUNDS} rounds; ${kills} runs killed, ${finished} finished; ` +
        `ledger ahead of state (skipped as already applied): ${count(/already applied \(found in the target ledger\)/g)}; ` +
        `in-flight statements completed after a kill: ${count(/had run before a crash/g)}; ` +
        `stale locks taken over: ${count(/took over the lock/g)}`,
    );
    assert.ok(kills >= ROUNDS / 4, `only ${kills} of ${ROUNDS} runs were killed: the kill window missed the work`);
  });
});
