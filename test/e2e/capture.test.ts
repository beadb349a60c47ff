/**
 * The capture helper on a real primary (log_statement = 'ddl'): `capture install`, `remove` and
 * `status` through the CLI; the records its event trigger writes, read back from the csvlog with
 * core/capture's parseCapture; and what it must never do: make DDL fail, run a role's code as a
 * superuser, or show its key.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Status } from '../../src/commands/status';
import { Client } from 'pg';
import { Cluster, startPrimaryAndTargets } from '../helpers/cluster';
import { as, captureOf, captureRecords } from '../helpers/capture';
import { cli } from '../helpers/cli';

describe('capture helper', () => {
  let primary: Cluster;
  let target: Cluster;
  const capture = (sub: string, role = 'postgres') => cli(['capture', sub, '--source', `postgresql://${role}@127.0.0.1:${primary.port}/postgres`]);
  const key = async (db = 'postgres'): Promise<string> => (await primary.query<{ key: string }>(db, 'SELECT key FROM ddl_sync_capture.key'))[0].key;
  const status = async (txid: string): Promise<string> => (await primary.query<{ s: string }>('postgres', 'SELECT txid_status($1::bigint) AS s', [txid]))[0].s;

  before(async () => {
    [primary, target] = await startPrimaryAndTargets(['a']);
    await as(primary, 'postgres', 'postgres', 'CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN; GRANT alice TO postgres; GRANT CREATE ON SCHEMA public TO alice, bob');
    await as(primary, 'postgres', 'postgres', 'CREATE DATABASE app');
  });

  after(async () => {
    await Promise.all([primary, target].map((c) => c?.destroy()));
  });

  test('install puts it in every database and template1, once, with one key; new databases have it', async () => {
    const first = await capture('install');
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /3 database\(s\): app, postgres, template1 \(a new key\)/);
    const k = await key();
    assert.match(k, /^[0-9a-f]{64}$/);
    for (const db of ['app', 'template1']) assert.equal(await key(db), k, db);
    const again = await capture('install');
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /\(the key it had\)/);
    assert.equal(await key(), k);
    const [{ n }] = await primary.query<{ n: string }>('postgres', "SELECT count(*) AS n FROM pg_event_trigger WHERE evtname = 'ddl_sync_capture'");
    assert.equal(n, '1');
    await as(primary, 'postgres', 'postgres', 'CREATE DATABASE fresh');
    assert.equal(await key('fresh'), k);
    const st = await capture('status');
    assert.equal(st.code, 0, st.stdout);
    assert.match(st.stdout, /^fresh: installed \(version 1\)$/m);
    // Its own DDL wrote no record and no statement.
    await as(primary, 'postgres', 'postgres', 'CREATE TABLE after_install ()');
    await primary.waitForLog('public.after_install');
    assert.deepEqual(captureRecords(primary, k).filter((r) => r.message.includes('ddl_sync_capture')), []);
    const logged = primary.csvFiles().map((f) => fs.readFileSync(f, 'utf8')).join('');
    assert.ok(!logged.includes('CREATE EVENT TRIGGER') && !logged.includes(k), 'the install is not in the log');
  });

  test('a role that is not a superuser is refused in one line, and cannot read the key', async () => {
    const res = await capture('install', 'bob');
    assert.equal(res.code, 2);
    assert.match(res.stderr, /^pg-ddl-sync: role bob is not a superuser: .*\n$/);
    await assert.rejects(as(primary, 'bob', 'postgres', 'SELECT key FROM ddl_sync_capture.key'), /permission denied/);
  });

  test('records prove role, settings and transaction; a forged one does not pass', async () => {
    const k = await key();
    await as(primary, 'postgres', 'postgres', "SET ROLE alice; SET search_path = public, pg_catalog; SET DateStyle = 'SQL, DMY'; CREATE TABLE by_alice ()");
    await as(primary, 'postgres', 'postgres', 'BEGIN; CREATE TABLE rolled_back (); ROLLBACK');
    await as(primary, 'postgres', 'postgres', 'BEGIN; SAVEPOINT a; CREATE TABLE t1 (); ROLLBACK TO a; CREATE TABLE t2 (); COMMIT');
    const forged = `pg-ddl-sync capture 1 sha256 ${'0'.repeat(64)} {"xid":"1","sub":"1","tag":"CREATE TABLE","role":"postgres","session_user":"postgres","settings":{},"commands":[]}`;
    await as(primary, 'bob', 'postgres', `DO $$BEGIN RAISE LOG '%', '${forged}'; END$$`);
    await primary.waitForLog('public.t2');

    const alice = captureOf(primary, k, 'public.by_alice');
    assert.equal(alice.role, 'alice');
    assert.equal(alice.sessionUser, 'postgres');
    assert.equal(alice.settings.search_path, 'public, pg_catalog');
    assert.equal(alice.settings.DateStyle, 'SQL, DMY');
    assert.equal(alice.sub, alice.xid, 'outside a subtransaction, sub is the xid');
    assert.equal(await status(alice.xid), 'committed');

    const rb = captureOf(primary, k, 'public.rolled_back');
    assert.equal(rb.role, 'postgres');
    assert.equal(await status(rb.xid), 'aborted');

    const t1 = captureOf(primary, k, 'public.t1');
    const t2 = captureOf(primary, k, 'public.t2');
    assert.equal(t1.xid, t2.xid);
    assert.notEqual(t1.sub, t1.xid);
    assert.equal(await status(t1.sub), 'aborted');
    assert.equal(await status(t2.sub), 'committed');

    const fake = captureRecords(primary, k).filter((r) => r.message === forged);
    assert.equal(fake.length, 1);
    assert.equal(fake[0].parsed.kind, 'forged');
  });

  test('a session sees none of its records, even at client_min_messages = log', async () => {
    const client = new Client({ host: '127.0.0.1', port: primary.port, user: 'bob', database: 'postgres', password: '' });
    const seen: string[] = [];
    client.on('notice', (n) => seen.push(n.message ?? ''));
    await client.connect();
    try {
      await client.query('SET client_min_messages = log');
      await client.query('CREATE TABLE bob_sees ()');
      await client.query("DO $$BEGIN RAISE LOG 'bob can see LOG messages'; END$$");
    } finally {
      await client.end();
    }
    assert.ok(seen.includes('bob can see LOG messages'), seen.join('\n'));
    assert.deepEqual(seen.filter((m) => m.startsWith('pg-ddl-sync capture')), []);
    await primary.waitForLog('public.bob_sees');
    assert.equal(captureOf(primary, await key(), 'public.bob_sees').role, 'bob');
  });

  test('DDL never fails because of it: an error of its own becomes an {"error"} record', async () => {
    // SQL_ASCII lets a name hold a byte that is not UTF-8: the MAC's convert_to fails on it.
    await as(primary, 'postgres', 'postgres', "CREATE DATABASE ascii ENCODING 'SQL_ASCII' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'");
    assert.equal((await capture('install')).code, 0);
    const k = await key();
    await as(primary, 'postgres', 'ascii', `DO $$BEGIN EXECUTE 'CREATE TABLE "bad' || chr(255) || '" ()'; END$$`);
    const [{ n }] = await primary.query<{ n: string }>('ascii', "SELECT count(*) AS n FROM pg_class WHERE relname LIKE 'bad%'");
    assert.equal(n, '1');
    await primary.waitForLog('22021');
    const failed = captureRecords(primary, k).filter((r) => r.parsed.kind === 'capture-failed');
    assert.deepEqual(failed.map((r) => r.parsed), [{ kind: 'capture-failed', sqlState: '22021' }]);

    // With its key gone, it still lets DDL through, and says so in a record no one can take for proven.
    await as(primary, 'postgres', 'app', 'DROP TABLE ddl_sync_capture.key; CREATE TABLE keyless ()');
    const [{ c }] = await primary.query<{ c: string }>('app', "SELECT count(*) AS c FROM pg_class WHERE relname = 'keyless'");
    assert.equal(c, '1');
    await primary.waitForLog(' nokey ');
    const nokey = captureRecords(primary, k).filter((r) => r.message.includes(' nokey '));
    assert.ok(nokey.length >= 1);
    for (const r of nokey) assert.equal(r.parsed.kind, 'forged');
    // Installing again puts the cluster's key back.
    assert.equal((await capture('install')).code, 0);
    assert.equal(await key('app'), k);
  });

  test("a search_path that puts a role's schema first runs none of its code as the superuser", async () => {
    const k = await key();
    await as(primary, 'postgres', 'postgres', 'CREATE ROLE mallory LOGIN; GRANT CREATE ON SCHEMA public TO mallory; GRANT CREATE ON DATABASE postgres TO mallory');
    await as(
      primary,
      'mallory',
      'postgres',
      `CREATE SCHEMA evil;
       CREATE TABLE evil.hits (who text, what text);
       GRANT ALL ON SCHEMA evil TO PUBLIC; GRANT ALL ON evil.hits TO PUBLIC;
       CREATE FUNCTION evil.hit(what text) RETURNS void LANGUAGE plpgsql AS $f$
       BEGIN
         INSERT INTO evil.hits VALUES (current_user::text, what);
         IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) current_user) THEN
           EXECUTE 'ALTER ROLE mallory SUPERUSER';
         END IF;
       END $f$;
       CREATE FUNCTION evil.cat(a text, b text) RETURNS text LANGUAGE plpgsql AS $f$
         BEGIN PERFORM evil.hit('||'); RETURN pg_catalog.textcat(a, b); END $f$;
       CREATE OPERATOR evil.|| (LEFTARG = text, RIGHTARG = text, PROCEDURE = evil.cat);
       CREATE FUNCTION evil.eq(a text, b text) RETURNS boolean LANGUAGE plpgsql AS $f$
         BEGIN PERFORM evil.hit('='); RETURN pg_catalog.texteq(a, b); END $f$;
       CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, PROCEDURE = evil.eq);
       CREATE FUNCTION evil.current_setting(text) RETURNS text LANGUAGE plpgsql AS $f$
         BEGIN PERFORM evil.hit('current_setting'); RETURN pg_catalog.current_setting($1); END $f$;
       CREATE FUNCTION evil.txid_current() RETURNS bigint LANGUAGE plpgsql AS $f$
         BEGIN PERFORM evil.hit('txid_current'); RETURN pg_catalog.txid_current(); END $f$;
       CREATE FUNCTION evil.pg_backend_pid() RETURNS integer LANGUAGE plpgsql AS $f$
         BEGIN PERFORM evil.hit('pg_backend_pid'); RETURN pg_catalog.pg_backend_pid(); END $f$;
       CREATE FUNCTION evil.convert_to(text, name) RETURNS bytea LANGUAGE plpgsql AS $f$
         BEGIN PERFORM evil.hit('convert_to'); RETURN pg_catalog.convert_to($1, $2); END $f$;
       CREATE FUNCTION evil.sha256(bytea) RETURNS bytea LANGUAGE plpgsql AS $f$
         BEGIN PERFORM evil.hit('sha256'); RETURN pg_catalog.sha256($1); END $f$;
       CREATE FUNCTION evil.encode(bytea, text) RETURNS text LANGUAGE plpgsql AS $f$
         BEGIN PERFORM evil.hit('encode'); RETURN pg_catalog.encode($1, $2); END $f$;`,
    );
    await as(primary, 'mallory', 'postgres', 'SET search_path = evil, pg_catalog, public; CREATE TABLE public.by_mallory ()');
    await primary.waitForLog('public.by_mallory');
    const hits = await primary.query<{ who: string; what: string }>('postgres', 'SELECT who, what FROM evil.hits');
    assert.deepEqual(hits, []);
    const [{ su }] = await primary.query<{ su: boolean }>('postgres', "SELECT rolsuper AS su FROM pg_roles WHERE rolname = 'mallory'");
    assert.equal(su, false);
    const rec = captureOf(primary, k, 'public.by_mallory');
    assert.equal(rec.role, 'mallory');
    assert.equal(rec.settings.search_path, 'evil, pg_catalog, public');
  });

  test('check and status say per database whether it is installed; remove drops it everywhere, twice', async () => {
    const source = `postgresql://postgres@127.0.0.1:${primary.port}/postgres`;
    const checked = await cli(['check', '--source', source, '--csvlog-dir', primary.logDir]);
    assert.match(checked.stdout, /capture helper in app.*installed \(version 1\)/);
    assert.match(checked.stdout, /capture helper in template1.*installed \(version 1\)/);
    // With the helper in every database, 'ddl' is exact: no warning about silent rollbacks.
    assert.match(checked.stdout, /log_statement.*with the capture helper in every database, exact/);
    const where = ['--csvlog-dir', primary.logDir, '--state-file', path.join(primary.baseDir, 'state.json')];
    // Only for a state file to show: what the target makes of the primary's DDL is not the point.
    await cli(['run', ...where, '--source', source, '--target', `a=${target.syncUrl}`]);
    assert.ok(fs.existsSync(where[3]));
    const st = await cli(['status', ...where, '--source', source, '--json']);
    const helper = (JSON.parse(st.stdout) as Status).capture;
    assert.ok(helper && 'databases' in helper);
    assert.deepEqual(helper.databases.find((d) => d.database === 'template1'), { database: 'template1', version: 1 });
    assert.match((await cli(['status', ...where, '--source', source])).stdout, /^capture helper: .*postgres installed \(version 1\)/m);
    for (let i = 0; i < 2; i++) {
      const res = await capture('remove');
      assert.equal(res.code, 0, res.stderr);
    }
    const [{ n }] = await primary.query<{ n: string }>('template1', "SELECT count(*) AS n FROM pg_namespace WHERE nspname = 'ddl_sync_capture'");
    assert.equal(n, '0');
    const gone = await capture('status');
    assert.equal(gone.code, 1);
    assert.match(gone.stdout, /^postgres: not installed/m);
  });
});

describe('capture helper across an xid wraparound', () => {
  let primary: Cluster;

  /** Runs a server tool of the primary's install as the server's OS user, as the cluster helper does. */
  const serverTool = (tool: string, args: string[]): void => {
    const ids = process.getuid?.() === 0 ? { uid: Number(execFileSync('id', ['-u', 'postgres'])), gid: Number(execFileSync('id', ['-g', 'postgres'])) } : {};
    const res = spawnSync(path.join(primary.bin, tool), args, { ...ids, encoding: 'utf8' });
    assert.equal(res.status, 0, res.stderr);
  };

  before(async () => {
    [primary] = await startPrimaryAndTargets([]);
    // Frozen catalogs stay visible when the xid counter jumps; the counter is put 96 xids before the
    // end of epoch 2, with the commit log and subtransaction pages it needs there.
    for (const db of ['postgres', 'template1']) await primary.query(db, 'VACUUM FREEZE');
    await primary.stop();
    serverTool('pg_resetwal', ['-D', primary.dataDir, '-e', '2', '-x', '4294967200']);
    for (const [dir, file] of [['pg_xact', '0FFF'], ['pg_subtrans', 'FFFF']]) {
      const f = path.join(primary.dataDir, dir, file);
      fs.writeFileSync(f, Buffer.alloc(32 * 8192));
      fs.chownSync(f, fs.statSync(primary.dataDir).uid, fs.statSync(primary.dataDir).gid);
    }
    await primary.restart();
  });

  after(async () => {
    await primary?.destroy();
  });

  test("a subtransaction's xid past the wraparound takes the next epoch", async () => {
    const res = await cli(['capture', 'install', '--source', primary.url]);
    assert.equal(res.code, 0, res.stderr);
    const [{ key }] = await primary.query<{ key: string }>('postgres', 'SELECT key FROM ddl_sync_capture.key');
    const client = await primary.connect();
    try {
      // Up to a few xids before the end of the epoch.
      for (;;) {
        const [{ x }] = (await client.query<{ x: string }>('SELECT txid_current() % 4294967296 AS x')).rows;
        if (Number(x) >= 4294967290) break;
      }
      const savepoints = Array.from({ length: 8 }, (_, i) => `SAVEPOINT s${i}; CREATE TABLE w${i} (); ${i % 3 === 2 ? 'ROLLBACK TO' : 'RELEASE'} s${i};`);
      await client.query(`BEGIN; CREATE TABLE w_top (); ${savepoints.join(' ')} COMMIT`);
    } finally {
      await client.end();
    }
    await primary.waitForLog('public.w7');
    const top = captureOf(primary, key, 'public.w_top');
    const epochOf = (xid: string): bigint => BigInt(xid) >> 32n;
    assert.equal(epochOf(top.xid), 2n);
    const subs = Array.from({ length: 8 }, (_, i) => captureOf(primary, key, `public.w${i}`));
    assert.equal(epochOf(subs[7].sub), 3n, 'the last ones are past the wraparound');
    for (const [i, s] of subs.entries()) {
      assert.equal(s.xid, top.xid);
      const [{ st }] = await primary.query<{ st: string }>('postgres', 'SELECT txid_status($1::bigint) AS st', [s.sub]);
      assert.equal(st, i % 3 === 2 ? 'aborted' : 'committed', `w${i} (${s.sub})`);
    }
  });
});
