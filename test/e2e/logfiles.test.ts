/**
 * The primary's log as it is in production: rotated under load, files deleted by a cleanup job, a
 * statement of several megabytes. Through the CLI, against real servers.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Cluster, makeTempDir, sleep, startPrimaryAndTargets } from '../helpers/cluster';
import { cli, lines } from '../helpers/cli';
import { assertInStep } from '../helpers/compare';

describe('log files: rotation, deletion, big statements', () => {
  let primary: Cluster;
  let a: Cluster;
  let work: string;
  let stateFile: string;

  const args = () => ['run', '--csvlog-dir', primary.logDir, '--target', `a=${a.syncUrl}`, '--state-file', stateFile, '--log-dir', path.join(work, 'log')];
  const status = async () => cli(['status', '--csvlog-dir', primary.logDir, '--target', `a=${a.syncUrl}`, '--state-file', stateFile, '--json']);

  before(async () => {
    work = makeTempDir('pgds-files-');
    stateFile = path.join(work, 'state.json');
    [primary, a] = await startPrimaryAndTargets(['a']);
  });

  after(async () => {
    await Promise.all([primary, a].map((c) => c?.destroy()));
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('a file rotated and deleted before it was read to its end: the gap is reported, status keeps it, skip --gaps clears it', async () => {
    primary.psql('postgres', 'CREATE TABLE before_gap (a int);\n');
    await primary.waitForLog('before_gap');
    assert.equal((await cli(args())).code, 0);
    primary.psql('postgres', 'CREATE TABLE in_gap (a int);\n');
    await primary.waitForLog('in_gap');
    const old = primary.csvFiles();
    await primary.query('postgres', 'SELECT pg_rotate_logfile()');
    // A new file: wait for it, and for the old one to have its last records.
    for (let i = 0; primary.csvFiles().length === old.length && i < 100; i++) await sleep(50);
    primary.psql('postgres', 'CREATE TABLE after_gap (a int);\n');
    await primary.waitForLog('after_gap');
    for (const f of old) fs.rmSync(f);
    const res = await cli(args());
    assert.equal(res.code, 1, res.stderr);
    assert.match(lines(res.stderr)[0], /^pg-ddl-sync: records may be lost from the log: postgresql-.*\.csv is gone; .*pg-ddl-sync skip --gaps$/);
    const rels = (await a.query<{ relname: string }>('postgres', "SELECT relname FROM pg_class WHERE relname LIKE '%gap'")).map((r) => r.relname).sort();
    assert.deepEqual(rels, ['after_gap', 'before_gap']);
    const st = await status();
    assert.equal(st.code, 1);
    assert.equal(JSON.parse(st.stdout).gaps.length, 1);
    const ack = await cli(['skip', '--gaps', '--yes', '--state-file', stateFile, '--reason', 'in_gap made by hand on a']);
    assert.equal(ack.code, 0, ack.stderr);
    a.psql('postgres', 'CREATE TABLE in_gap (a int);\n');
    const after = await status();
    assert.equal(after.code, 0, after.stdout);
    await assertInStep(primary, a);
  });

  test('rotation by size under a pgbench load while DDL runs and the CLI runs every second', async () => {
    await primary.query('postgres', "ALTER SYSTEM SET log_rotation_size = '1MB'");
    await primary.query('postgres', "ALTER SYSTEM SET log_statement = 'all'");
    await primary.query('postgres', 'SELECT pg_reload_conf()');
    const bench = ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres'];
    assert.equal(spawnSync('pgbench', [...bench, '-i', '-q', '-s', '1', 'postgres']).status, 0);
    const load = spawnSync('pgbench', [...bench, '-c', '2', '-T', '1', 'postgres']);
    assert.equal(load.status, 0, String(load.stderr));
    const filesBefore = primary.csvFiles().length;
    // pgbench for a while in the background; DDL beside it; a run each second.
    const { spawn } = await import('node:child_process');
    const running = spawn('pgbench', [...bench, '-c', '2', '-T', '12', 'postgres'], { stdio: 'ignore' });
    const done = new Promise((resolve) => running.on('exit', resolve));
    for (let i = 0; i < 10; i++) {
      primary.psql('postgres', `CREATE TABLE under_load_${i} (a int);\nALTER TABLE under_load_${i} ADD COLUMN b text;\n`);
      const res = await cli(args());
      assert.notEqual(res.code, 2, res.stderr);
      await sleep(1000);
    }
    await done;
    await primary.waitForLog('under_load_9 ADD COLUMN');
    const last = await cli(args());
    assert.equal(last.code, 0, last.stderr);
    assert.ok(primary.csvFiles().length > filesBefore + 2, `only ${primary.csvFiles().length - filesBefore} rotations`);
    // No run along the way found records gone before they were read.
    const st = await status();
    assert.equal(st.code, 0, st.stdout);
    assert.deepEqual(JSON.parse(st.stdout).gaps, []);
    await assertInStep(primary, a);
  });

  test('a statement of 5 MB is read and applied intact', async () => {
    const labels = Array.from({ length: 400_000 }, (_, i) => `'label_${i}'`).join(',');
    const sql = `CREATE TYPE huge_enum AS ENUM (${labels});`;
    assert.ok(sql.length > 5_000_000);
    primary.psql('postgres', `${sql}\n`);
    await primary.waitForLog('label_399999', 60_000);
    const res = await cli(args());
    assert.equal(res.code, 0, res.stderr);
    const count = await a.query<{ n: number }>('postgres', "SELECT count(*)::int AS n FROM pg_enum WHERE enumtypid = 'huge_enum'::regtype");
    assert.deepEqual(count, [{ n: 400_000 }]);
  });
});
