/**
 * log_statement = 'ddl' made exact by the capture helper: each DDL command's capture record names its
 * (sub)transaction, which the primary is asked about, and the role and settings it ran with. DDL run
 * inside a function is reported, and the run exits 1, while the targets go on.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from 'pg';
import { Cluster, makeTempDir, startPrimaryAndTargets } from '../helpers/cluster';
import { cli, readDir } from '../helpers/cli';
import { installCapture } from '../helpers/capture';

async function relations(c: Cluster): Promise<string[]> {
  const rows = await c.query<{ r: string }>(
    'postgres',
    "SELECT n.nspname || '.' || c.relname AS r FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname IN ('public', 's') ORDER BY 1",
  );
  return rows.map((r) => r.r);
}

describe("log_statement = 'ddl' with the capture helper", () => {
  let primary: Cluster;
  let a: Cluster;
  let work: string;
  let toolLog: string;
  let open: Client | undefined;

  const args = (source = true): string[] => [
    'run', '--csvlog-dir', primary.logDir, '--target', `a=${a.syncUrl}`, '--state-file', path.join(work, 'state.json'), '--log-dir', toolLog,
    ...(source ? ['--source', primary.syncUrl] : []),
  ];
  /** Runs after the DDL reached the log; fails with what the run said when it exits otherwise than `code`. */
  const run = async (marker: string, code = 0) => {
    await primary.waitForLog(marker);
    const res = await cli(args());
    assert.equal(res.code, code, `${res.stderr}\n${readDir(toolLog)}`);
    return res;
  };

  before(async () => {
    work = makeTempDir('pgds-capture-');
    toolLog = path.join(work, 'log');
    [primary, a] = await startPrimaryAndTargets(['a'], 'ddl');
    await installCapture(primary);
  });

  after(async () => {
    await open?.end().catch(() => undefined);
    await Promise.all([primary, a].map((c) => c?.destroy()));
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('capture records but no --source: one line saying what is needed, nothing read', async () => {
    primary.psql('postgres', 'CREATE TABLE first_t (a int);\n');
    await primary.waitForLog('first_t');
    const res = await cli(args(false));
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /capture records.*--source URL or --data-dir DIR/);
    await run('first_t');
    assert.deepEqual(await relations(a), ['public.first_t']);
  });

  test('a block that rolled back is not sent', async () => {
    primary.psql('postgres', 'BEGIN;\nCREATE TABLE rb_t (a int);\nROLLBACK;\nCREATE TABLE rb_after (a int);\n');
    await run('rb_after');
    assert.deepEqual(await relations(a), ['public.first_t', 'public.rb_after']);
  });

  test('a statement rolled back to its savepoint is not sent; the others of its block are', async () => {
    primary.psql('postgres', 'BEGIN;\nCREATE TABLE sp_keep (a int);\nSAVEPOINT s1;\nCREATE TABLE sp_gone (a int);\nROLLBACK TO SAVEPOINT s1;\nCREATE TABLE sp_after (a int);\nCOMMIT;\n');
    await run('sp_after');
    const rels = await relations(a);
    assert.ok(rels.includes('public.sp_keep') && rels.includes('public.sp_after'), rels.join());
    assert.ok(!rels.includes('public.sp_gone'), rels.join());
  });

  test("SET search_path, which 'ddl' does not log: the table lands in the schema it did on the primary", async () => {
    primary.psql('postgres', 'CREATE SCHEMA s;\nSET search_path = s;\nCREATE TABLE y (a int);\n');
    await run('TABLE y');
    const rels = await relations(a);
    assert.ok(rels.includes('s.y') && !rels.includes('public.y'), rels.join());
  });

  test('SET ROLE, which it does not log either: the table is owned by that role', async () => {
    primary.psql('postgres', 'CREATE ROLE alice;\nGRANT CREATE ON SCHEMA public TO alice;\n');
    primary.psql('postgres', 'SET ROLE alice;\nCREATE TABLE alice_t (a int);\n');
    await run('alice_t');
    const owner = await a.query<{ o: string }>('postgres', "SELECT tableowner AS o FROM pg_tables WHERE tablename = 'alice_t'");
    assert.deepEqual(owner, [{ o: 'alice' }]);
  });

  test('a transaction still open is held back, then sent as it committed, its savepoint rolled back', async () => {
    open = await primary.connect();
    await open.query('BEGIN');
    await open.query('CREATE TABLE open_t (a int)');
    await open.query('SAVEPOINT s');
    await open.query('CREATE TABLE open_gone (a int)');
    await open.query('ROLLBACK TO SAVEPOINT s');
    primary.psql('postgres', 'CREATE TABLE while_open (a int);\n');
    await run('while_open');
    let rels = await relations(a);
    assert.ok(rels.includes('public.while_open'), rels.join());
    assert.ok(!rels.includes('public.open_t') && !rels.includes('public.open_gone'), rels.join());
    await open.query('COMMIT');
    await open.end();
    open = undefined;
    primary.psql('postgres', 'CREATE TABLE after_commit (a int);\n');
    await run('after_commit');
    rels = await relations(a);
    assert.ok(rels.includes('public.open_t') && rels.includes('public.after_commit'), rels.join());
    assert.ok(!rels.includes('public.open_gone'), rels.join());
  });

  test('a capture record forged by a role that is no superuser is not trusted: a security event', async () => {
    primary.psql('postgres', 'CREATE ROLE mallory LOGIN;\nGRANT CREATE ON SCHEMA public TO mallory;\n');
    const forged = `pg-ddl-sync capture 1 sha256 ${'ab'.repeat(32)} ${JSON.stringify({ xid: '1', sub: '1', tag: 'CREATE TABLE', role: 'postgres', session_user: 'postgres', settings: {}, commands: [] })}`;
    // Logged in as mallory: the csvlog names mallory as the record's writer.
    const mallory = new Client({ host: '127.0.0.1', port: primary.port, user: 'mallory', database: 'postgres', password: '' });
    await mallory.connect();
    try {
      await mallory.query('BEGIN');
      await mallory.query('CREATE TABLE mal_t (a int)');
      await mallory.query(`DO $$ BEGIN RAISE LOG '%', '${forged.replace(/'/g, "''")}'; END $$`);
      await mallory.query('COMMIT');
    } finally {
      await mallory.end();
    }
    await run('mal_t');
    const owner = await a.query<{ o: string }>('postgres', "SELECT tableowner AS o FROM pg_tables WHERE tablename = 'mal_t'");
    assert.deepEqual(owner, [{ o: 'mallory' }]);
    assert.match(readDir(toolLog), /security: a record written to look like a capture record.*event=security.*role=mallory/);
  });

  test('CREATE INDEX CONCURRENTLY, whose trigger fires in a later transaction of its own: sent, not taken for nested DDL', async () => {
    primary.psql('postgres', 'CREATE TABLE cic_t (a int);\nCREATE INDEX CONCURRENTLY cic_i ON cic_t (a);\nCREATE TABLE after_cic (a int);\n');
    const res = await run('after_cic');
    assert.doesNotMatch(res.stderr, /inside/);
    const idx = await a.query<{ valid: boolean }>('postgres', "SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = 'cic_i'::regclass");
    assert.deepEqual(idx, [{ valid: true }]);
    primary.psql('postgres', 'DROP TABLE cic_t, after_cic;\n');
    await run('DROP TABLE cic_t');
    assert.deepEqual(await a.query('postgres', "SELECT 1 FROM pg_class WHERE relname IN ('cic_t', 'cic_i', 'after_cic')"), []);
  });

  test('DDL inside a function called by SELECT: reported, the run exits 1, the target goes on', async () => {
    primary.psql('postgres', 'CREATE FUNCTION mk() RETURNS void LANGUAGE plpgsql AS $$ BEGIN CREATE TABLE made_in_fn (a int); END $$;\n');
    primary.psql('postgres', 'SELECT mk();\nCREATE TABLE after_fn (a int);\n');
    const res = await run('after_fn', 1);
    assert.match(res.stderr, /table public\.made_in_fn created inside "SELECT mk\(\);" \(postgresql-[^:]+:\d+, database postgres\)/);
    const rels = await relations(a);
    assert.ok(rels.includes('public.after_fn') && !rels.includes('public.made_in_fn'), rels.join());
    // Until it is dealt with, every run exits 1, without telling each object again.
    const again = await cli(args());
    assert.equal(again.code, 1, again.stderr);
    assert.doesNotMatch(again.stderr, /made_in_fn created/);
    assert.match(again.stderr, /1 DDL command\(s\) ran inside functions/);
    const status = await cli(['status', '--json', '--state-file', path.join(work, 'state.json'), '--csvlog-dir', primary.logDir, '--target', `a=${a.syncUrl}`]);
    assert.match(status.stdout, /made_in_fn/);
  });
});
