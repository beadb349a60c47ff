/**
 * What the tool runs as the sync user (a superuser) stays the tool's own: a login role of a target
 * cannot get a function or operator of its own called by the tool's queries, nor make the ledger's
 * schema first; DDL of the primary that names the ledger's schema is never sent.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Cluster, makeTempDir, startPrimaryAndTargets } from '../helpers/cluster';
import { cli } from '../helpers/cli';

/**
 * SQL that a role runs on a target to have the sync user run its code: `pgds_trap()`, called by any
 * of the functions and operators below, makes the role a superuser when a superuser calls it.
 */
const TRAP = (role: string): string => `
  CREATE FUNCTION public.pgds_trap() RETURNS void LANGUAGE plpgsql AS $$
  BEGIN
    IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) current_user) THEN
      ALTER ROLE ${role} SUPERUSER;
    END IF;
  END $$;
  CREATE FUNCTION public.pg_try_advisory_lock(text, integer) RETURNS boolean LANGUAGE plpgsql AS $$
    BEGIN PERFORM public.pgds_trap(); RETURN true; END $$;
  CREATE FUNCTION public.pg_advisory_unlock(text, integer) RETURNS boolean LANGUAGE plpgsql AS $$
    BEGIN PERFORM public.pgds_trap(); RETURN true; END $$;`;

/** More of the trap: the operators and functions the tool's queries use, found first along search_path. */
const OPERATOR_TRAP = `
  CREATE FUNCTION public.pgds_texteq(text, text) RETURNS boolean LANGUAGE plpgsql AS $$
    BEGIN PERFORM public.pgds_trap(); RETURN pg_catalog.texteq($1, $2); END $$;
  CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.pgds_texteq);
  CREATE FUNCTION public.pgds_nameeq(name, name) RETURNS boolean LANGUAGE plpgsql AS $$
    BEGIN PERFORM public.pgds_trap(); RETURN pg_catalog.nameeq($1, $2); END $$;
  CREATE OPERATOR public.= (LEFTARG = name, RIGHTARG = name, FUNCTION = public.pgds_nameeq);
  CREATE FUNCTION public.pgds_int8ge(int8, int8) RETURNS boolean LANGUAGE plpgsql AS $$
    BEGIN PERFORM public.pgds_trap(); RETURN pg_catalog.int8ge($1, $2); END $$;
  CREATE OPERATOR public.>= (LEFTARG = int8, RIGHTARG = int8, FUNCTION = public.pgds_int8ge);
  CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE plpgsql AS $$
    BEGIN PERFORM public.pgds_trap(); RETURN pg_catalog.now(); END $$;
  CREATE FUNCTION public.hashtext(text) RETURNS integer LANGUAGE plpgsql AS $$
    BEGIN PERFORM public.pgds_trap(); RETURN pg_catalog.hashtext($1); END $$;`;

