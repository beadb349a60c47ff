/**
 * Statements on whole databases (DROP, RENAME, CREATE … TEMPLATE) reach the targets although the tool
 * itself is connected to them, and a state file older than the targets (a run killed after applying,
 * before saving) never makes a target apply anything twice, even in a database that is gone since.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Cluster, makeTempDir, startPrimaryAndTargets } from '../helpers/cluster';
import { cli, readDir } from '../helpers/cli';
import { assertInStep } from '../helpers/compare';

describe('whole databases, and a state file that lags behind the targets', () => {
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
  const count = (re: RegExp) => (readDir(toolLog).match(re) ?? []).length;

  before(async () => {
    work = makeTempDir('pgds-db-');
    stateFile = path.join(work, 'state.json');
    toolLog = path.join(work, 'log');
    [primary, a, b] = await startPrimaryAndTargets(['a', 'b']);
    primary.psql('postgres', 'CREATE DATABASE db_keep;\n');
    primary.psql('db_keep', 'CREATE TABLE kept (a int);\n');
    await primary.waitForLog('CREATE TABLE kept');
    const first = await cli(args());
    assert.equal(first.code, 0, first.stderr);
  });

  after(async () => {
    await Promise.all([primary, a, b].map((c) => c?.destroy()));
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('DROP, RENAME and CREATE … TEMPLATE of databases the tool was connected to', async () => {
    primary.psql('postgres', 'CREATE DATABASE db_drop;\nCREATE DATABASE "Db Old";\n');
    primary.psql('db_drop', 'CREATE TABLE in_dropped (a int);\n');
    primary.psql('Db Old', 'CREATE TABLE moved (a int);\n');
    primary.psql('db_keep', 'CREATE TABLE in_template (a int);\n');
    primary.psql('postgres', 'DROP DATABASE db_drop;\nALTER DATABASE "Db Old" RENAME TO db_new;\nCREATE DATABASE db_copy TEMPLATE db_keep;\n');
    primary.psql('db_new', 'CREATE TABLE after_rename (a int);\n');
    primary.psql('db_copy', 'CREATE TABLE in_copy (a int);\n');
    await primary.waitForLog('in_copy');
    const saved = fs.readFileSync(stateFile);
    const res = await cli(args());
    assert.equal(res.code, 0, res.stderr);
    await assertInStep(primary, a, b);
    assert.deepEqual(await a.databases(), ['db_copy', 'db_keep', 'db_new', 'postgres']);

    // The same run again from the old state: as if the last run died before it saved its state.
    fs.writeFileSync(stateFile, saved);
    const again = await cli(args());
    assert.equal(again.code, 0, again.stderr);
    await assertInStep(primary, a, b);
    // Ten statements for each target: in_dropped and moved, whose databases are gone, and eight found
    // in the ledgers.
    assert.equal(count(/already applied \(its database was dropped or renamed later/g), 2 * 2);
    assert.equal(count(/already applied \(found in the target ledger\)/g), 2 * 8);
    assert.match(readDir(toolLog), /run finished .*applied\[a\]=0 applied\[b\]=0/);
  });

  test('a database dropped and made again: what ran in the old one never lands in the new one', async () => {
    primary.psql('postgres', 'CREATE DATABASE db_again;\n');
    primary.psql('db_again', 'CREATE TABLE t_old (a int);\n');
    primary.psql('postgres', 'DROP DATABASE db_again;\nCREATE DATABASE db_again;\n');
    primary.psql('db_again', 'CREATE TABLE t_new (a int);\n');
    await primary.waitForLog('t_new');
    const saved = fs.readFileSync(stateFile);
    assert.equal((await cli(args())).code, 0);
    // The state lags behind the targets: the old database's statement must not go to the new one.
    fs.writeFileSync(stateFile, saved);
    const res = await cli(args());
    assert.equal(res.code, 0, res.stderr);
    await assertInStep(primary, a, b);
    assert.deepEqual(await a.query('db_again', "SELECT relname FROM pg_class WHERE relname LIKE 't\\_%' ORDER BY 1"), [{ relname: 't_new' }]);
  });

  test('a database that is missing on a target for no reason the log shows stops that target', async () => {
    primary.psql('postgres', 'CREATE DATABASE db_lost;\n');
    primary.psql('db_lost', 'CREATE TABLE t (a int);\n');
    await primary.waitForLog('CREATE TABLE t (a int)');
    const saved = fs.readFileSync(stateFile);
    assert.equal((await cli(args())).code, 0);
    // Someone drops it on b by hand, and the state file lags: b cannot prove CREATE TABLE t ran.
    b.psql('postgres', 'DROP DATABASE db_lost;\n');
    fs.writeFileSync(stateFile, saved);
    const res = await cli(args());
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /^pg-ddl-sync: 1 of 2 target\(s\) failed .*: b stopped at .* in database db_lost \(3D000 database "db_lost" does not exist\)$/m);
  });
});
