/**
 * Targets that behave like the primary: objects owned by the role that made them there (logged in as
 * it, or through SET ROLE / SET SESSION AUTHORIZATION), grants made by those roles; and a statement
 * that meets a lock on a busy target gives way instead of stalling its sessions.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Status } from '../../src/commands/status';
import { Cluster, SYNC_USER, makeTempDir, sleep, startPrimaryAndTargets } from '../helpers/cluster';
import { cli } from '../helpers/cli';

const DB = 'shop';

/** Who owns each object of the database, by kind and name (the tool's schema left out). */
const OWNERS_SQL = `
  SELECT 'schema ' || nspname AS object, pg_get_userbyid(nspowner) AS owner FROM pg_namespace
   WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'ddl_sync', 'public') AND nspname NOT LIKE 'pg\\_to%' AND nspname NOT LIKE 'pg\\_temp%'
  UNION ALL
  SELECT c.relkind::text || ' ' || n.nspname || '.' || c.relname, pg_get_userbyid(c.relowner) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'ddl_sync') AND n.nspname NOT LIKE 'pg\\_to%'
  UNION ALL
  SELECT 'function ' || n.nspname || '.' || p.proname, pg_get_userbyid(p.proowner) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'ddl_sync')
  ORDER BY 1`;

describe('apply as the original role', () => {
  let primary: Cluster;
  let a: Cluster;
  let b: Cluster;
  let work: string;

  const run = (target: Cluster, name: string, ...extra: string[]) =>
    cli(['run', '--csvlog-dir', primary.logDir, '--state-file', path.join(work, `${name}.state.json`), '--target', `${name}=${target.syncUrl}`, ...extra]);
  const as = (role: string, sql: string, database = DB): void => {
    const res = primary.psql(database, sql, ['-U', role, '-v', 'ON_ERROR_STOP=1']);
    assert.equal(res.stderr, '', `as ${role}: ${res.stderr}`);
  };

  before(async () => {
    work = makeTempDir('pgds-owners-');
    // 'all': the sessions' own SET ROLE and SET SESSION AUTHORIZATION are in the log.
    [primary, a, b] = await startPrimaryAndTargets(['a', 'b'], 'all');
    as(
      'postgres',
      `CREATE ROLE app_owner LOGIN;
       CREATE ROLE other_owner LOGIN;
       GRANT other_owner TO app_owner;
       CREATE DATABASE ${DB};`,
      'postgres',
    );
  });

  after(async () => {
    await Promise.all([primary, a, b].map((c) => c?.destroy()));
  });

  test('objects keep their owners and grants; SET ROLE and SET SESSION AUTHORIZATION are honoured', async (t) => {
    as('postgres', 'GRANT CREATE ON DATABASE shop TO app_owner, other_owner;\nGRANT CREATE ON SCHEMA public TO app_owner, other_owner;\n');
    as(
      'app_owner',
      `CREATE SCHEMA app_s;
       CREATE TABLE app_s.orders (id int PRIMARY KEY, note text);
       CREATE SEQUENCE app_s.order_no;
       CREATE VIEW app_s.open_orders AS SELECT id FROM app_s.orders;
       CREATE FUNCTION app_s.add1(i int) RETURNS int LANGUAGE sql AS 'SELECT i + 1';
       GRANT USAGE ON SCHEMA app_s TO other_owner;
       GRANT SELECT, INSERT ON app_s.orders TO other_owner;
       GRANT EXECUTE ON FUNCTION app_s.add1(int) TO other_owner;
       REVOKE EXECUTE ON FUNCTION app_s.add1(int) FROM PUBLIC;
       SET ROLE other_owner;
       CREATE TABLE public.made_through_set_role (a int);
       RESET ROLE;
       CREATE TABLE public.app_after_reset (a int);`,
    );
    as(
      'other_owner',
      `CREATE TABLE other_t (a int);
       CREATE VIEW other_v AS SELECT a FROM other_t;
       CREATE SEQUENCE other_seq;
       CREATE FUNCTION other_f() RETURNS int LANGUAGE sql AS 'SELECT 1';
       GRANT SELECT ON other_t TO app_owner;`,
    );
    as(
      'postgres',
      `SET ROLE app_owner;
       CREATE TABLE public.super_as_app (a int);
       RESET ROLE;
       SET SESSION AUTHORIZATION other_owner;
       CREATE SEQUENCE public.seq_by_authorization;
       RESET SESSION AUTHORIZATION;
       CREATE TABLE public.super_own (a int);`,
    );
    await primary.waitForLog('CREATE TABLE public.super_own');

    const res = await run(a, 'a');
    assert.equal(res.code, 0, res.stderr);
    const dumpPrimary = primary.schemaDump(DB, true);
    const dumpA = a.schemaDump(DB, true);
    assert.equal(dumpA, dumpPrimary, 'pg_dump --schema-only with owners and privileges');
    const owners = await a.query<{ object: string; owner: string }>(DB, OWNERS_SQL);
    assert.deepEqual(owners, await primary.query(DB, OWNERS_SQL));
    const ownerOf = Object.fromEntries(owners.map((o) => [o.object, o.owner]));
    assert.equal(ownerOf['r app_s.orders'], 'app_owner');
    assert.equal(ownerOf['schema app_s'], 'app_owner');
    assert.equal(ownerOf['r public.made_through_set_role'], 'other_owner');
    assert.equal(ownerOf['r public.app_after_reset'], 'app_owner');
    assert.equal(ownerOf['r public.super_as_app'], 'app_owner');
    assert.equal(ownerOf['S public.seq_by_authorization'], 'other_owner');
    assert.equal(ownerOf['r public.super_own'], 'postgres');
    t.diagnostic(`owners on the target, as on the primary: ${owners.map((o) => `${o.object}=${o.owner}`).join(', ')}`);
    t.diagnostic(`pg_dump --schema-only with owners and privileges: ${dumpA.split('\n').length} lines, equal`);

    // The application, connected to the target as the owner, can change what it owns there.
    const alter = a.psql(DB, 'ALTER TABLE app_s.orders ADD COLUMN app_can int; ALTER TABLE app_s.orders DROP COLUMN app_can;', ['-U', 'app_owner', '-v', 'ON_ERROR_STOP=1']);
    assert.equal(alter.stderr, '');
  });

  test('--apply-as sync makes everything the sync user\'s, once the roles may have a superuser\'s rights', async () => {
    // Run as the superuser sync user, what app_owner wrote would have a superuser's rights: refused
    // until the DBA says the roles may have them.
    const refused = await run(b, 'b', '--apply-as', 'sync');
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /--apply-as sync would run what role "app_owner" ran on the primary as the sync user ddl_syncer, a superuser here/);
    b.psql('postgres', 'ALTER ROLE app_owner SUPERUSER; ALTER ROLE other_owner SUPERUSER;');
    const res = await run(b, 'b', '--apply-as', 'sync');
    assert.equal(res.code, 0, res.stderr);
    const owners = await b.query<{ object: string; owner: string }>(DB, OWNERS_SQL);
    assert.ok(owners.length > 10, JSON.stringify(owners));
    // Roles a session took itself (SET ROLE / SET SESSION AUTHORIZATION, carried) are still honoured.
    const notSync = owners.filter((o) => o.owner !== SYNC_USER).map((o) => o.object).sort();
    assert.deepEqual(notSync, ['S public.seq_by_authorization', 'r public.made_through_set_role', 'r public.super_as_app']);
  });

  test('a role the target lacks stops the target with a clear error; it never runs as someone else', async () => {
    // Made on the primary where no log shows it (inside a DO block): the target never gets it.
    as('postgres', "DO $$ BEGIN CREATE ROLE ghost LOGIN; EXECUTE 'GRANT CREATE ON SCHEMA public TO ghost'; END $$;");
    as('ghost', 'CREATE TABLE ghost_t (a int);');
    await primary.waitForLog('CREATE TABLE ghost_t');
    const res = await run(a, 'a');
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /a stopped at .* \(22023 cannot run it as role "ghost", which ran it on the primary: role "ghost" does not exist \(the sync user ddl_syncer must be a superuser or a member of that role; or run with --apply-as sync\)\)/);
    assert.deepEqual(await a.query(DB, "SELECT 1 FROM pg_class WHERE relname = 'ghost_t'"), []);
    const status = await cli(['status', '--csvlog-dir', primary.logDir, '--state-file', path.join(work, 'a.state.json'), '--target', `a=${a.syncUrl}`, '--json']);
    assert.equal(status.code, 1);
    const target = (JSON.parse(status.stdout) as Status).targets[0];
    assert.equal(target.state, 'stuck');
    assert.match(target.failure?.error ?? '', /cannot run it as role "ghost"/);

    // The DBA makes the role on the target: the next run applies it, as ghost.
    a.psql(DB, 'CREATE ROLE ghost LOGIN; GRANT CREATE ON SCHEMA public TO ghost;');
    const again = await run(a, 'a');
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(await a.query(DB, "SELECT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relname = 'ghost_t'"), [{ owner: 'ghost' }]);
  });
});

