import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { extractDdl } from '../../src/core/extract';

describe('extractDdl', () => {
  it('sends a single DDL statement byte for byte', () => {
    const sql = 'CREATE TABLE "Ünï" (a text DEFAULT \'x\'\'y\');  ';
    assert.deepEqual(extractDdl(sql), { statements: [sql], runsAlone: false, setsSession: false, actsOnDatabase: false, leftOut: 0 });
  });

  it('leaves out statements that are not DDL', () => {
    for (const sql of ['SELECT 1', 'INSERT INTO t VALUES (1)', 'TRUNCATE t', 'BEGIN', 'SET search_path = a', 'VACUUM', 'REINDEX TABLE CONCURRENTLY t', 'DO $$ BEGIN END $$']) {
      assert.deepEqual(extractDdl(sql).statements, [], sql);
    }
    assert.deepEqual(extractDdl('SELECT * INTO t2 FROM t').statements, ['SELECT * INTO t2 FROM t']);
  });

  it('knows what must run outside a transaction block', () => {
    for (const sql of [
      'CREATE DATABASE x',
      'DROP DATABASE x',
      'CREATE INDEX CONCURRENTLY i ON t (a)',
      'create unique index concurrently if not exists i on t (a)',
      'DROP INDEX CONCURRENTLY i',
      'CREATE TABLESPACE ts LOCATION \'/x\'',
      'ALTER SYSTEM SET work_mem = 1',
      "ALTER TYPE e ADD VALUE 'x'",
    ]) {
      assert.equal(extractDdl(sql).runsAlone, true, sql);
    }
    assert.equal(extractDdl('CREATE INDEX i ON t (a)').runsAlone, false);
    assert.equal(extractDdl('CREATE TABLE concurrently (a int)').runsAlone, false);
  });

  it('keeps only the DDL of a mixed string, and its SETs as SET LOCAL', () => {
    const res = extractDdl('SET search_path = s1; CREATE TABLE t (a int); INSERT INTO t VALUES (1); SELECT 1');
    assert.deepEqual(res.statements, ['SET LOCAL search_path = s1', 'CREATE TABLE t (a int)']);
    assert.equal(res.setsSession, true);
    assert.equal(res.leftOut, 2);
  });

  it('drops what a ROLLBACK or ROLLBACK TO SAVEPOINT inside the string undid', () => {
    assert.deepEqual(extractDdl('BEGIN; CREATE TABLE a (); ROLLBACK; CREATE TABLE b ()').statements, ['CREATE TABLE b ()']);
    assert.deepEqual(
      extractDdl('BEGIN; CREATE TABLE a (); SAVEPOINT s; CREATE TABLE b (); ROLLBACK TO SAVEPOINT s; CREATE TABLE c (); COMMIT').statements,
      ['CREATE TABLE a ()', 'CREATE TABLE c ()'],
    );
    assert.deepEqual(extractDdl('BEGIN; CREATE TABLE a (); PREPARE TRANSACTION \'x\'').statements, []);
  });

  it('sends nothing for a string of SETs and queries only', () => {
    assert.deepEqual(extractDdl('SET x = 1; SELECT 1').statements, []);
  });
});
