/**
 * Transaction-exact replay. Under log_statement = 'all' the primary logs BEGIN, COMMIT, ROLLBACK,
 * savepoints and SETs: the targets get what committed, no more, no less, in the session's settings.
 * Under 'ddl', --source lets the primary say which transactions still run.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Client } from 'pg';
import { Cluster, makeTempDir, sleep, startPrimaryAndTargets, waitForConnections } from '../helpers/cluster';
import { cli, readDir } from '../helpers/cli';
import { assertInStep } from '../helpers/compare';

const ROLLED_BACK = ['rb_t', 'ab_t', 'sp_gone', 'killed_t', 'slow_t', 'tmp_t', 'crash_block'];

/** Waits until a server that restarted after a crash takes connections again. */
async function relations(c: Cluster, db = 'postgres'): Promise<string[]> {
  const rows = await c.query<{ r: string }>(db, "SELECT n.nspname || '.' || c.relname AS r FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('public', 'app') ORDER BY 1");
  return rows.map((r) => r.r);
}

describe("log_statement = 'all': only what committed, in the session's settings", () => {
  let primary: Cluster;
  let a: Cluster;
  let b: Cluster;
  let work: string;
  let toolLog: string;
  let open: Client;

  const args = () => [
    'run', '--csvlog-dir', primary.logDir, '--target', `a=${a.syncUrl}`, '--target', `b=${b.syncUrl}`,
    '--state-file', path.join(work, 'state.json'), '--log-dir', toolLog,
  ];

  before(async () => {
    work = makeTempDir('pgds-exact-');
    toolLog = path.join(work, 'log');
    [primary, a, b] = await startPrimaryAndTargets(['a', 'b'], 'all');
  });

  after(async () => {
    await open?.end().catch(() => undefined);
    await Promise.all([primary, a, b].map((c) => c?.destroy()));
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('rollbacks, savepoints, a killed session, settings, mixed strings and temporary tables', async () => {
    primary.psql('postgres', 'BEGIN;\nCREATE TABLE rb_t (a int);\nROLLBACK;\n');
    primary.psql('postgres', 'START TRANSACTION;\nCREATE TABLE ab_t (a int);\nABORT;\n');
    primary.psql('postgres', [
      'BEGIN;', 'CREATE TABLE sp_keep (a int);', 'SAVEPOINT s1;', 'CREATE TABLE sp_gone (a int);',
      'ROLLBACK TO SAVEPOINT s1;', 'CREATE TABLE sp_after (a int);', 'COMMIT;',
    ].join('\n'));
    // psql's ON_ERROR_ROLLBACK: a savepoint before each statement, rolled back to when one fails.
    primary.psql('postgres', 'BEGIN;\nCREATE TABLE sp_keep (a int);\nCREATE TABLE sp_recovered (a int);\nCOMMIT;\n', ['-v', 'ON_ERROR_ROLLBACK=on']);
    const victim = await primary.connect();
    victim.on('error', () => undefined);
    await victim.query('BEGIN');
    await victim.query('CREATE TABLE killed_t (a int)');
    await primary.query('postgres', 'SELECT pg_terminate_backend($1)', [(victim as unknown as { processID: number }).processID]);
    await victim.end().catch(() => undefined);
    primary.psql('postgres', 'CREATE SCHEMA app;\nSET search_path = app;\nCREATE TABLE in_app (a int);\nRESET search_path;\nCREATE TABLE in_public (a int);\n');
    const driver = await primary.connect();
    await driver.query('CREATE TABLE mix_t (a int); INSERT INTO mix_t VALUES (1); CREATE INDEX mix_i ON mix_t (a); SELECT 1');
    // Two statements PostgreSQL 12+ runs in one block: both reach the targets.
    await driver.query("CREATE TYPE mood AS ENUM ('a')");
    await driver.query("ALTER TYPE mood ADD VALUE 'b'; ALTER TYPE mood ADD VALUE 'c'");
    await driver.end();
    // A setting that changes how the server reads text: the statement after it must be read with it.
    primary.psql('postgres', "SET standard_conforming_strings = off;\nCREATE TABLE esc_t (a text DEFAULT 'it\\'s');\nRESET standard_conforming_strings;\n");
    primary.psql('postgres', 'CREATE TEMP TABLE tmp_t (a int);\nALTER TABLE tmp_t ADD COLUMN b int;\nCREATE INDEX tmp_i ON tmp_t (a);\nCREATE TABLE perm_t (a int);\nDROP TABLE tmp_t;\n');
    await primary.waitForLog('DROP TABLE tmp_t');

    const res = await cli(args());
    assert.equal(res.code, 0, res.stderr);
    await assertInStep(primary, a, b);
    assert.deepEqual(await relations(a), [
      'app.in_app', 'public.esc_t', 'public.in_public', 'public.mix_i', 'public.mix_t', 'public.perm_t', 'public.sp_after', 'public.sp_keep', 'public.sp_recovered',
    ]);
    assert.match(readDir(toolLog), /statements on temporary objects, not sent count=4/);
  });

  test('a block left open holds back nothing; it is applied once it commits', async () => {
    open = await primary.connect();
    await open.query('BEGIN');
    await open.query('CREATE TABLE open_t (a int)');
    primary.psql('postgres', 'CREATE TABLE later_t (a int);\n');
    await primary.waitForLog('later_t');
    const first = await cli(args());
    assert.equal(first.code, 0, first.stderr);
    for (const s of [a, b]) {
      const rels = await relations(s);
      assert.ok(rels.includes('public.later_t') && !rels.includes('public.open_t'), rels.join(','));
    }
    assert.match(readDir(toolLog), /waiting for transactions still open .*count=1 held_back=0 /);
    await open.query('COMMIT');
    await open.end();
    await primary.waitForLog('disconnection');
    const second = await cli(args());
    assert.equal(second.code, 0, second.stderr);
    await assertInStep(primary, a, b);
  });

  test('a statement cancelled while a run reads the log is never applied', async () => {
    const slow = await primary.connect();
    slow.on('error', () => undefined);
    const running = slow.query('CREATE TABLE slow_t AS SELECT 1 AS x FROM pg_sleep(30)').catch((e: Error) => e);
    await primary.waitForLog('CREATE TABLE slow_t');
    primary.psql('postgres', 'CREATE TABLE behind_slow (a int);\n');
    await primary.waitForLog('behind_slow');
    const during = await cli(args());
    assert.equal(during.code, 0, during.stderr);
    assert.ok(!(await relations(a)).includes('public.behind_slow'), 'a statement behind one still running was applied');
    await primary.query('postgres', "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE 'CREATE TABLE slow_t%'");
    assert.match(String(await running), /canceling statement/);
    await slow.end();
    await primary.waitForLog('disconnection');
    const afterwards = await cli(args());
    assert.equal(afterwards.code, 0, afterwards.stderr);
    await assertInStep(primary, a, b);
    assert.ok((await relations(a)).includes('public.behind_slow'));
  });

  test('a crash of the primary rolls back what was open in it', async () => {
    const inBlock = await primary.connect();
    inBlock.on('error', () => undefined);
    await inBlock.query('BEGIN');
    await inBlock.query('CREATE TABLE crash_block (a int)');
    primary.psql('postgres', 'CREATE TABLE before_crash (a int);\n');
    // A backend killed outright: the postmaster ends every other session and restarts.
    const victim = await primary.connect();
    victim.on('error', () => undefined);
    process.kill((victim as unknown as { processID: number }).processID, 'SIGKILL');
    await primary.waitForLog('database system is ready to accept connections', 30_000);
    await inBlock.end().catch(() => undefined);
    await victim.end().catch(() => undefined);
    await waitForConnections(primary);
    primary.psql('postgres', 'CREATE TABLE after_crash (a int);\n');
    await primary.waitForLog('after_crash');
    const logged = readDir(toolLog).length;
    const res = await cli(args());
    assert.equal(res.code, 0, res.stderr);
    // The block is over, not waiting: the restart in the log ended it.
    assert.match(readDir(toolLog).slice(logged), /run finished .* waiting=0 /);
    await assertInStep(primary, a, b);
    const rels = await relations(a);
    assert.ok(rels.includes('public.before_crash') && rels.includes('public.after_crash') && !rels.includes('public.crash_block'), rels.join(','));
  });

  test('nothing rolled back ever reached a target', async () => {
    const applied = readDir(toolLog).split('\n').filter((l) => / applied target=/.test(l) || /^\S+ info  applied /.test(l));
    for (const name of ROLLED_BACK) {
      assert.ok(!applied.some((l) => l.includes(` ${name} `) || l.includes(`${name} (`)), `${name} was applied: ${applied.find((l) => l.includes(name))}`);
      for (const s of [a, b]) {
        const rows = await s.query('postgres', 'SELECT 1 FROM ddl_sync.applied WHERE statement LIKE $1', [`%${name} %`]);
        assert.deepEqual(rows, [], `${name} in the ledger of ${s.name}`);
      }
    }
  });
});

describe("log_statement = 'ddl' with --source: the primary says what still runs", () => {
  let primary: Cluster;
  let a: Cluster;
  let work: string;
  const clients: Client[] = [];

  const args = (...extra: string[]) => [
    'run', '--csvlog-dir', primary.logDir, '--target', `a=${a.syncUrl}`,
    '--state-file', path.join(work, 'state.json'), '--log-dir', path.join(work, 'log'), ...extra,
  ];

  before(async () => {
    work = makeTempDir('pgds-source-');
    [primary, a] = await startPrimaryAndTargets(['a']);
  });

  after(async () => {
    for (const c of clients) await c.end().catch(() => undefined);
    await Promise.all([primary, a].map((c) => c?.destroy()));
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('an idle session\'s last DDL, and a block still open that holds nothing back', async () => {
    const idle = await primary.connect();
    clients.push(idle);
    await idle.query('CREATE TABLE idle_t (a int)');
    const block = await primary.connect();
    clients.push(block);
    await block.query('BEGIN');
    await block.query('CREATE TABLE block_t (a int)');
    primary.psql('postgres', 'CREATE TABLE after_both (a int);\n');
    await primary.waitForLog('after_both');
    // Without --source the log cannot tell that idle_t committed: everything waits behind it.
    const blind = await cli(args());
    assert.equal(blind.code, 0, blind.stderr);
    assert.deepEqual(await relations(a), []);
    // A primary that cannot be asked changes nothing either, and says so.
    const down = await cli(args('--source', 'postgresql://postgres@127.0.0.1:1/postgres', '--connect-timeout', '2'));
    assert.equal(down.code, 0, down.stderr);
    assert.match(readDir(path.join(work, 'log')), /cannot ask the primary \(--source\) about undecided transactions/);
    assert.deepEqual(await relations(a), []);
    const asked = await cli(args('--source', primary.url));
    assert.equal(asked.code, 0, asked.stderr);
    assert.deepEqual(await relations(a), ['public.after_both', 'public.idle_t']);
    await block.query('COMMIT');
    await sleep(200);
    const last = await cli(args('--source', primary.url));
    assert.equal(last.code, 0, last.stderr);
    await assertInStep(primary, a);
  });
});
