import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { loadParser } from '../../src/core/parser';
import { SettingChange, applyChange, settingStatements } from '../../src/core/sessionSettings';
import { Analyses, PARSED_TEXT_MAX, Part, StatementTooLarge, analyze, fullAnalysis } from '../../src/core/statements';

before(loadParser);

const kinds = (sql: string): string[] => analyze(sql).parts.map((p) => p.kind);
const only = <K extends Part['kind']>(sql: string, kind: K): Extract<Part, { kind: K }> => {
  const parts = analyze(sql).parts;
  assert.equal(parts.length, 1, sql);
  assert.equal(parts[0].kind, kind, sql);
  return parts[0] as Extract<Part, { kind: K }>;
};

describe('analyze', () => {
  it('sends a lone DDL statement byte for byte', () => {
    const sql = 'CREATE TABLE "Ünï" (a text DEFAULT \'x\'\'y;\');  ';
    assert.equal(only(sql, 'ddl').text, sql);
  });

  it('reads queries and DML by their leading words alone, without the parser', () => {
    for (const sql of ['SELECT 1', 'INSERT INTO t VALUES (1)', 'WITH x AS (SELECT 1) SELECT * FROM x', 'TRUNCATE t', 'VACUUM', 'REINDEX TABLE CONCURRENTLY t', 'DO $$ BEGIN END $$', 'COPY t FROM STDIN', 'CALL p()']) {
      assert.deepEqual(analyze(sql), { parts: [{ kind: 'other' }], parsed: false }, sql);
    }
  });

  it('reads the plainest texts (DML, bare BEGIN/COMMIT/ROLLBACK) by a shortcut that agrees with the full reading', () => {
    const texts = [
      'UPDATE pgbench_accounts SET abalance = abalance + -3035 WHERE aid = 63387;', 'BEGIN;', 'END;', 'begin transaction',
      'START TRANSACTION', 'start', 'START WORK', 'commit work;', '  ROLLBACK  ', 'abort;', 'ROLLBACK TO sp', 'rollback transaction to savepoint sp',
      'COMMIT AND CHAIN', 'COMMIT PREPARED \'g\'', 'BEGIN ISOLATION LEVEL SERIALIZABLE', "insert into t values (';')", 'SELECT 1; CREATE TABLE x()',
      'select 1 -- ;\ncreate table y()', 'select 1 -- x\n;', 'SELECT 1 INTO t', 'select * into t from x;', 'SELECT a FROM "into"', 'selectx',
      'updatex SET', 'SELECT/*c*/1', '/* c */ UPDATE t SET a = 1', 'SELECT 1;;', 'SHOW search_path', 'VALUES (1)', 'FETCH 1 FROM c', 'DELETE FROM t;\n',
      'UPDATEé t', 'END; CREATE TABLE z()', 'SELECT 1 INTO;',
    ];
    for (const sql of texts) assert.deepEqual(analyze(sql), fullAnalysis(sql), sql);
  });

  it("classifies as PostgreSQL's log_statement does", () => {
    for (const sql of ['CREATE TABLE t (a int)', 'ALTER TABLE t ADD b int', 'DROP VIEW v', 'GRANT SELECT ON t TO r', 'COMMENT ON TABLE t IS $$x$$', 'SECURITY LABEL ON TABLE t IS NULL', 'REFRESH MATERIALIZED VIEW m', 'CLUSTER t USING i', 'IMPORT FOREIGN SCHEMA s FROM SERVER f INTO p', 'ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO r', 'REASSIGN OWNED BY a TO b', 'SELECT * INTO t2 FROM t', 'EXPLAIN ANALYZE CREATE TABLE t3 AS SELECT 1', 'CREATE TABLE t4 AS EXECUTE p']) {
      assert.deepEqual(kinds(sql), ['ddl'], sql);
    }
    for (const sql of ['EXPLAIN CREATE TABLE t3 AS SELECT 1', 'EXPLAIN ANALYZE SELECT 1', 'SET CONSTRAINTS ALL DEFERRED', 'SET TRANSACTION ISOLATION LEVEL SERIALIZABLE', 'DISCARD PLANS', 'LOCK t']) {
      assert.deepEqual(kinds(sql), ['other'], sql);
    }
  });

  it('splits a string as the server does: quotes, dollar quotes, comments, BEGIN ATOMIC, non-ASCII', () => {
    const sql = `/* a; */ CREATE TABLE "ä;" (a text DEFAULT 'b;c'); INSERT INTO x VALUES ($$;$$);
      CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END; -- c;
      CREATE TABLE ö ()`;
    const parts = analyze(sql).parts;
    assert.deepEqual(parts.map((p) => p.kind), ['ddl', 'other', 'ddl', 'ddl']);
    assert.deepEqual(parts.filter((p) => p.kind === 'ddl').map((p) => (p as { text: string }).text), [
      `CREATE TABLE "ä;" (a text DEFAULT 'b;c')`,
      'CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END',
      'CREATE TABLE ö ()',
    ]);
  });

  it('knows what must run outside a transaction block, and what acts on a whole database', () => {
    for (const sql of ['CREATE DATABASE x', 'DROP DATABASE x', 'CREATE INDEX CONCURRENTLY i ON t (a)', 'create unique index concurrently if not exists i on t (a)', 'DROP INDEX CONCURRENTLY i', "CREATE TABLESPACE ts LOCATION '/x'", 'ALTER SYSTEM SET work_mem = 1', 'ALTER TABLE IF EXISTS ONLY s.t DETACH PARTITION s.p CONCURRENTLY']) {
      assert.equal(only(sql, 'ddl').runsAlone, true, sql);
    }
    assert.equal(only('CREATE INDEX i ON t (a)', 'ddl').runsAlone, false);
    assert.equal(only('CREATE TABLE concurrently (a int)', 'ddl').runsAlone, false);
    assert.equal(only('ALTER DATABASE x RENAME TO y', 'ddl').actsOnDatabase, true);
    assert.equal(only('CREATE TABLE database (a int)', 'ddl').actsOnDatabase, false);
  });

  it('reads transaction control, with savepoint names, gids and AND CHAIN', () => {
    const verbs = (sql: string) => analyze(sql).parts.map((p) => (p.kind === 'transaction' ? `${p.verb}${p.name ? ` ${p.name}` : ''}${p.chain ? ' chain' : ''}` : p.kind));
    assert.deepEqual(verbs('BEGIN; START TRANSACTION; COMMIT; END; COMMIT AND CHAIN; ROLLBACK; ABORT'), ['begin', 'begin', 'commit', 'commit', 'commit chain', 'rollback', 'rollback']);
    assert.deepEqual(verbs('SAVEPOINT s; RELEASE SAVEPOINT s; ROLLBACK TO s; ROLLBACK TO SAVEPOINT "S t"'), ['savepoint s', 'release s', 'rollback to s', 'rollback to S t']);
    assert.deepEqual(verbs("PREPARE TRANSACTION 'g'; COMMIT PREPARED 'g'; ROLLBACK PREPARED 'h'"), ['prepare transaction g', 'commit prepared g', 'rollback prepared h']);
  });

  it('reads SET, RESET and DISCARD into setting changes', () => {
    const change = (sql: string): SettingChange => only(sql, 'set').change;
    assert.deepEqual(change('SET search_path = a, "B"'), { kind: 'set', name: 'search_path', local: false, statement: 'SET LOCAL search_path = a, "B"' });
    assert.deepEqual(change('set session search_path to a'), { kind: 'set', name: 'search_path', local: false, statement: 'SET LOCAL search_path to a' });
    assert.deepEqual(change('SET LOCAL search_path = a'), { kind: 'set', name: 'search_path', local: true, statement: 'SET LOCAL search_path = a' });
    assert.deepEqual(change("SET SCHEMA 'x'"), { kind: 'set', name: 'search_path', local: false, statement: "SET LOCAL SCHEMA 'x'" });
    assert.deepEqual(change("SET TIME ZONE 'UTC'"), { kind: 'set', name: 'timezone', local: false, statement: "SET LOCAL TIME ZONE 'UTC'" });
    assert.deepEqual(change('SET SESSION AUTHORIZATION app'), { kind: 'set', name: 'session_authorization', local: false, statement: 'SET LOCAL SESSION AUTHORIZATION app' });
    assert.deepEqual(change('/* c */ SET ROLE app'), { kind: 'set', name: 'role', local: false, statement: 'SET LOCAL ROLE app' });
    assert.deepEqual(change('SET ROLE NONE'), { kind: 'reset', name: 'role', local: false });
    assert.deepEqual(change('RESET search_path'), { kind: 'reset', name: 'search_path', local: false });
    assert.deepEqual(change('SET search_path TO DEFAULT'), { kind: 'reset', name: 'search_path', local: false });
    assert.deepEqual(change('RESET ALL'), { kind: 'reset-all', local: false });
    assert.deepEqual(analyze('DISCARD ALL').parts, [{ kind: 'discard', all: true }]);
    assert.deepEqual(analyze('DISCARD TEMP').parts, [{ kind: 'discard', all: false }]);
  });

  it('finds temporary relations made, dropped and named', () => {
    const temp = (sql: string) => only(sql, 'ddl').temp;
    assert.deepEqual(temp('CREATE TEMP TABLE t (a int)').creates, ['t']);
    assert.deepEqual(temp('CREATE TABLE pg_temp.t (a int)').creates, ['t']);
    assert.deepEqual(temp('CREATE TEMPORARY VIEW v AS SELECT * FROM t').creates, ['v']);
    assert.deepEqual(temp('CREATE TEMP VIEW v AS SELECT * FROM t').refs, ['t']);
    assert.deepEqual(temp('SELECT 1 INTO TEMP t').creates, ['t']);
    assert.deepEqual(temp('CREATE TABLE p (LIKE t)').creates, []);
    assert.deepEqual(temp('CREATE TABLE p (LIKE t)').refs, ['t']);
    assert.deepEqual(temp('ALTER TABLE ONLY t ADD c int').refs, ['t']);
    assert.deepEqual(temp('ALTER TABLE s.t ADD c int').refs, []);
    assert.deepEqual(temp('DROP TABLE a, s.b, pg_temp.c').drops, ['a', 'c']);
    assert.deepEqual(temp('COMMENT ON COLUMN t.c IS NULL').refs, ['t']);
    assert.equal(temp('CREATE INDEX i ON t (a)').dependent, 'i');
  });

  it('reads lexically what the parser does not accept', () => {
    const res = analyze('CREATE TABLE t (a int) WITH FUTURE SYNTAX; SET search_path = a');
    assert.equal(res.parsed, false);
    assert.deepEqual(res.parts.map((p) => p.kind), ['ddl', 'set']);
    assert.deepEqual(only('CREATE TEMP TABLE tt (a int) FUTURE', 'ddl').temp.creates, ['tt']);
  });
});