describe('roles and settings changed inside one logged record', () => {
  let primary: Cluster;
  let original: Cluster;
  let sync: Cluster;
  let work: string;

  const run = (target: Cluster, name: string, ...extra: string[]) =>
    cli(['run', '--csvlog-dir', primary.logDir, '--state-file', path.join(work, `${name}.state.json`), '--target', `${name}=${target.syncUrl}`, ...extra]);
  /** Each `-c` is one query, so one record of the log (log_statement = 'all'); one session for them all. */
  const records = (role: string, ...sql: string[]): void => {
    const res = primary.psql(DB, '', ['-U', role, '-v', 'ON_ERROR_STOP=1', ...sql.flatMap((q) => ['-c', q])]);
    assert.equal(res.stderr, '', `as ${role}: ${res.stderr}`);
  };

  before(async () => {
    work = makeTempDir('pgds-one-record-');
    [primary, original, sync] = await startPrimaryAndTargets(['original', 'sync'], 'all');
    primary.psql(
      'postgres',
      `CREATE ROLE app_owner LOGIN;
       CREATE ROLE other_owner LOGIN;
       GRANT other_owner TO app_owner;
       CREATE DATABASE ${DB};`,
    );
    primary.psql(DB, 'GRANT CREATE ON DATABASE shop TO app_owner, other_owner;\nGRANT CREATE ON SCHEMA public TO app_owner, other_owner;\n');
    records('app_owner', 'CREATE SCHEMA app_s', 'CREATE TABLE app_s.orders (id int)', 'GRANT USAGE, CREATE ON SCHEMA app_s TO other_owner', 'GRANT SELECT ON app_s.orders TO other_owner');
  });

  after(async () => {
    await Promise.all([primary, original, sync].map((c) => c?.destroy()));
  });

  test('a RESET between statements of one record puts back what it puts back on the primary', async (t) => {
    records('app_owner', 'SET ROLE other_owner; CREATE TABLE ms_a (a int); RESET ROLE; CREATE TABLE ms_b (a int);');
    records('app_owner', 'SET ROLE other_owner; CREATE TABLE mn_a (a int); SET ROLE NONE; CREATE TABLE mn_b (a int);');
    records('app_owner', 'SET LOCAL ROLE other_owner; CREATE TABLE ml_a (a int); RESET ROLE; CREATE TABLE ml_b (a int);');
    records('postgres', 'SET SESSION AUTHORIZATION app_owner; CREATE TABLE ssa_a (); RESET SESSION AUTHORIZATION; CREATE TABLE ssa_b ();');
    records('postgres', 'SET SESSION AUTHORIZATION app_owner; CREATE TABLE ssd_a (); SET SESSION AUTHORIZATION DEFAULT; CREATE TABLE ssd_b ();');
    // RESET ROLE under a SESSION AUTHORIZATION goes back to that user, set in this record or an earlier one.
    records('postgres', 'SET SESSION AUTHORIZATION app_owner; SET ROLE other_owner; CREATE TABLE sr_a (); RESET ROLE; CREATE TABLE sr_b ();');
    records('postgres', 'SET SESSION AUTHORIZATION app_owner', 'SET ROLE other_owner; CREATE TABLE es_a (); RESET ROLE; CREATE TABLE es_b ();');
    // Run as other_owner (who may select but not grant), the GRANT would only warn ("no privileges were
    // granted") and the ACL differ.
    records('app_owner', 'SET ROLE other_owner; CREATE TABLE rr1 (); RESET ROLE; GRANT SELECT ON app_s.orders TO PUBLIC;');
    records('app_owner', 'SET search_path = app_s; CREATE TABLE sp_a (); RESET search_path; CREATE TABLE sp_b ();');
    records('app_owner', 'SET search_path = app_s; CREATE TABLE sd_a (); SET search_path TO DEFAULT; CREATE TABLE sd_b ();');
    // RESET ALL leaves the role alone; a SET after a SET LOCAL of the same setting overrides it.
    records('app_owner', 'SET search_path = app_s; SET ROLE other_owner; CREATE TABLE ra_a (); RESET ALL; CREATE TABLE ra_b ();');
    records('app_owner', 'SET LOCAL search_path = app_s; RESET search_path; CREATE TABLE slr ();');
    records('app_owner', 'BEGIN; SET LOCAL ROLE other_owner; SET ROLE NONE;', 'CREATE TABLE bl_a (); COMMIT;');
    records('app_owner', 'CREATE TABLE last_one ()');
    await primary.waitForLog('CREATE TABLE last_one');

    const ownersOn = async (c: Cluster): Promise<string[]> => (await c.query<{ object: string; owner: string }>(DB, OWNERS_SQL)).map((o) => `${o.object}=${o.owner}`);
    const primaryOwners = await ownersOn(primary);
    const onPrimary = Object.fromEntries(primaryOwners.map((o) => o.split('=')));
    // What the primary did, to be sure the cases are what they say.
    assert.deepEqual(
      ['r public.ms_b', 'r public.mn_b', 'r public.ml_b', 'r public.ssa_b', 'r public.ssd_b', 'r public.sr_b', 'r public.es_b', 'r public.sp_b', 'r public.sd_b', 'r public.ra_b', 'r public.slr', 'r public.bl_a'].map(
        (o) => onPrimary[o],
      ),
      ['app_owner', 'app_owner', 'app_owner', 'postgres', 'postgres', 'app_owner', 'app_owner', 'app_owner', 'app_owner', 'other_owner', 'app_owner', 'app_owner'],
    );

    const res = await run(original, 'original');
    assert.equal(res.code, 0, res.stderr);
    assert.doesNotMatch(res.stderr, /no privileges were granted/);
    assert.deepEqual(await ownersOn(original), primaryOwners);
    const dump = original.schemaDump(DB, true);
    assert.equal(dump, primary.schemaDump(DB, true), 'pg_dump --schema-only with owners and privileges');
    t.diagnostic(`--apply-as original: owners of ${primaryOwners.length} objects and pg_dump --schema-only with owners and privileges (${dump.split('\n').length} lines) equal to the primary's`);

    // As the sync user, a reset goes back to the sync user; what a session took itself stays.
    const refused = await run(sync, 'sync', '--apply-as', 'sync');
    assert.equal(refused.code, 1, refused.stderr);
    sync.psql('postgres', 'ALTER ROLE app_owner SUPERUSER; ALTER ROLE other_owner SUPERUSER;');
    const bySync = await run(sync, 'sync', '--apply-as', 'sync');
    assert.equal(bySync.code, 0, bySync.stderr);
    const onSync = await ownersOn(sync);
    const notSync = onSync.filter((o) => !o.endsWith(`=${SYNC_USER}`)).sort();
    assert.deepEqual(notSync, [
      'r app_s.ra_a=other_owner',
      'r public.es_a=other_owner',
      'r public.es_b=app_owner',
      'r public.ml_a=other_owner',
      'r public.mn_a=other_owner',
      'r public.ms_a=other_owner',
      'r public.ra_b=other_owner',
      'r public.rr1=other_owner',
      'r public.sr_a=other_owner',
      'r public.sr_b=app_owner',
      'r public.ssa_a=app_owner',
      'r public.ssd_a=app_owner',
    ]);
    assert.deepEqual(
      onSync.filter((o) => / app_s\./.test(o)).map((o) => o.split('=')[0]).sort(),
      ['r app_s.orders', 'r app_s.ra_a', 'r app_s.sd_a', 'r app_s.sp_a'],
    );
  });
});

