/**
 * The pipeline end to end: a real primary logging to csvlog, two real standbys, the workload through
 * psql and a driver, and the CLI run as a user runs it. Tests in this file build on each other, in order.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Cluster, makeTempDir, startPrimaryAndTargets } from '../helpers/cluster';
import { assertInStep } from '../helpers/compare';
import { cli, lines, readDir } from '../helpers/cli';
import { EXPECTED_COMMITTED, EXPECTED_FAILED_OBJECTS, WORKLOAD_DB, WORKLOAD_SECRET, assertListsCommitted, openSession, runWorkload } from '../helpers/workload';

// m1 and m2 came in one multi-statement string: one record, one unit, one ledger row.
const UNITS = EXPECTED_COMMITTED.length - 1;

describe('pipeline: primary and two standbys', () => {
  let primary: Cluster;
  let a: Cluster;
  let b: Cluster;
  let work: string;
  let stateFile: string;
  let toolLog: string;

  const args = (...extra: string[]) => [
    'run',
    '--csvlog-dir', primary.logDir,
    '--target', `a=${a.syncUrl}`,
    '--target', `b=${b.syncUrl}`,
    '--state-file', stateFile,
    '--log-dir', toolLog,
    '--log-prefix', 'sync',
    ...extra,
  ];

  async function tables(c: Cluster, db = WORKLOAD_DB): Promise<string[]> {
    const rows = await c.query<{ relname: string }>(db, "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace ORDER BY 1");
    return rows.map((r) => r.relname);
  }

  async function ledgerRows(c: Cluster, db: string): Promise<{ state: string; n: number }[]> {
    return c.query(db, 'SELECT state, count(*)::int AS n FROM ddl_sync.applied GROUP BY state ORDER BY state');
  }

  before(async () => {
    work = makeTempDir('pgds-e2e-');
    stateFile = path.join(work, 'state', 'sync.state.json');
    toolLog = path.join(work, 'log');
    [primary, a, b] = await startPrimaryAndTargets(['standby_a', 'standby_b']);
    await runWorkload(primary);
    await primary.waitForLog('ALTER TABLE emp ADD COLUMN dept text');
  });

  after(async () => {
    await Promise.all([primary, a, b].map((c) => c?.destroy()));
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('dry run lists the committed DDL per target, redacted, and changes nothing', async () => {
    const res = await cli(args('--dry-run'));
    assert.equal(res.code, 0, res.stderr);
    const out = res.stdout;
    for (const who of ['a', 'b']) assert.match(out, new RegExp(`^-- target ${who}: ${UNITS} statement\\(s\\)$`, 'm'));
    // Every committed statement, in log order, with its database and position.
    assertListsCommitted(out);
    assert.ok(!out.includes(WORKLOAD_SECRET) && !res.stderr.includes(WORKLOAD_SECRET));
    assert.ok(!fs.existsSync(stateFile), 'dry run wrote a state file');
    assert.deepEqual(await a.databases(), ['postgres']);
    assert.deepEqual(await a.query('postgres', "SELECT 1 FROM pg_namespace WHERE nspname = 'ddl_sync'"), []);
  });

  test('dry run without targets prints the statements once', async () => {
    const res = await cli(['run', '--dry-run', '--csvlog-dir', primary.logDir, '--state-file', stateFile]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, new RegExp(`^-- every target: ${UNITS} statement\\(s\\)$`, 'm'));
    assert.ok(!fs.existsSync(stateFile));
  });

  test('run applies exactly the committed DDL to both standbys, in the right databases', async () => {
    const res = await cli(args());
    assert.equal(res.code, 0, res.stderr);
    await assertInStep(primary, a, b);
    for (const s of [a, b]) {
      const t = await tables(s);
      for (const obj of EXPECTED_FAILED_OBJECTS) assert.ok(!t.includes(obj), `${obj} reached ${s.name}`);
      assert.ok(t.includes('employee') && t.includes('Ünïcødé tàblé') && t.includes('ext_named'), t.join(','));
      // The ledger holds one done row per statement, in the database it ran in.
      assert.deepEqual(await ledgerRows(s, 'postgres'), [{ state: 'done', n: 1 }]);
      assert.deepEqual(await ledgerRows(s, WORKLOAD_DB), [{ state: 'done', n: UNITS - 1 }]);
    }
    // The role was created with its password, which then never showed anywhere.
    const role = await a.query<{ ok: boolean }>('postgres', "SELECT rolpassword IS NOT NULL AS ok FROM pg_authid WHERE rolname = 'fx_role'");
    assert.deepEqual(role, [{ ok: true }]);
    const stateText = fs.readFileSync(stateFile, 'utf8');
    const logText = readDir(toolLog);
    for (const text of [res.stdout, res.stderr, stateText, logText]) assert.ok(!text.includes(WORKLOAD_SECRET));
    const ledgerText = JSON.stringify(await a.query(WORKLOAD_DB, 'SELECT statement FROM ddl_sync.applied'));
    assert.ok(!ledgerText.includes(WORKLOAD_SECRET) && ledgerText.includes('fx_role'));
    assert.equal(fs.statSync(stateFile).mode & 0o777, 0o600);
    assert.match(logText, /applied target=a database=fx_company/);
    assert.match(logText, new RegExp(`run finished .*applied\\[a\\]=${UNITS} applied\\[b\\]=${UNITS}`));
  });

  test('a second run finds nothing new and applies nothing: it logs its summary at debug only', async () => {
    const logged = readDir(toolLog).length;
    const res = await cli(args());
    assert.equal(res.code, 0, res.stderr);
    assert.equal(readDir(toolLog).slice(logged), '');
    const again = await cli(args('--log-level', 'debug'));
    assert.equal(again.code, 0, again.stderr);
    assert.match(readDir(toolLog).slice(logged), /debug run finished .*applied\[a\]=0 applied\[b\]=0/);
    assert.deepEqual(await ledgerRows(a, WORKLOAD_DB), [{ state: 'done', n: UNITS - 1 }]);
  });

  test('an open transaction holds back its DDL and all later DDL until it ends', async () => {
    const open = await openSession(primary, 'BEGIN');
    await open.query('CREATE TABLE pending_t (a int)');
    primary.psql(WORKLOAD_DB, 'CREATE TABLE after_pending (a int);\n');
    await primary.waitForLog('after_pending');
    const res = await cli(args());
    assert.equal(res.code, 0, res.stderr);
    assert.match(readDir(toolLog), /waiting for transactions still open .*count=2 held_back=2 /);
    for (const s of [a, b]) {
      const t = await tables(s);
      assert.ok(!t.includes('pending_t') && !t.includes('after_pending'), `${s.name}: ${t}`);
    }
    await open.query('COMMIT');
    await open.end();
    await primary.waitForLog('disconnection');
    const again = await cli(args());
    assert.equal(again.code, 0, again.stderr);
    await assertInStep(primary, a, b);
    assert.ok((await tables(b)).includes('pending_t'));
  });

  test('an open transaction that rolls back is dropped', async () => {
    const open = await openSession(primary, 'BEGIN');
    await open.query('CREATE TABLE rolled_back_t (a int)');
    await open.query('SELECT 1/0').catch(() => undefined);
    await open.query('ROLLBACK');
    await open.query('CREATE TABLE after_rollback (a int)');
    await open.end();
    await primary.waitForLog('after_rollback');
    const res = await cli(args());
    assert.equal(res.code, 0, res.stderr);
    const t = await tables(a);
    assert.ok(!t.includes('rolled_back_t') && t.includes('after_rollback'), t.join(','));
    await assertInStep(primary, a, b);
  });

  test('a target that is down does not hold the other back, and catches up later', async () => {
    await b.stop();
    primary.psql(WORKLOAD_DB, 'CREATE TABLE while_b_down (a int);\nCREATE SCHEMA while_b_down_s;\n');
    await primary.waitForLog('while_b_down_s');
    const res = await cli(args('--connect-timeout', '3'));
    assert.equal(res.code, 1);
    const errLines = lines(res.stderr);
    assert.equal(errLines.length, 1, res.stderr);
    assert.match(errLines[0], /^pg-ddl-sync: 1 of 2 target\(s\) failed .*: b is unreachable \(connect ECONNREFUSED/);
    assert.ok((await tables(a)).includes('while_b_down'));
    const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
    assert.ok(state.targets.b.failure && !state.targets.a.failure);
    await b.restart();
    const again = await cli(args());
    assert.equal(again.code, 0, again.stderr);
    await assertInStep(primary, a, b);
    assert.equal(JSON.parse(fs.readFileSync(stateFile, 'utf8')).targets.b.failure, undefined);
  });

  test('a statement that fails on one target stops that target there; the next run retries it', async () => {
    a.psql(WORKLOAD_DB, 'CREATE TABLE conflict_t (local_only int);\n');
    primary.psql(WORKLOAD_DB, 'CREATE TABLE conflict_t (a int);\nCREATE TABLE after_conflict (a int);\n');
    await primary.waitForLog('after_conflict');
    const res = await cli(args());
    assert.equal(res.code, 1);
    assert.equal(lines(res.stderr).length, 1, res.stderr);
    assert.match(res.stderr, /a stopped at .* \(42P07 relation "conflict_t" already exists\)/);
    assert.ok(!(await tables(a)).includes('after_conflict'), 'a went past the failing statement');
    assert.ok((await tables(b)).includes('after_conflict'));
    assert.match(readDir(toolLog), /statement failed on target; the target stays at it target=a/);
    const failure = JSON.parse(fs.readFileSync(stateFile, 'utf8')).targets.a.failure;
    assert.equal(failure.sqlState, '42P07');
    assert.equal(failure.statement, 'CREATE TABLE conflict_t (a int);');

    const still = await cli(args());
    assert.equal(still.code, 1, 'the retry fails the same way while the cause stays');
    assert.equal(JSON.parse(fs.readFileSync(stateFile, 'utf8')).targets.a.failure.since, failure.since);

    a.psql(WORKLOAD_DB, 'DROP TABLE conflict_t;\n');
    const fixed = await cli(args());
    assert.equal(fixed.code, 0, fixed.stderr);
    await assertInStep(primary, a, b);
  });

  test('two runs started at once both exit 0 and apply each statement once', async () => {
    const script = Array.from({ length: 40 }, (_, i) => `CREATE TABLE race_${i} (a int);\nALTER TABLE race_${i} ADD COLUMN b int;`).join('\n');
    primary.psql(WORKLOAD_DB, `${script}\n`);
    await primary.waitForLog('race_39 ADD COLUMN');
    const [r1, r2] = await Promise.all([cli(args()), cli(args())]);
    assert.equal(r1.code, 0, r1.stderr);
    assert.equal(r2.code, 0, r2.stderr);
    // Whichever run was second either found the lock or found nothing left: nothing ran twice.
    const last = await cli(args());
    assert.equal(last.code, 0, last.stderr);
    await assertInStep(primary, a, b);
    const dup = await a.query(WORKLOAD_DB, "SELECT record_offset FROM ddl_sync.applied WHERE statement LIKE '%race_%' GROUP BY 1 HAVING count(*) > 1");
    assert.deepEqual(dup, []);
  });

  test('replay re-reads old files into a new standby; a second replay applies nothing', async () => {
    const c = await Cluster.start({ name: 'standby_c' });
    try {
      const files = primary.csvFiles();
      const dry = await cli(['replay', '--dry-run', ...files]);
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, /^-- every target: \d+ statement\(s\)$/m);
      assert.ok(dry.stdout.includes('CREATE TABLE after_conflict (a int);'));
      assert.ok(!dry.stdout.includes(WORKLOAD_SECRET));
      const res = await cli(['replay', '--target', `c=${c.syncUrl}`, '--log-dir', toolLog, ...files]);
      assert.equal(res.code, 0, res.stderr);
      await assertInStep(primary, c);
      const rows = await c.query<{ n: number }>(WORKLOAD_DB, 'SELECT count(*)::int AS n FROM ddl_sync.applied');
      const again = await cli(['replay', '--target', `c=${c.syncUrl}`, ...files]);
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(await c.query(WORKLOAD_DB, 'SELECT count(*)::int AS n FROM ddl_sync.applied'), rows);
      await assertInStep(primary, c);
      // The ledger knows the files by content, not by source name: what `run` applied to a is skipped.
      const before = await a.query(WORKLOAD_DB, 'SELECT count(*)::int AS n FROM ddl_sync.applied');
      const onA = await cli(['replay', '--target', `a=${a.syncUrl}`, ...files]);
      assert.equal(onA.code, 0, onA.stderr);
      assert.deepEqual(await a.query(WORKLOAD_DB, 'SELECT count(*)::int AS n FROM ddl_sync.applied'), before);
      await assertInStep(primary, a);
    } finally {
      await c.destroy();
    }
  });
});
