/**
 * One connection of the tool's runs the statements of many roles, one after another: nothing one
 * role's statement leaves in the session (a setting), nor a check made before a role lost its rights,
 * may reach another's. And an adoption never counts as applied a transaction still open before it.
 * (Found by a review that played the attacker, on the README's set-up: a superuser sync role.)
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from 'pg';
import { Cluster, makeTempDir, startPrimaryAndTargets } from '../helpers/cluster';
import { cli } from '../helpers/cli';

describe("a role's statement steers nothing of another's on the same connection", () => {
  let primary: Cluster;
  let a: Cluster;
  let b: Cluster;
  let work: string;

  const superuserOn = async (c: Cluster, role: string): Promise<boolean> =>
    (await c.query<{ su: boolean }>('postgres', 'SELECT rolsuper AS su FROM pg_catalog.pg_roles WHERE rolname = $1', [role]))[0].su;
  const as = (role: string, sql: string): void => {
    const res = primary.psql('app', sql, ['-U', role, '-v', 'ON_ERROR_STOP=1']);
    assert.equal(res.stderr, '', `as ${role}: ${res.stderr}`);
  };

  before(async () => {
    work = makeTempDir('pgds-sessions-');
    [primary, a, b] = await startPrimaryAndTargets(['a', 'b']);
    primary.psql('postgres', 'CREATE DATABASE app;\nCREATE ROLE mallory LOGIN;\nCREATE ROLE bob LOGIN SUPERUSER;\n');
    primary.psql('app', 'CREATE SCHEMA mal AUTHORIZATION mallory;\nGRANT CREATE ON SCHEMA public TO bob;\n');
    await primary.waitForLog('GRANT CREATE ON SCHEMA public TO bob');
  });

  after(async () => {
    await Promise.all([primary, a, b].map((c) => c?.destroy()));
  });

  test('--apply-as sync checks a role after the statements before it, not before the batch', async () => {
    as('bob', 'CREATE TABLE bob_t1 (a int);');
    primary.psql('app', 'ALTER ROLE bob NOSUPERUSER;\n');
    as('bob', "CREATE FUNCTION public.evil() RETURNS void LANGUAGE sql SECURITY DEFINER AS 'ALTER ROLE bob SUPERUSER';");
    await primary.waitForLog('public.evil');
    const res = await cli(['run', '--csvlog-dir', primary.logDir, '--state-file', path.join(work, 'b.json'), '--target', `b=${b.syncUrl}`, '--apply-as', 'sync']);
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /--apply-as sync would run what role "bob" ran on the primary as the sync user ddl_syncer, a superuser here/);
    const evil = await b.query('app', "SELECT 1 FROM pg_catalog.pg_proc WHERE proname = 'evil'");
    assert.equal(evil.length, 0, 'no function of bob belongs to the superuser sync user');
    assert.equal(await superuserOn(b, 'bob'), false);
  });

  test("a search_path one role's CREATE TABLE AS set for the session is gone before the next statement", async () => {
    as('mallory', "CREATE FUNCTION mal.lower(text) RETURNS text LANGUAGE plpgsql AS $f$ BEGIN IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN EXECUTE 'ALTER ROLE mallory SUPERUSER'; END IF; RETURN pg_catalog.lower($1); END $f$;");
    as('mallory', "CREATE TABLE mal.x AS SELECT pg_catalog.set_config('search_path', 'mal, pg_catalog, public', false) AS v;");
    primary.psql('app', "CREATE TABLE public.dba_t AS SELECT lower('ABC') AS v;\n");
    await primary.waitForLog('dba_t');
    const res = await cli(['run', '--csvlog-dir', primary.logDir, '--state-file', path.join(work, 'a.json'), '--target', `a=${a.syncUrl}`]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(await superuserOn(a, 'mallory'), false, "mallory's function never ran as a superuser");
    assert.equal(await superuserOn(primary, 'mallory'), false);
  });

  test('adopt refuses a point before which a DDL transaction is still open', async () => {
    const open = new Client({ host: '127.0.0.1', port: primary.port, user: 'postgres', database: 'app', password: '' });
    await open.connect();
    try {
      await open.query('BEGIN');
      await open.query('CREATE TABLE hidden_t (a int)');
      await primary.waitForLog('hidden_t');
      const res = await cli(['adopt', '--csvlog-dir', primary.logDir, '--state-file', path.join(work, 'adopt.json'), '--target', `a=${a.syncUrl}`, '--from', 'now']);
      assert.equal(res.code, 2, res.stderr);
      assert.match(res.stderr, /a DDL transaction was still open on the primary at .*hidden_t|still open on the primary at /);
    } finally {
      await open.query('ROLLBACK').catch(() => undefined);
      await open.end();
    }
  });

  test("code a role's replayed statement runs cannot take the sync user's role back", async () => {
    primary.psql('postgres', 'CREATE ROLE alice LOGIN;\n');
    primary.psql('app', 'CREATE SCHEMA a AUTHORIZATION alice;\n');
    // On the primary, run by alice, it does nothing; run for her by a superuser session, it would.
    as('alice', `CREATE FUNCTION a.f() RETURNS int LANGUAGE plpgsql AS $f$ BEGIN
      IF session_user <> 'alice' THEN PERFORM pg_catalog.set_config('role', 'postgres', true); EXECUTE 'ALTER ROLE alice SUPERUSER'; END IF;
      RETURN 1; END $f$;`);
    as('alice', 'CREATE TABLE a.t AS SELECT a.f() AS x;');
    await primary.waitForLog('a.t AS SELECT');
    const res = await cli(['run', '--csvlog-dir', primary.logDir, '--state-file', path.join(work, 'a.json'), '--target', `a=${a.syncUrl}`]);
    assert.equal(await superuserOn(a, 'alice'), false, 'alice gained nothing on the target');
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /cannot set parameter "role" within security-definer function/);
  });

  test('a role whose statements ran through its guard can be dropped in the same run', async () => {
    primary.psql('postgres', 'CREATE ROLE carol LOGIN;\nCREATE DATABASE app2;\n');
    primary.psql('app2', 'CREATE SCHEMA c AUTHORIZATION carol;\n');
    const carol = primary.psql('app2', 'CREATE TABLE c.t (a int);', ['-U', 'carol', '-v', 'ON_ERROR_STOP=1']);
    assert.equal(carol.stderr, '');
    primary.psql('app2', 'DROP OWNED BY carol;\n');
    primary.psql('postgres', 'DROP ROLE carol;\n');
    await primary.waitForLog('DROP ROLE carol');
    // Only these two databases: what the cases before left in app is theirs.
    const res = await cli(['run', '--csvlog-dir', primary.logDir, '--state-file', path.join(work, 'drop.json'), '--target', `b=${b.syncUrl}`, '--include-database', 'postgres', '--include-database', 'app2']);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(await b.query('postgres', "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'carol'"), []);
  });
});
