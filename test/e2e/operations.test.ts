/**
 * Running it unattended: status, skip, check, filters and a database mapping, --data-dir, the JSON
 * log and the metrics file, through the CLI as a DBA runs them.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Status } from '../../src/commands/status';
import { Cluster, makeTempDir, startPrimaryAndTargets } from '../helpers/cluster';
import { cli, lines, readDir } from '../helpers/cli';
import { assertInStep } from '../helpers/compare';

describe('operations: status, skip, check, filters', () => {
  let primary: Cluster;
  let a: Cluster;
  let b: Cluster;
  let c: Cluster;
  let work: string;
  let config: string;
  let stateFile: string;
  let toolLog: string;
  let metrics: string;

  const run = (...extra: string[]) => cli(['run', '-c', config, ...extra]);
  const statusJson = async (): Promise<{ code: number | null; status: Status }> => {
    const res = await cli(['status', '-c', config, '--json']);
    return { code: res.code, status: JSON.parse(res.stdout) as Status };
  };

  before(async () => {
    work = makeTempDir('pgds-ops-');
    stateFile = path.join(work, 'state.json');
    toolLog = path.join(work, 'log');
    metrics = path.join(work, 'pg_ddl_sync.prom');
    [primary, a, b, c] = await startPrimaryAndTargets(['a', 'b', 'c']);
    c.psql('postgres', 'CREATE DATABASE company_c;\n');
    config = path.join(work, 'pg-ddl-sync.json');
    fs.writeFileSync(
      config,
      JSON.stringify({
        csvlogDir: primary.logDir,
        stateFile,
        logDir: toolLog,
        logFormat: 'json',
        metricsFile: metrics,
        targets: [
          `a=${a.syncUrl}`,
          `b=${b.syncUrl}`,
          {
            name: 'c',
            url: c.syncUrl,
            excludeCommands: ['CREATE ROLE', 'CREATE DATABASE'],
            excludeDatabases: ['scratch'],
            excludeMatching: ['^COMMENT ON TABLE emp IS .secret'],
            databaseMap: { company: 'company_c' },
          },
        ],
      }),
    );
  });

  after(async () => {
    await Promise.all([primary, a, b, c].map((x) => x?.destroy()));
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('filters and a database mapping shape what one target takes', async () => {
    primary.psql('postgres', 'CREATE DATABASE company;\nCREATE DATABASE scratch;\nCREATE ROLE ops_role;\n');
    primary.psql('company', "CREATE TABLE emp (id int);\nCOMMENT ON TABLE emp IS 'secret note';\nCREATE INDEX emp_id ON emp (id);\n");
    primary.psql('scratch', 'CREATE TABLE s (a int);\n');
    await primary.waitForLog('CREATE TABLE s (a int)');
    const res = await run();
    assert.equal(res.code, 0, res.stderr);
    await assertInStep(primary, a, b);
    assert.deepEqual(await c.databases(), ['company_c', 'postgres']);
    assert.deepEqual(await c.query('company_c', "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace ORDER BY 1"), [{ relname: 'emp' }, { relname: 'emp_id' }]);
    assert.deepEqual(await c.query('company_c', "SELECT obj_description('emp'::regclass) AS d"), [{ d: null }]);
    assert.deepEqual(await c.query('postgres', "SELECT 1 FROM pg_roles WHERE rolname = 'ops_role'"), []);
    // One JSON object a line, the summary with the filtered count.
    const logged = readDir(toolLog).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const finished = logged.find((l) => l.message === 'run finished');
    assert.ok(finished && finished['filtered[c]'] === 5 && finished['applied[c]'] === 2, JSON.stringify(finished));
  });

  test('a statement that fails on one target: status shows it, skip moves it on', async () => {
    b.psql('company', 'CREATE TABLE only_on_b (a int);\n');
    primary.psql('company', 'CREATE TABLE only_on_b (a int, b text);\nCREATE TABLE after_skip (a int);\n');
    await primary.waitForLog('after_skip');
    const res = await run();
    assert.equal(res.code, 1);
    assert.match(res.stderr, /b stopped at .* \(42P07 relation "only_on_b" already exists\)/);

    const { code, status } = await statusJson();
    assert.equal(code, 1);
    const byName = Object.fromEntries(status.targets.map((t) => [t.name, t]));
    assert.equal(byName.a.state, 'caught-up');
    assert.equal(byName.c.state, 'caught-up');
    assert.equal(byName.b.state, 'stuck');
    assert.equal(byName.b.pending, 2);
    assert.ok(byName.b.behindBytes > 0);
    assert.equal(byName.b.failure?.statement, 'CREATE TABLE only_on_b (a int, b text);');
    assert.equal(byName.b.failure?.sqlState, '42P07');
    assert.match(byName.b.failure?.since ?? '', /^\d{4}-\d\d-\d\dT/);
    assert.match(byName.a.lastApplied?.at ?? '', /^postgresql-.*\.csv:\d+$/);
    const human = await cli(['status', '-c', config]);
    assert.match(human.stdout, /^b is stuck since .* in database company:$/m);
    assert.match(human.stdout, /pg-ddl-sync skip --stopped-target b/);

    // Metrics after that run: b stuck with 2 pending, a not.
    const prom = fs.readFileSync(metrics, 'utf8');
    assert.match(prom, /^pg_ddl_sync_target_stuck\{target="b"\} 1$/m);
    assert.match(prom, /^pg_ddl_sync_target_pending_statements\{target="b"\} 2$/m);
    assert.match(prom, /^pg_ddl_sync_target_stuck\{target="a"\} 0$/m);

    const skipped = await cli(['skip', '-c', config, '--target', 'b', '--yes', '--reason', 'made by hand on b']);
    assert.equal(skipped.code, 0, skipped.stderr);
    assert.match(skipped.stdout, /CREATE TABLE only_on_b \(a int, b text\);/);
    const kept = fs.readFileSync(`${stateFile}.skipped.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(kept.length, 1);
    assert.equal(kept[0].statement, 'CREATE TABLE only_on_b (a int, b text);');
    assert.equal(kept[0].reason, 'made by hand on b');
    assert.equal(kept[0].target, 'b');

    const again = await run();
    assert.equal(again.code, 0, again.stderr);
    assert.ok((await b.query('company', "SELECT 1 FROM pg_class WHERE relname = 'after_skip'")).length === 1);
    const after = await statusJson();
    assert.equal(after.code, 0);
    assert.ok(after.status.targets.every((t) => t.state === 'caught-up'), JSON.stringify(after.status.targets));
  });

  test('a target busy with a lock: the run does not wait past the lock timeout, the others go on', async () => {
    const holder = await b.connect('company');
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE emp IN ACCESS SHARE MODE');
    try {
      primary.psql('company', 'ALTER TABLE emp ADD COLUMN busy int;\n');
      await primary.waitForLog('ADD COLUMN busy');
      const started = Date.now();
      const res = await run('--lock-timeout', '1', '--lock-retries', '0');
      const ms = Date.now() - started;
      assert.equal(res.code, 1, res.stderr);
      assert.match(res.stderr, /b stopped at .* \(55P03 waiting for a lock on emp, held by pid \d+ .*; gave way 1 time\(s\) after 1 s each; the next run tries again\)/);
      assert.ok(ms < 8000, `the run took ${ms} ms`);
      assert.deepEqual(await a.query('company', "SELECT 1 AS x FROM pg_attribute WHERE attrelid = 'emp'::regclass AND attname = 'busy'"), [{ x: 1 }]);
      const { status } = await statusJson();
      assert.equal(status.targets.find((t) => t.name === 'a')?.state, 'caught-up');
    } finally {
      await holder.query('COMMIT');
      await holder.end();
    }
    const again = await run();
    assert.equal(again.code, 0, again.stderr);
  });

  test('skipping nothing is an error', async () => {
    const res = await cli(['skip', '-c', config, '--target', 'a', '--yes']);
    assert.equal(res.code, 2);
    assert.deepEqual(lines(res.stderr), ['pg-ddl-sync: target a is not stopped at a statement: there is nothing to skip']);
    const unknown = await cli(['skip', '-c', config, '--target', 'zz', '--yes']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /target zz is not in the state file/);
  });

  test("check: all is well here but log_statement = 'ddl'; a primary without csvlog and a target that is down are found", async () => {
    const good = await cli(['check', '-c', config, '--source', primary.url]);
    // 'ddl' cannot show a block's ROLLBACK: the one warning, with its cost.
    assert.equal(good.code, 1, good.stdout + good.stderr);
    assert.deepEqual(good.stdout.split('\n').filter((l) => /^(warning|error)/.test(l)).map((l) => l.split(':')[0]), ['warning log_statement']);
    assert.match(good.stdout, /^ok {6}logging_collector: on/m);
    assert.match(good.stdout, /^ok {6}target c: connected as ddl_syncer \(superuser\) to postgres/m);
    assert.match(good.stdout, /1 finding\(s\) to look at\n$/);

    const plain = await Cluster.start({ name: 'plain' });
    try {
      await b.stop();
      const bad = await cli(['check', '--data-dir', plain.dataDir, '--target', `b=${b.syncUrl}`, '--state-file', path.join(work, 'check.json'), '--connect-timeout', '2']);
      assert.equal(bad.code, 1, bad.stdout + bad.stderr);
      assert.match(bad.stdout, /^error {3}logging_collector: is off: no csvlog is written/m);
      assert.match(bad.stdout, /^error {3}log_destination: is 'stderr', without csvlog/m);
      assert.match(bad.stdout, /^error {3}log_statement: is 'none'/m);
      assert.match(bad.stdout, /^error {3}target b: cannot connect/m);
    } finally {
      await b.restart();
      await plain.destroy();
    }
  });

  test('--data-dir alone finds the csvlog directory and the primary', async () => {
    const own = path.join(work, 'datadir.json');
    primary.psql('postgres', 'CREATE TABLE by_data_dir (a int);\n');
    await primary.waitForLog('by_data_dir');
    const res = await cli(['run', '--data-dir', primary.dataDir, '--target', `d=${a.syncUrl}`, '--state-file', own, '--dry-run'], { env: { PGUSER: 'postgres' } });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /CREATE TABLE by_data_dir \(a int\);/);
    const checked = await cli(['check', '--data-dir', primary.dataDir, '--target', `d=${a.syncUrl}`, '--state-file', own], { env: { PGUSER: 'postgres' } });
    assert.match(checked.stdout, /^warning log_statement: 'ddl' \(read from the primary \(--source\)\): BEGIN, COMMIT and ROLLBACK are not logged/m);
  });
});
