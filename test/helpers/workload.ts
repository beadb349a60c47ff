/**
 * A DDL workload holding every case the tool must get right, run on a real primary through psql (simple
 * protocol, one statement per message) and through a driver (multi-statement strings, extended
 * protocol), with `EXPECTED_COMMITTED`: what committed, which is exactly what a target must receive.
 */
import assert from 'node:assert/strict';
import { Client } from 'pg';
import { Cluster } from './cluster';

export const WORKLOAD_DB = 'fx_company';

/** Statements that committed on the primary, in log order, with their database. */
export const EXPECTED_COMMITTED: { database: string; sql: string }[] = [
  { database: 'postgres', sql: `CREATE DATABASE ${WORKLOAD_DB};` },
  { database: WORKLOAD_DB, sql: 'CREATE EXTENSION file_fdw;' },
  { database: WORKLOAD_DB, sql: 'CREATE SERVER fx_files FOREIGN DATA WRAPPER file_fdw;' },
  {
    database: WORKLOAD_DB,
    sql: "CREATE FOREIGN TABLE employee (empno INT, ename VARCHAR(128), age INT) SERVER fx_files OPTIONS (filename '/dev/null', format 'csv');",
  },
  { database: WORKLOAD_DB, sql: 'CREATE TABLE emp (empno int PRIMARY KEY, ename varchar(128), age int);' },
  {
    database: WORKLOAD_DB,
    sql: `CREATE TABLE "Ünïcødé tàblé" (
  "naïve" text DEFAULT 'it''s "quoted"',
  note text DEFAULT E'tab\\there'
);`,
  },
  {
    database: WORKLOAD_DB,
    sql: `CREATE FUNCTION f_dollar() RETURNS text LANGUAGE plpgsql AS $body$
BEGIN
  RETURN 'semi;colon "and" quotes''';
END
$body$;`,
  },
  { database: WORKLOAD_DB, sql: "CREATE ROLE fx_role PASSWORD 'fx-secret-pw';" },
  { database: WORKLOAD_DB, sql: 'CREATE INDEX CONCURRENTLY emp_age ON emp (age);' },
  { database: WORKLOAD_DB, sql: "COMMENT ON TABLE emp IS 'employees; with a semicolon';" },
  { database: WORKLOAD_DB, sql: 'CREATE TABLE m1 (a int)' },
  { database: WORKLOAD_DB, sql: 'CREATE TABLE m2 (b int)' },
  { database: WORKLOAD_DB, sql: 'CREATE TABLE ext_unnamed (a int)' },
  { database: WORKLOAD_DB, sql: 'CREATE TABLE ext_named (a int)' },
  { database: WORKLOAD_DB, sql: 'ALTER TABLE emp ADD COLUMN dept text' },
];

/** The secret the workload logs in clear; it must never show in the tool's output, log or state. */
export const WORKLOAD_SECRET = 'fx-secret-pw';

/** Failed statements the workload runs; none may reach a target. */
export const EXPECTED_FAILED_OBJECTS = ['t_dup', 't_block', 't_slow', 'm3', 't_killed', 'ext_failed'];

/**
 * Runs the workload on a primary. Leaves nothing open.
 * @param primary a cluster logging with log_statement = 'ddl' (or 'all')
 */
export async function runWorkload(primary: Cluster): Promise<void> {
  const db = WORKLOAD_DB;
  const [first, ...rest] = EXPECTED_COMMITTED;
  primary.psql('postgres', `${first.sql}\n`);
  // psql: one statement per message, including failing ones in and out of blocks.
  const psqlScript = [
    rest[0].sql,
    rest[1].sql,
    rest[2].sql,
    rest[3].sql,
    'CREATE TABLE emp (t_dup int);',
    'BEGIN;',
    'CREATE TABLE t_block ();',
    'SELECT 1/0;',
    'COMMIT;',
    rest[4].sql,
    rest[5].sql,
    rest[6].sql,
    "SET statement_timeout = '300ms';",
    'CREATE TABLE t_slow AS SELECT 1 AS x FROM pg_sleep(2);',
    'RESET statement_timeout;',
    rest[7].sql,
    rest[8].sql,
  ].join('\n');
  const res = primary.psql(db, `${psqlScript}\n`);
  if (!/already exists/.test(res.stderr) || !/canceling statement/.test(res.stderr)) {
    throw new Error(`workload: psql did not fail where expected: ${res.stderr}`);
  }
  // A driver: multi-statement strings (one record, one implicit transaction) and extended protocol.
  const client = await primary.connect(db);
  await client.query(`${rest[9].sql}; ${rest[10].sql}; INSERT INTO m1 VALUES (1)`);
  await client.query('CREATE TABLE m3 (); CREATE TABLE m3 ();').catch(() => undefined);
  await client.query({ text: rest[11].sql, queryMode: 'extended' } as never);
  await client.query({ text: rest[12].sql, name: 'named_ddl' });
  await client.query({ text: 'CREATE TABLE emp (ext_failed int)', name: 'named_fail' }).catch(() => undefined);
  // A session terminated inside its transaction: FATAL, rolled back.
  const victim = await primary.connect(db);
  victim.on('error', () => undefined);
  await victim.query('BEGIN');
  await victim.query('CREATE TABLE t_killed ()');
  const pid = (victim as unknown as { processID: number }).processID;
  await client.query('SELECT pg_terminate_backend($1)', [pid]);
  await victim.end().catch(() => undefined);
  await client.query(rest[13].sql);
  await client.end();
}

/** Opens a client whose session stays open: its last DDL's end is not in the log until it goes. */
export async function openSession(primary: Cluster, sql: string, database = WORKLOAD_DB): Promise<Client> {
  const client = await primary.connect(database);
  client.on('error', () => undefined);
  await client.query(sql);
  return client;
}

/**
 * Asserts that a dry run's listing holds every committed statement of the workload, in log order, each
 * under its database, the secret masked, and none of the failed ones.
 */
export function assertListsCommitted(listing: string): void {
  let from = 0;
  for (const { database, sql } of EXPECTED_COMMITTED) {
    const shown = sql.replace(`'${WORKLOAD_SECRET}'`, "'********'");
    const at = listing.indexOf(shown, from);
    assert.ok(at >= 0, `dry run lacks (in order): ${shown}`);
    const header = listing.slice(listing.lastIndexOf('-- database ', at)).split('\n', 1)[0];
    assert.match(header, new RegExp(`^-- database ${database}, as role [a-z_]+, from postgresql-[0-9_-]+\\.csv:[0-9]+$`));
    from = at + shown.length;
  }
  for (const obj of EXPECTED_FAILED_OBJECTS) assert.ok(!listing.includes(obj), `dry run shows failed ${obj}`);
  assert.ok(!listing.includes(WORKLOAD_SECRET), 'dry run shows the secret');
}
