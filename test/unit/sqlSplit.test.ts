import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitSql } from '../../src/core/sqlSplit';

const texts = (sql: string): string[] => splitSql(sql).map((s) => s.text);

describe('splitSql', () => {
  it('splits at semicolons and drops empty statements', () => {
    assert.deepEqual(texts('CREATE TABLE a(); ; CREATE TABLE b()'), ['CREATE TABLE a()', 'CREATE TABLE b()']);
  });

  it('does not split inside quotes, doubled quotes, E-strings or quoted identifiers', () => {
    assert.deepEqual(texts(`COMMENT ON TABLE t IS 'a;b''c;'; SELECT E'x\\';y'; CREATE TABLE "q;""x" ()`), [
      "COMMENT ON TABLE t IS 'a;b''c;'",
      "SELECT E'x\\';y'",
      'CREATE TABLE "q;""x" ()',
    ]);
  });

  it('does not split inside dollar quotes, with or without a tag, and knows $1 is not one', () => {
    const fn = 'CREATE FUNCTION f() RETURNS int AS $f$ SELECT 1; $$ x; $f$ LANGUAGE sql';
    assert.deepEqual(texts(`${fn}; PREPARE p AS SELECT $1; DO $$BEGIN NULL; END$$`), [fn, 'PREPARE p AS SELECT $1', 'DO $$BEGIN NULL; END$$']);
    assert.deepEqual(texts('CREATE TABLE a$b (x int); SELECT 1'), ['CREATE TABLE a$b (x int)', 'SELECT 1']);
  });

  it('skips line and nested block comments', () => {
    assert.deepEqual(texts('CREATE TABLE a() -- x;y\n; /* a /* ; */ ; */ CREATE TABLE b()'), [
      'CREATE TABLE a() -- x;y',
      '/* a /* ; */ ; */ CREATE TABLE b()',
    ]);
    assert.deepEqual(splitSql('/* c */ -- d\n create TABLE x()')[0].words, ['create', 'table', 'x']);
  });

  it('keeps a rule action list and a BEGIN ATOMIC body whole, as psql does', () => {
    const rule = 'CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO u VALUES (1); INSERT INTO u VALUES (2))';
    const atomic = 'CREATE OR REPLACE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true THEN 1 END; SELECT 2; END';
    assert.deepEqual(texts(`${rule}; ${atomic}; CREATE TABLE z()`), [rule, atomic, 'CREATE TABLE z()']);
  });

  it('notes a top-level INTO', () => {
    assert.equal(splitSql('SELECT * INTO t2 FROM t')[0].topLevelInto, true);
    assert.equal(splitSql('SELECT (SELECT 1 INTO x) FROM t')[0].topLevelInto, false);
  });
});