describe('Analyses', () => {
  it('gives a text read under one string syntax only what that text reads as, whatever another text it kept', () => {
    // Any login role can log `on:…` (a syntax error on the primary): kept first, it must not stand
    // for the text after `on:` read with standard_conforming_strings on, nor the other way round.
    const text = 'CREATE TABLE a(); CREATE TABLE b()';
    for (const syntax of ['on', 'off'] as const) {
      const forged = new Analyses();
      forged.of(`${syntax}:${text}`);
      assert.deepEqual(forged.of(text, syntax), analyze(text, syntax), syntax);
      const first = new Analyses();
      first.of(text, syntax);
      assert.deepEqual(first.of(`${syntax}:${text}`), analyze(`${syntax}:${text}`), syntax);
    }
  });
});

describe('a statement too large to parse', () => {
  before(loadParser);

  it('stops at DDL over the limit, and reads a larger text without DDL lexically', () => {
    const literal = `'${'x'.repeat(PARSED_TEXT_MAX)}'`;
    assert.throws(() => analyze(`COMMENT ON TABLE big IS ${literal}`), StatementTooLarge);
    assert.throws(() => analyze(`SELECT ${literal}; CREATE TABLE t ()`), /a statement of 17 MB holds DDL or a session setting, and pg-ddl-sync reads such statements up to 16 MB/);
    assert.deepEqual(analyze(`INSERT INTO t VALUES (${literal})`).parts, [{ kind: 'other' }]);
    assert.equal(analyze(`COMMENT ON TABLE big IS '${'x'.repeat(1024 * 1024)}'`).parts[0].kind, 'ddl');
  });
});

