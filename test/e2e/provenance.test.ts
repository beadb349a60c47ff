/**
 * What a target runs is what the primary ran: a login role that writes text into the log cannot make
 * the targets run something else (the security model in README). Two ways a text could read otherwise
 * than it ran: a prepared statement's name, which is the client's and stands before the text in
 * `execute <name>: <text>`; and `standard_conforming_strings`, which a session can turn off with no
 * trace in the log. Where the log cannot prove which text ran, the target stops at it, and nothing of
 * it is sent.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from 'pg';
import type { Status } from '../../src/commands/status';
import { Cluster, makeTempDir, startPrimaryAndTargets } from '../helpers/cluster';
import { cli, readDir } from '../helpers/cli';

const DB = 'app';

describe('a login role cannot make the targets run what the primary did not', () => {
  let primary: Cluster;
  let target: Cluster;
  let work: string;

  /** A connection to the primary as alice, with extra server options. */
  const asAlice = async (options?: string): Promise<Client> => {
    const client = new Client({ host: '127.0.0.1', port: primary.port, user: 'alice', database: DB, password: '', options });
    await client.connect();
    return client;
  };
  /** Alice's role attributes on a cluster. */
  const aliceOn = async (c: Cluster): Promise<string> =>
    JSON.stringify((await c.query('postgres', `SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_catalog.pg_roles WHERE rolname = 'alice'`))[0]);

  /** One state file for the cases, in order: each starts where the one before left the target. */
  const state = (): string => path.join(work, 'state.json');
  const run = (...extra: string[]) =>
    cli(['run', '--csvlog-dir', primary.logDir, '--state-file', state(), '--target', `t=${target.syncUrl}`, '--log-dir', path.join(work, 'log'), ...extra]);
  /** Skips the statement the target is stopped at, as a DBA would after looking at it. */
  const skipOne = async (): Promise<void> => {
    const res = await cli(['skip', '--target', `t=${target.syncUrl}`, '--csvlog-dir', primary.logDir, '--state-file', state(), '--yes', '--reason', 'checked by hand']);
    assert.equal(res.code, 0, res.stderr + res.stdout);
  };

  before(async () => {
    work = makeTempDir('pgds-provenance-');
    // 'all': extended-protocol executes are logged with their statement names.
    [primary, target] = await startPrimaryAndTargets(['t'], 'all');
    primary.psql('postgres', `CREATE ROLE alice LOGIN; CREATE DATABASE ${DB}; ALTER DATABASE ${DB} OWNER TO alice;`);
    primary.psql(DB, 'CREATE TABLE t (a int)', ['-U', 'alice']);
    const res = await run();
    assert.equal(res.code, 0, res.stderr);
  });

  after(async () => {
    await Promise.all([primary, target].map((c) => c?.destroy()));
  });

  test('a statement name holding ": " smuggles nothing in, and hides no DDL', async () => {
    const before = await aliceOn(target);
    const alice = await asAlice();
    await alice.query({ name: 'x: SET ROLE postgres; ALTER ROLE alice CREATEROLE CREATEDB; --', text: 'SELECT 1' });
    await alice.query({ name: 'y: SELECT 1 --', text: 'CREATE TABLE hidden_ddl (a int)' });
    await alice.end();
    await primary.waitForLog('hidden_ddl');

    const dry = await run('--dry-run');
    assert.match(dry.stdout, /not sent: the log cannot prove what the primary ran/);
    assert.doesNotMatch(dry.stdout, /^ALTER ROLE/m);

    const res = await run();
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /cannot prove what the primary ran/);
    assert.equal(await aliceOn(target), before, 'alice gained nothing on the target');
    assert.match(readDir(path.join(work, 'log')), /"event":"security"|event=security/);

    // The target stays at the first of the two: the name "x: SET ROLE …" may end at any ": ".
    const status = await cli(['status', '--json', '--state-file', state(), '--target', `t=${target.syncUrl}`, '--csvlog-dir', primary.logDir]);
    const json = JSON.parse(status.stdout) as Status;
    assert.match(JSON.stringify(json.targets[0]), /cannot prove what the primary ran/);

    // Skipped by the DBA, the next one stops the target too: the hidden CREATE TABLE is not lost silently.
    await skipOne();
    const again = await run();
    assert.equal(again.code, 1, again.stderr);
    assert.match(again.stderr, /cannot prove what the primary ran/);
    const at = (stderr: string): string => /stopped at (\S+)/.exec(stderr)?.[1] ?? '';
    assert.notEqual(at(again.stderr), at(res.stderr), 'stopped at the second record, the hidden CREATE TABLE');
    await skipOne();
  });

  test('a text that splits otherwise with standard_conforming_strings off is not sent', async () => {
    const before = await aliceOn(target);
    const alice = await asAlice('-c standard_conforming_strings=off');
    // One COMMENT on the primary; three statements if read with the setting on.
    await alice.query(`COMMENT ON TABLE t IS 'x\\'; SET ROLE postgres; ALTER ROLE alice SUPERUSER; --'`);
    assert.equal((await alice.query(`SELECT pg_catalog.obj_description('t'::regclass) AS c`)).rows[0].c, `x'; SET ROLE postgres; ALTER ROLE alice SUPERUSER; --`);
    await alice.end();
    await primary.waitForLog('ALTER ROLE alice SUPERUSER');

    const dry = await run('--dry-run');
    assert.match(dry.stdout, /not sent: the log cannot prove what the primary ran: it splits into other statements with standard_conforming_strings on and off/);
    assert.doesNotMatch(dry.stdout, /^SET ROLE/m);
    const res = await run();
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /standard_conforming_strings/);
    assert.equal(await aliceOn(target), before, 'alice gained nothing on the target');
    await skipOne();
  });

  test('backslashes that read the same either way are sent as they were', async () => {
    const alice = await asAlice();
    await alice.query(`ALTER TABLE t ADD CONSTRAINT digits CHECK (a::text ~ '^\\d+$')`);
    await alice.end();
    await primary.waitForLog('digits');
    const res = await run();
    assert.equal(res.code, 0, res.stderr);
    const rows = await target.query<{ def: string }>(DB, `SELECT pg_catalog.pg_get_constraintdef(oid) AS def FROM pg_catalog.pg_constraint WHERE conname = 'digits'`);
    assert.match(rows[0]?.def ?? '', /\^\\d\+\$/);
  });

  test('--apply-as sync never hands a role what the superuser sync user can do', async () => {
    const alice = await asAlice();
    await alice.query(`CREATE FUNCTION grant_me() RETURNS void LANGUAGE sql SECURITY DEFINER AS 'ALTER ROLE alice SUPERUSER'`);
    await alice.end();
    primary.psql(DB, 'CREATE TABLE by_dba (a int)');
    await primary.waitForLog('by_dba');

    const res = await run('--apply-as', 'sync');
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /--apply-as sync would run what role "alice" ran on the primary as the sync user ddl_syncer, a superuser here/);
    const fn = await target.query(DB, `SELECT 1 FROM pg_catalog.pg_proc WHERE proname = 'grant_me'`);
    assert.equal(fn.length, 0, 'no function of alice runs with the sync user\'s rights');

    // What a superuser ran gains nobody anything: it runs as the sync user.
    await skipOne();
    const next = await run('--apply-as', 'sync');
    assert.equal(next.code, 0, next.stderr);
    const owner = await target.query<{ owner: string }>(DB, `SELECT pg_catalog.pg_get_userbyid(relowner) AS owner FROM pg_catalog.pg_class WHERE relname = 'by_dba'`);
    assert.deepEqual(owner, [{ owner: 'ddl_syncer' }]);
  });
});
