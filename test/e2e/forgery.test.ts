/**
 * Records a role can write into the log to look like the server's own, and texts that read otherwise
 * to the server than to a lexer: none of them gives a role anything on a target, hides another
 * session's DDL, or shows a secret. (Found by a review that played the attacker; under the README's
 * own set-up: log_statement = 'ddl', a superuser sync role.)
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from 'pg';
import { Cluster, makeTempDir, startPrimaryAndTargets } from '../helpers/cluster';
import { cli } from '../helpers/cli';

describe('forged and double-reading records give a role nothing', () => {
  let primary: Cluster;
  let target: Cluster;
  let work: string;

  const state = (): string => path.join(work, 'state.json');
  const run = (...extra: string[]) => cli(['run', '--csvlog-dir', primary.logDir, '--state-file', state(), '--target', `a=${target.syncUrl}`, ...extra]);
  const superuserOnTarget = async (role: string): Promise<boolean> =>
    (await target.query<{ su: boolean }>('postgres', 'SELECT rolsuper AS su FROM pg_catalog.pg_roles WHERE rolname = $1', [role]))[0].su;
  /** Runs sql on the primary as role, in one simple query, with extra server options. */
  const as = async (role: string, database: string, sql: string, options?: string): Promise<void> => {
    const client = new Client({ host: '127.0.0.1', port: primary.port, user: role, database, password: '', options });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  const skipOne = async (): Promise<void> => {
    const res = await cli(['skip', '--target', `a=${target.syncUrl}`, '--state-file', state(), '--yes', '--reason', 'checked on the primary']);
    assert.equal(res.code, 0, res.stderr + res.stdout);
  };

  before(async () => {
    work = makeTempDir('pgds-forgery-');
    [primary, target] = await startPrimaryAndTargets(['a']);
    await as('postgres', 'postgres', 'CREATE ROLE bob LOGIN; CREATE ROLE carol LOGIN; CREATE ROLE dave LOGIN;');
    await as('postgres', 'postgres', 'CREATE DATABASE app_b OWNER bob');
    await primary.waitForLog('CREATE DATABASE app_b');
    const res = await run();
    assert.equal(res.code, 0, res.stderr);
  });

  after(async () => {
    await Promise.all([primary, target].map((c) => c?.destroy()));
  });

  test('RAISE LOG of "statement: …" is no statement', async () => {
    await as('carol', 'postgres', "DO $$BEGIN RAISE LOG 'statement: SET ROLE postgres; ALTER ROLE carol SUPERUSER'; END$$");
    await primary.waitForLog('ALTER ROLE carol');
    const res = await run();
    assert.equal(res.code, 0, res.stderr);
    assert.equal(await superuserOnTarget('carol'), false);
  });

  test("RAISE LOG of a restart's words drops no other session's open transaction", async () => {
    const dba = new Client({ host: '127.0.0.1', port: primary.port, user: 'postgres', database: 'postgres', password: '' });
    await dba.connect();
    await dba.query('BEGIN');
    await dba.query('CREATE TABLE victim_t (a int)');
    await as('carol', 'postgres', "DO $$BEGIN RAISE LOG 'database system is ready to accept connections'; END$$");
    await dba.query('COMMIT');
    await dba.query('CREATE TABLE victim_after (a int)');
    await dba.end();
    await primary.waitForLog('victim_after');
    const res = await run();
    assert.equal(res.code, 0, res.stderr);
    const made = await target.query<{ relname: string }>('postgres', "SELECT relname FROM pg_catalog.pg_class WHERE relname LIKE 'victim%' ORDER BY 1");
    assert.deepEqual(made.map((r) => r.relname), ['victim_after', 'victim_t']);
  });

  test('a -- comment that a carriage return ends hides no string from the string-syntax check', async () => {
    const text = "CREATE TABLE evil_t(); SELECT 1 --\r, 'a\\'; SET ROLE postgres; ALTER ROLE bob SUPERUSER; --'\n";
    await as('bob', 'app_b', text, '-c standard_conforming_strings=off');
    await primary.waitForLog('evil_t');
    const res = await run();
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /cannot prove what the primary ran/);
    assert.equal(await superuserOnTarget('bob'), false);
    await skipOne();
  });

  test('a SET standard_conforming_strings the log shows does not settle a text that splits otherwise', async () => {
    const dave = new Client({ host: '127.0.0.1', port: primary.port, user: 'dave', database: 'postgres', password: '' });
    await dave.connect();
    await dave.query("SET standard_conforming_strings = on; ALTER ROLE dave SET work_mem = '8MB'");
    await dave.query("SELECT pg_catalog.set_config('standard_conforming_strings', 'off', false)");
    await dave.query("ALTER ROLE dave SET work_mem = '9MB'; SELECT 'a\\'; SET ROLE postgres; ALTER ROLE dave SUPERUSER; --'");
    await dave.end();
    await primary.waitForLog('9MB');
    const res = await run();
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /splits into other statements with standard_conforming_strings on and off/);
    assert.equal(await superuserOnTarget('dave'), false);
    await skipOne();
  });

  test('a password after a carriage return is masked like any other', async () => {
    await as('bob', 'app_b', "ALTER ROLE bob PASSWORD --\r'Sup3rSecret'\n");
    await as('bob', 'app_b', "ALTER ROLE bob PASSWORD 'x'\r'Secret2leak'");
    await primary.waitForLog('Secret2leak');
    const dry = await run('--dry-run');
    const res = await run('--log-dir', path.join(work, 'log'));
    assert.equal(res.code, 0, res.stderr);
    const ledger = target.psql('app_b', 'SELECT statement FROM ddl_sync.applied', ['-At']).stdout;
    const own = fs.readdirSync(path.join(work, 'log')).map((f) => fs.readFileSync(path.join(work, 'log', f), 'utf8')).join('');
    const seen = [dry.stdout, dry.stderr, res.stdout, res.stderr, ledger, own, fs.readFileSync(state(), 'utf8')].join('\n');
    assert.match(ledger, /ALTER ROLE bob PASSWORD/);
    assert.doesNotMatch(seen, /Sup3rSecret|Secret2leak/);
  });
});