describe('session settings', () => {
  it('keeps the carried settings, in an order that works, and forgets what is reset', () => {
    const set = (name: string, statement: string): SettingChange => ({ kind: 'set', name, local: false, statement });
    let v = applyChange({}, set('search_path', 'SET LOCAL search_path = a'));
    v = applyChange(v, set('statement_timeout', 'SET LOCAL statement_timeout = 1'));
    v = applyChange(v, set('role', 'SET LOCAL ROLE r'));
    v = applyChange(v, set('check_function_bodies', 'SET LOCAL check_function_bodies = off'));
    v = applyChange(v, set('session_authorization', 'SET LOCAL SESSION AUTHORIZATION u'));
    v = applyChange(v, set('role', 'SET LOCAL ROLE r2'));
    assert.deepEqual(settingStatements(v), ['SET LOCAL SESSION AUTHORIZATION u', 'SET LOCAL ROLE r2', 'SET LOCAL check_function_bodies = off', 'SET LOCAL search_path = a']);
    assert.deepEqual(Object.keys(applyChange(v, { kind: 'reset-all', local: false })).sort(), ['role', 'session_authorization']);
    assert.deepEqual(applyChange(v, { kind: 'reset', name: 'session_authorization', local: false }).role, undefined);
    assert.deepEqual(applyChange(v, { kind: 'discard' }), {});
  });
});
