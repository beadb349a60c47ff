/**
 * The set-up this tool replaces, as its users run it: the primary logs with SEED_SETTINGS alone
 * (log_statement = 'ddl', no log_disconnections), the DBA runs DDL through psql as the instance's
 * superuser, and the tool runs on the primary's host, from cron, as root or as the database's OS user,
 * connecting to the target as that same superuser. Its config names the data directory, the target
 * and a log directory, and nothing else.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Cluster, makeTempDir, sleep, startPrimaryAndTargets } from '../helpers/cluster';
import { CliResult, cli } from '../helpers/cli';

/** The ids of the database's OS user. */
function postgresIds(): { uid: number; gid: number } {
  return {
    uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()),
  };
}

describe("the seed's own set-up", () => {
  let primary: Cluster;
  let asRoot: Cluster;
  let asPostgres: Cluster;
  let unreachable: Cluster;
  let work: string;

  /** A config file of the seed's keys only, and a home directory of its own (for the state file). */
  const setUp = (name: string, target: Cluster, extra: Record<string, unknown> = {}): { config: string; home: string } => {
    const home = path.join(work, `home-${name}`);
    fs.mkdirSync(home, { mode: 0o700 });
    const config = path.join(work, `${name}.json`);
    fs.writeFileSync(
      config,
      JSON.stringify({ dataDir: primary.dataDir, targets: [`standby=postgresql://postgres@127.0.0.1:${target.port}/postgres`], logDir: path.join(work, `log-${name}`), ...extra }),
    );
    return { config, home };
  };

  before(async () => {
    work = makeTempDir('pgds-seed-');
    [primary, asRoot, asPostgres, unreachable] = await startPrimaryAndTargets(['as_root', 'as_postgres', 'unreachable'], 'ddl', undefined, true);
    const fdw = await primary.query<{ name: string }>('postgres', "SELECT name FROM pg_available_extensions WHERE name IN ('postgres_fdw', 'file_fdw') ORDER BY name DESC LIMIT 1");
    assert.equal(fdw.length, 1, 'the server has neither postgres_fdw nor file_fdw');
    const server =
      fdw[0].name === 'postgres_fdw'
        ? "CREATE SERVER hr FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1', port '5432', dbname 'hr');"
        : 'CREATE SERVER hr FOREIGN DATA WRAPPER file_fdw;';
    const table =
      fdw[0].name === 'postgres_fdw'
        ? "CREATE FOREIGN TABLE employee (id int, name text) SERVER hr OPTIONS (schema_name 'public', table_name 'employee');"
        : "CREATE FOREIGN TABLE employee (id int, name text) SERVER hr OPTIONS (filename '/tmp/employee.csv', format 'csv');";
    // As the DBA does it: psql sessions as the superuser, a statement that fails among them.
    primary.psql('postgres', 'CREATE DATABASE company;\n');
    primary.psql('company', [`CREATE EXTENSION ${fdw[0].name};`, server, table, 'CREATE TABLE employee (id int);', 'CREATE TABLE dept (id int PRIMARY KEY);'].join('\n'));
    primary.psql('company', ['ALTER TABLE dept ADD COLUMN name text;', 'CREATE INDEX dept_name ON dept (name);', "COMMENT ON TABLE dept IS 'departments';"].join('\n'));
    await primary.waitForLog('COMMENT ON TABLE dept');
  });

  after(async () => {
    await Promise.all([primary, asRoot, asPostgres, unreachable].map((c) => c?.destroy()));
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  /** Runs until the target's schema equals the primary's, at most twice; every run exits 0. */
  const syncsWithin2Runs = async (target: Cluster, run: () => Promise<CliResult>): Promise<void> => {
    for (let i = 1; ; i++) {
      const res = await run();
      assert.equal(res.code, 0, `run ${i}: ${res.stderr}`);
      assert.equal(res.stderr, '', `run ${i} says nothing on stderr`);
      const databases = await target.databases();
      if (databases.includes('company') && target.schemaDump('company') === primary.schemaDump('company')) return;
      if (i < 2) continue;
      assert.fail(databases.includes('company') ? `after ${i} runs the target's schema of company differs:\n${target.schemaDump('company')}` : `after ${i} runs the target has no database company (it has ${databases.join(', ')})`);
    }
  };

  let rootRun: { config: string; home: string };

  test('run by root from cron: the DDL of the role it connects as reaches the target', async () => {
    rootRun = setUp('root', asRoot);
    const { config, home } = rootRun;
    await syncsWithin2Runs(asRoot, () => cli(['run', '-c', config], { env: { HOME: home } }));
    assert.deepEqual(await asRoot.databases(), await primary.databases());
  });

  test("run as the database's OS user: the same", async () => {
    const ids = postgresIds();
    const { config, home } = setUp('postgres', asPostgres);
    fs.chownSync(home, ids.uid, ids.gid);
    fs.mkdirSync(path.join(work, 'log-postgres'));
    fs.chownSync(path.join(work, 'log-postgres'), ids.uid, ids.gid);
    await syncsWithin2Runs(asPostgres, () => cli(['run', '-c', config], { env: { HOME: home, USER: 'postgres' }, ...ids }));
  });

  test('a primary it cannot ask: once a statement is held back past the limit, the run exits 1 and says why', async () => {
    const { config, home } = setUp('unreachable', unreachable, { maxHeldBack: 1 });
    await sleep(1100);
    // A role that does not exist: the socket answers, the role does not.
    const res = await cli(['run', '-c', config], { env: { HOME: home, PGUSER: 'no_such_role' } });
    assert.equal(res.code, 1, res.stderr);
    const said = res.stderr.trim().split('\n');
    assert.match(said[0], /^pg-ddl-sync: warning: cannot ask the primary \(--source, or the socket of --data-dir\): .*no_such_role/);
    const held = said.filter((l) => !l.startsWith('pg-ddl-sync: warning:'));
    assert.equal(held.length, 1, res.stderr);
    assert.match(
      held[0],
      /^pg-ddl-sync: a statement has been held back for \d+ seconds \(more than --max-held-back\), and every later one waits behind it: CREATE DATABASE company;? \(postgresql-[^:]+\.csv:\d+, database postgres, session [0-9a-f.]+\); its transaction's end is unknown: .*no_such_role.*; set log_disconnections = on on the primary, or give --source URL or --data-dir DIR/,
    );
    const status = await cli(['status', '-c', config, '--json'], { env: { HOME: home } });
    const held0 = JSON.parse(status.stdout).oldestHeldBack;
    assert.match(held0.sql, /^CREATE DATABASE company/);
    assert.ok(held0.ageSeconds >= 1, status.stdout);
  });

  test("DDL sent from a block that log_statement = 'ddl' cannot judge is named on stderr and in the dry run", async () => {
    const { config, home } = rootRun;
    primary.psql('company', 'BEGIN;\nCREATE TABLE in_block_a (a int);\nCREATE TABLE in_block_b (a int);\nCOMMIT;\n');
    await primary.waitForLog('in_block_b');
    const dry = await cli(['run', '-c', config, '--dry-run'], { env: { HOME: home } });
    assert.equal(dry.code, 0, dry.stderr);
    for (const t of ['in_block_a', 'in_block_b']) {
      assert.match(dry.stdout, new RegExp(`^-- warning: sent as committed without proof: .*\\n-?-?.*CREATE TABLE ${t} \\(a int\\)`, 'm'));
    }
    const res = await cli(['run', '-c', config], { env: { HOME: home } });
    assert.equal(res.code, 0, res.stderr);
    const said = res.stderr.trim().split('\n');
    assert.equal(said.length, 2, res.stderr);
    said.forEach((l, i) =>
      assert.match(l, new RegExp(`^pg-ddl-sync: warning: sent as committed without proof: CREATE TABLE in_block_${'ab'[i]} \\(a int\\);? \\(postgresql-.*, database company\\) ran inside a transaction block, and under log_statement = 'ddl' a ROLLBACK of it is not logged`)),
    );
    assert.equal(asRoot.schemaDump('company'), primary.schemaDump('company'));
  });

  test("a clean restart of the primary leaves no statement undecided: a new state file syncs from the log's start", async () => {
    const { config, home } = rootRun;
    // A psql session that ends with no disconnection logged: its last statement's end is not in the log.
    primary.psql('company', 'CREATE TABLE before_restart (a int);\n');
    await primary.waitForLog('before_restart');
    await primary.stop();
    await primary.restart();
    const res = await cli(['run', '-c', config, '--state-file', path.join(work, 'after-restart.state.json')], { env: { HOME: home } });
    assert.equal(res.code, 0, res.stderr);
    assert.doesNotMatch(res.stderr, /outcome unknown/);
    assert.equal(asRoot.schemaDump('company'), primary.schemaDump('company'));
  });
});
