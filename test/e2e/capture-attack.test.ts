/**
 * What a role that is no superuser on the primary can make the targets run through the capture
 * helper's records (log_statement = 'ddl'): the values its records carry are the role's own, and are
 * sent to targets where the sync user is a superuser.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Cluster, makeTempDir, startPrimaryAndTargets } from '../helpers/cluster';
import { cli, readDir } from '../helpers/cli';
import { Client } from 'pg';
import { as, installCapture } from '../helpers/capture';

/** Runs sql as postgres in a session that logs nothing: set-up no run may send. */
async function quietly(c: Cluster, sql: string, database = 'postgres'): Promise<void> {
  const client = new Client({ host: '127.0.0.1', port: c.port, user: 'postgres', database, password: '', options: '-c log_statement=none -c session_replication_role=replica' });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

describe('capture records carry values a role chose', () => {
  let primary: Cluster;
  let a: Cluster;
  let work: string;
  let toolLog: string;

  const run = async (marker: string) => {
    await primary.waitForLog(marker);
    const res = await cli([
      'run', '--csvlog-dir', primary.logDir, '--target', `a=${a.syncUrl}`, '--state-file', path.join(work, 'state.json'),
      '--log-dir', toolLog, '--source', primary.syncUrl,
    ]);
    return { ...res, log: readDir(toolLog) };
  };

  before(async () => {
    work = makeTempDir('pgds-capture-attack-');
    toolLog = path.join(work, 'log');
    [primary, a] = await startPrimaryAndTargets(['a'], 'ddl');
    await installCapture(primary);
    // mallory is a plain role on both, as the DBA made it.
    for (const c of [primary, a]) await quietly(c, 'CREATE ROLE mallory LOGIN; GRANT CREATE ON SCHEMA public TO mallory');
  });

  after(async () => {
    await Promise.all([primary, a].map((c) => c?.destroy()));
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('a search_path set with set_config() runs none of its text as SQL on a target', async () => {
    // set_config() stores the text as given; the server checks only that it splits into names, and a
    // name without quotes may hold ';' and '/**/'.
    await as(
      primary,
      'mallory',
      'postgres',
      "SELECT set_config('search_path', 'public,x;RESET/**/ROLE;CREATE/**/ROLE/**/pwned/**/SUPERUSER/**/LOGIN', false); CREATE TABLE mal_path (a int)",
    );
    const res = await run('mal_path');
    const pwned = await a.query<{ n: string }>('postgres', "SELECT count(*) AS n FROM pg_roles WHERE rolname = 'pwned'");
    assert.deepEqual(pwned, [{ n: '0' }], `${res.stderr}\n${res.log}`);
    const owner = await a.query<{ o: string }>('postgres', "SELECT tableowner AS o FROM pg_tables WHERE tablename = 'mal_path'");
    assert.deepEqual(owner, [{ o: 'mallory' }], `${res.stderr}\n${res.log}`);
  });

  test('a setting changed between two DDL commands of one query string is not lost', async () => {
    await quietly(primary, 'CREATE SCHEMA mal_s AUTHORIZATION mallory');
    await quietly(a, 'CREATE SCHEMA mal_s AUTHORIZATION mallory');
    // One statement record, two capture records: the second with another search_path.
    await as(primary, 'mallory', 'postgres', "CREATE TABLE mal_a (a int); SELECT set_config('search_path', 'mal_s', false); CREATE TABLE mal_b (a int)");
    const res = await run('mal_b');
    const where = await primary.query<{ s: string }>('postgres', "SELECT schemaname AS s FROM pg_tables WHERE tablename = 'mal_b'");
    assert.deepEqual(where, [{ s: 'mal_s' }]);
    const there = await a.query<{ s: string }>('postgres', "SELECT schemaname AS s FROM pg_tables WHERE tablename = 'mal_b'");
    // As on the primary, or not at all (the target stops, saying why): never elsewhere.
    assert.ok(there.length === 0 || there[0].s === 'mal_s', `mal_b is in ${there[0]?.s} on the target\n${res.stderr}\n${res.log}`);
    if (there.length === 0) assert.match(res.stderr, /ran with different roles or settings/);
  });

  // The judge has the proof (the same virtual xid as a capture whose transaction aborted) and does not
  // use it: a statement with no capture record of its own is judged as without the helper.
  test('a statement no event trigger sees, in a transaction that rolled back, is not sent', async () => {
    await quietly(primary, 'CREATE ROLE mal_victim');
    await quietly(a, 'CREATE ROLE mal_victim');
    await quietly(primary, 'ALTER ROLE mallory CREATEROLE');
    await quietly(a, 'ALTER ROLE mallory CREATEROLE');
    // The CREATE TABLE's capture record proves the transaction rolled back; the DROP ROLE has none.
    // Each its own query, as psql sends them: under 'ddl' the log shows neither BEGIN nor ROLLBACK.
    const mallory = new Client({ host: '127.0.0.1', port: primary.port, user: 'mallory', database: 'postgres', password: '' });
    await mallory.connect();
    try {
      for (const sql of ['BEGIN', 'CREATE TABLE mal_rb (a int)', 'DROP ROLE mal_victim', 'ROLLBACK']) await mallory.query(sql);
    } finally {
      await mallory.end();
    }
    await as(primary, 'mallory', 'postgres', 'CREATE TABLE mal_rb_after (a int)');
    const res = await run('mal_rb_after');
    const role = await a.query<{ n: string }>('postgres', "SELECT count(*) AS n FROM pg_roles WHERE rolname = 'mal_victim'");
    assert.deepEqual(role, [{ n: '1' }], `${res.stderr}\n${res.log}`);
  });

  test('install writes neither its key nor its DDL to a log that samples transactions', async () => {
    await quietly(primary, 'ALTER SYSTEM SET log_transaction_sample_rate = 1');
    await quietly(primary, 'SELECT pg_reload_conf()');
    try {
      const res = await cli(['capture', 'install', '--source', primary.url]);
      assert.equal(res.code, 0, res.stderr);
      const [{ key }] = await primary.query<{ key: string }>('postgres', 'SELECT key FROM ddl_sync_capture.key');
      await as(primary, 'postgres', 'postgres', 'CREATE TABLE after_sampled_install ()');
      await primary.waitForLog('after_sampled_install');
      const logged = primary.csvFiles().map((f) => fs.readFileSync(f, 'utf8')).join('');
      assert.ok(!logged.includes(key), 'the key is in the log');
      assert.ok(!logged.includes('CREATE EVENT TRIGGER'), 'the install is in the log');
    } finally {
      await quietly(primary, 'ALTER SYSTEM RESET log_transaction_sample_rate');
      await quietly(primary, 'SELECT pg_reload_conf()');
    }
  });
});