describe('lock-safe apply', () => {
  let primary: Cluster;
  let target: Cluster;
  let work: string;
  let config: string;

  before(async () => {
    work = makeTempDir('pgds-locks-');
    [primary, target] = await startPrimaryAndTargets(['busy']);
    config = path.join(work, 'pg-ddl-sync.json');
    fs.writeFileSync(
      config,
      JSON.stringify({ csvlogDir: primary.logDir, stateFile: path.join(work, 'state.json'), targets: [`busy=${target.syncUrl}`], lockTimeout: 1, lockRetries: 2 }),
    );
    primary.psql('postgres', 'CREATE TABLE accounts (id int PRIMARY KEY);\n');
    await primary.waitForLog('CREATE TABLE accounts');
    const first = await cli(['run', '-c', config]);
    assert.equal(first.code, 0, first.stderr);
    await target.query('postgres', 'INSERT INTO accounts SELECT generate_series(1, 1000)');
  });

  after(async () => {
    await Promise.all([primary, target].map((c) => c?.destroy()));
  });

  test('a held lock: other sessions wait no longer than the lock timeout, status says what is waited for, the next run applies it', async (t) => {
    const holder = await target.connect();
    await holder.query('BEGIN');
    await holder.query('SELECT count(*) FROM accounts');
    const holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const reader = await target.connect();
    try {
      primary.psql('postgres', 'ALTER TABLE accounts ADD COLUMN balance numeric;\n');
      await primary.waitForLog('ADD COLUMN balance');

      // An application's reads of the table while the run tries: each waits at most for one lock timeout.
      let running = true;
      const latencies: number[] = [];
      const reads = (async () => {
        while (running) {
          const t0 = Date.now();
          await reader.query('SELECT count(*) FROM accounts');
          latencies.push(Date.now() - t0);
          await sleep(50);
        }
      })();
      const started = Date.now();
      const metrics = path.join(work, 'metrics.prom');
      const res = await cli(['run', '-c', config, '--metrics-file', metrics]);
      const runMs = Date.now() - started;
      running = false;
      await reads;

      assert.equal(res.code, 1, res.stderr);
      const tries = res.stderr.split('\n').filter((l) => l.includes('statement gave way on a lock; trying again'));
      assert.equal(tries.length, 2, res.stderr);
      assert.match(res.stderr, new RegExp(`busy stopped at .* \\(55P03 waiting for a lock on accounts, held by pid ${holderPid} \\(user postgres, .*idle in transaction, transaction open \\d+ s; AccessShareLock\\)(, pid \\d+ \\([^)]*\\))*; gave way 3 time\\(s\\) after 1 s each; the next run tries again\\)`));
      const worst = Math.max(...latencies);
      t.diagnostic(`run: ${runMs} ms, 3 tries of 1 s; ${latencies.length} reads of the table meanwhile, the slowest ${worst} ms`);
      assert.ok(latencies.length >= 10, `only ${latencies.length} reads`);
      assert.ok(worst < 1000 + 600, `a read waited ${worst} ms behind the replayed statement (lock timeout 1 s)`);
      // 1 s + 1 s wait + 1 s + 2 s wait + 1 s.
      assert.ok(runMs >= 5500, `the run took ${runMs} ms: it did not wait between tries`);

      const status = await cli(['status', '-c', config, '--json']);
      assert.equal(status.code, 1);
      const busy = (JSON.parse(status.stdout) as Status).targets[0];
      assert.equal(busy.state, 'waiting-for-lock');
      assert.match(busy.failure?.error ?? '', /^waiting for a lock on accounts, held by pid \d+/);
      const human = await cli(['status', '-c', config]);
      assert.match(human.stdout, /^busy +waiting-for-lock +1 /m);
      assert.match(human.stdout, /^busy is waiting for a lock since .* in database postgres:$/m);
      assert.match(human.stdout, /^ {4}if the lock stays, end the session that holds it on busy$/m);
      // Stopped, whatever the reason: an alert on stuck sees a lock that never goes.
      const prom = fs.readFileSync(metrics, 'utf8');
      assert.match(prom, /^pg_ddl_sync_target_waiting_for_lock\{target="busy"\} 1$/m);
      assert.match(prom, /^pg_ddl_sync_target_stuck\{target="busy"\} 1$/m);
    } finally {
      await holder.query('COMMIT');
      await holder.end();
      await reader.end();
    }
    const again = await cli(['run', '-c', config]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(await target.query('postgres', "SELECT 1 AS x FROM pg_attribute WHERE attrelid = 'accounts'::regclass AND attname = 'balance'"), [{ x: 1 }]);
    const status = await cli(['status', '-c', config, '--json']);
    assert.equal(status.code, 0);
    assert.equal((JSON.parse(status.stdout) as Status).targets[0].state, 'caught-up');
  });

  test('the statements of one transaction wait for their locks no longer than the lock timeout together', async (t) => {
    primary.psql('postgres', 'CREATE TABLE u_t (a int);\nCREATE TABLE t_t (a int);\nCREATE TABLE w_t (a int);\n');
    await primary.waitForLog('CREATE TABLE w_t');
    const made = await cli(['run', '-c', config]);
    assert.equal(made.code, 0, made.stderr);
    const lockTimeoutMs = 2000;

    /**
     * One record, one transaction, that takes u_t at once, then waits for t_t, whose holder lets it go
     * 1.2 s into the wait, then for w_t, held all along. The slowest read of u_t meanwhile.
     */
    const stall = async (column: string, before: string): Promise<number> => {
      if (before) primary.psql('postgres', `${before}\n`);
      primary.psql('postgres', '', ['-c', ['u_t', 't_t', 'w_t'].map((table) => `ALTER TABLE ${table} ADD COLUMN ${column} int;`).join(' ')]);
      await primary.waitForLog(`ALTER TABLE w_t ADD COLUMN ${column}`);
      const [holderT, holderW, reader, watcher] = await Promise.all([1, 2, 3, 4].map(() => target.connect()));
      try {
        for (const [c, table] of [[holderT, 't_t'], [holderW, 'w_t']] as const) {
          await c.query('BEGIN');
          await c.query(`SELECT count(*) FROM ${table}`);
        }
        let running = true;
        const latencies: number[] = [];
        const reads = (async () => {
          while (running) {
            const t0 = Date.now();
            await reader.query('SELECT count(*) FROM u_t');
            latencies.push(Date.now() - t0);
            await sleep(20);
          }
        })();
        const releaseT = (async () => {
          while ((await watcher.query("SELECT 1 FROM pg_locks WHERE NOT granted AND relation = 't_t'::regclass")).rows.length === 0) await sleep(20);
          await sleep(1200);
          await holderT.query('COMMIT');
        })();
        const res = await cli(['run', '-c', config, '--lock-timeout', String(lockTimeoutMs / 1000), '--lock-retries', '0']);
        running = false;
        await Promise.all([reads, releaseT]);
        assert.equal(res.code, 1, res.stderr);
        assert.match(res.stderr, /55P03 waiting for a lock on w_t, held by pid \d+ .*; gave way 1 time\(s\) after 2 s each/);
        assert.ok(latencies.length >= 10, `only ${latencies.length} reads`);
        return Math.max(...latencies);
      } finally {
        await holderT.query('COMMIT').catch(() => undefined);
        await holderW.query('COMMIT');
        await Promise.all([holderT, holderW, reader, watcher].map((c) => c.end()));
        const again = await cli(['run', '-c', config]);
        assert.equal(again.code, 0, again.stderr);
      }
    };

    const alone = await stall('b', '');
    // After another statement, in one round trip with it: each transaction of the batch has its own budget.
    const batched = await stall('c', 'CREATE TABLE z_t (a int);');
    t.diagnostic(`lock timeout ${lockTimeoutMs} ms, the lock on t_t let go 1.2 s into the wait: the slowest read of u_t ${alone} ms (alone), ${batched} ms (in a batch)`);
    for (const worst of [alone, batched]) {
      assert.ok(worst < lockTimeoutMs + 400, `a read of u_t waited ${worst} ms behind the replayed transaction (lock timeout ${lockTimeoutMs} ms)`);
    }
    const columns = await target.query<{ c: string }>(
      'postgres',
      "SELECT attrelid::regclass::text || '.' || attname AS c FROM pg_attribute WHERE attname IN ('b', 'c') AND attrelid IN ('u_t'::regclass, 't_t'::regclass, 'w_t'::regclass) ORDER BY 1",
    );
    assert.deepEqual(columns.map((r) => r.c), ['t_t.b', 't_t.c', 'u_t.b', 'u_t.c', 'w_t.b', 'w_t.c']);
    assert.deepEqual(await target.query('postgres', "SELECT to_regclass('z_t')::text AS z"), [{ z: 'z_t' }]);
  });

  test('--lock-timeout 0 and --statement-timeout 0 are no limit, whatever the target sets', async () => {
    await target.query('postgres', "ALTER DATABASE postgres SET lock_timeout = '500ms'");
    await target.query('postgres', "ALTER DATABASE postgres SET statement_timeout = '700ms'");
    const holder = await target.connect();
    let release: Promise<unknown> = Promise.resolve();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT count(*) FROM accounts');
      primary.psql('postgres', 'ALTER TABLE accounts ADD COLUMN waited int;\n');
      await primary.waitForLog('ADD COLUMN waited');
      // Held longer than the database's lock and statement timeouts: the run waits it out.
      release = sleep(1500).then(() => holder.query('COMMIT'));
      const res = await cli(['run', '-c', config, '--lock-timeout', '0', '--statement-timeout', '0', '--lock-retries', '0']);
      assert.equal(res.code, 0, res.stderr);
    } finally {
      await release.catch(() => undefined);
      await holder.end();
      await target.query('postgres', 'ALTER DATABASE postgres RESET ALL');
    }
    assert.deepEqual(await target.query('postgres', "SELECT 1 AS x FROM pg_attribute WHERE attrelid = 'accounts'::regclass AND attname = 'waited'"), [{ x: 1 }]);
  });

  test('a statement cut off by --statement-timeout in a batch is reported, not run a second time', async () => {
    primary.psql('postgres', 'CREATE SEQUENCE tries;\n');
    await primary.waitForLog('CREATE SEQUENCE tries');
    assert.equal((await cli(['run', '-c', config])).code, 0);
    // nextval is not undone by the rollback: it counts the times the statement ran on the target.
    primary.psql('postgres', "CREATE TABLE before_slow ();\nCREATE TABLE slow AS SELECT nextval('tries') AS n, pg_sleep(1.5)::text AS slept;\n");
    await primary.waitForLog('CREATE TABLE slow');
    const res = await cli(['run', '-c', config, '--statement-timeout', '1']);
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /busy stopped at .* \(57014 timed out after 1 s \(the statement timeout\): canceling statement due to statement timeout\)/);
    assert.deepEqual(await target.query('postgres', "SELECT to_regclass('before_slow')::text AS t, (SELECT last_value FROM tries) AS n"), [{ t: 'before_slow', n: '1' }]);
  });
});