describe('the sync user runs only its own code', () => {
  let primary: Cluster;
  let a: Cluster;
  let work: string;

  const url = (database: string): string => a.syncUrl.replace(/\/postgres$/, `/${database}`);
  const run = (...extra: string[]) =>
    cli(['run', '--csvlog-dir', primary.logDir, '--state-file', path.join(work, 'a.state.json'), '--target', `a=${a.syncUrl}`, ...extra]);
  const as = (cluster: Cluster, role: string, database: string, sql: string): void => {
    const res = cluster.psql(database, sql, ['-U', role, '-v', 'ON_ERROR_STOP=1']);
    assert.equal(res.stderr, '', `as ${role} on ${cluster.name}: ${res.stderr}`);
  };
  const isSuperuser = async (role: string): Promise<boolean> =>
    (await a.query<{ su: boolean }>('postgres', `SELECT rolsuper AS su FROM pg_roles WHERE rolname = '${role}'`))[0].su;
  /** DDL on the primary, then a run; the run's result. */
  const ddlThenRun = async (role: string, database: string, sql: string, last: string) => {
    as(primary, role, database, sql);
    await primary.waitForLog(last);
    return run();
  };

  before(async () => {
    work = makeTempDir('pgds-trust-');
    [primary, a] = await startPrimaryAndTargets(['a']);
    // Each role owns a database, and so its schema public: as an application's role often does.
    as(
      primary,
      'postgres',
      'postgres',
      `CREATE ROLE alice LOGIN;
       CREATE ROLE bob LOGIN;
       CREATE ROLE carol LOGIN;
       CREATE DATABASE app_a OWNER alice;
       CREATE DATABASE app_b OWNER bob;
       CREATE DATABASE app_c OWNER carol;`,
    );
    await primary.waitForLog('CREATE DATABASE app_c');
    const res = await run();
    assert.equal(res.code, 0, res.stderr);
  });

  after(async () => {
    await Promise.all([primary, a].map((c) => c?.destroy()));
  });

  test("a role's pg_try_advisory_lock(text, integer) is not the one the position lock calls", async () => {
    as(a, 'alice', 'app_a', TRAP('alice'));
    // CREATE INDEX CONCURRENTLY runs alone: the tool holds the position's advisory lock meanwhile.
    const res = await ddlThenRun('alice', 'app_a', 'CREATE TABLE t (a int);\nCREATE INDEX CONCURRENTLY t_a ON t (a);', 'CREATE INDEX CONCURRENTLY t_a');
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(await a.query('app_a', "SELECT 1 AS one FROM pg_class WHERE relname = 't_a'"), [{ one: 1 }]);
    assert.equal(await isSuperuser('alice'), false, 'alice became a superuser: the sync user ran her function');
  });

  test('functions and operators a role puts first on search_path are never the tool\'s', async () => {
    // Bob owns app_b: he may set its search_path, and puts public before pg_catalog.
    as(a, 'bob', 'app_b', `ALTER DATABASE app_b SET search_path = public, pg_catalog;\n${TRAP('bob')}\n${OPERATOR_TRAP}`);
    const res = await ddlThenRun('bob', 'app_b', 'CREATE TABLE t (a int);\nCREATE INDEX CONCURRENTLY t_a ON t (a);\nCREATE TABLE u (a int);', 'CREATE TABLE u');
    assert.equal(res.code, 0, res.stderr);
    assert.equal(await isSuperuser('bob'), false, 'bob became a superuser: the sync user ran his code while applying');
    // The ledger, made in app_b under that search_path, is bound to pg_catalog's operators and now().
    const defs = a.psql('app_b', `SET search_path = pg_catalog;
      SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'ddl_sync.applied'::regclass AND contype = 'c';
      SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = 'ddl_sync.applied'::regclass;`, ['-At']);
    assert.doesNotMatch(defs.stdout, /public/, defs.stdout);

    // check and verify, connected to app_b, keep to pg_catalog as well.
    const check = await cli(['check', '--csvlog-dir', primary.logDir, '--state-file', path.join(work, 'a.state.json'), '--target', `a=${url('app_b')}`]);
    assert.match(check.stdout + check.stderr, /connected as ddl_syncer \(superuser\) to app_b/);
    const verify = await cli(['verify', '--source', primary.url, '--target', `a=${url('app_b')}`, '--database', 'app_b']);
    assert.ok(verify.code === 0 || verify.code === 1, verify.stderr);
    assert.equal(await isSuperuser('bob'), false, 'bob became a superuser: check or verify ran his code');
  });

  test('DDL of the primary that names schema ddl_sync is left out, with a warning, and the rest goes on', async () => {
    // Alice's app_a has the tool's ledger on the target: sent, her CREATE SCHEMA would stop it there.
    const res = await ddlThenRun(
      'alice',
      'app_a',
      `CREATE SCHEMA ddl_sync;
       CREATE TABLE ddl_sync.applied_too (a int);
       GRANT USAGE ON SCHEMA ddl_sync TO PUBLIC;
       CREATE TABLE after_ledger (a int);`,
      'CREATE TABLE after_ledger',
    );
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /warn +not sent: this CREATE SCHEMA names schema ddl_sync, where pg-ddl-sync keeps its ledger on every target database=app_a at=postgresql-\S+\.csv:\d+/);
    assert.match(res.stderr, /not sent: this CREATE TABLE names schema ddl_sync/);
    assert.match(res.stderr, /not sent: this GRANT names schema ddl_sync/);
    assert.match(res.stderr, /run finished .*not_sent_ledger_schema=3/);
    assert.deepEqual(await a.query('app_a', "SELECT relname FROM pg_class WHERE relname IN ('after_ledger', 'applied_too') ORDER BY 1"), [{ relname: 'after_ledger' }]);
    assert.deepEqual(await a.query('app_a', "SELECT pg_get_userbyid(nspowner) AS owner, nspacl IS NULL AS no_grants FROM pg_namespace WHERE nspname = 'ddl_sync'"), [
      { owner: 'ddl_syncer', no_grants: true },
    ]);
  });

  test('a ledger schema another role made on a target first makes the tool refuse that target', async () => {
    // Carol made it in app_c on the target before the tool first wrote there.
    as(a, 'carol', 'app_c', 'CREATE SCHEMA ddl_sync;');
    const res = await ddlThenRun('carol', 'app_c', 'CREATE TABLE c_t (a int);', 'CREATE TABLE c_t');
    assert.equal(res.code, 1, res.stderr);
    const refused = res.stderr.split('\n').filter((l) => /a stopped at/.test(l));
    assert.equal(refused.length, 1, res.stderr);
    assert.match(refused[0], /a stopped at \S+ in database app_c \(schema ddl_sync is owned by role carol, not by ddl_syncer, the role the tool connects as: pg-ddl-sync keeps its ledger there and will not write into objects another role controls; look at who made it, drop it, and run again\)/);
    // Nothing was written into carol's schema, nothing applied.
    assert.deepEqual(await a.query('app_c', "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'ddl_sync' OR c.relname = 'c_t'"), []);

    // The DBA drops it: the tool makes its own and goes on.
    a.psql('app_c', 'DROP SCHEMA ddl_sync;');
    const again = await run();
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(await a.query('app_c', "SELECT pg_get_userbyid(c.relowner) AS owner FROM pg_class c WHERE c.oid = 'ddl_sync.applied'::regclass"), [{ owner: 'ddl_syncer' }]);
    assert.deepEqual(await a.query('app_c', "SELECT 1 AS one FROM pg_class WHERE relname = 'c_t'"), [{ one: 1 }]);
  });
});
