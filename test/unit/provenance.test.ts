/**
 * Texts the log cannot prove: an `execute` whose client-chosen name may end at another ": ", a
 * `fetch from` that may be a name's, and quotes that end elsewhere with standard_conforming_strings
 * off. Each is read as one unprovable part, never as the statements it may hold; what cannot change
 * what is sent reads as before.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLASS_SLOT, FIELD_ROOM, PLAIN_SLOT, scanInto } from '../../src/core/csvRecord';
import { executeDoubt, messageText } from '../../src/core/logRecord';
import { loadParser } from '../../src/core/parser';
import { OTHER_LOG, STATEMENT, classifyInto } from '../../src/core/recordClass';
import { readsTheSameUnderBothStringSyntaxes, splitSql } from '../../src/core/sqlSplit';
import { analyze, analyzeRecord } from '../../src/core/statements';

const doubt = (message: string): string | undefined => executeDoubt(messageText(message)!);

describe('execute records whose statement name may end elsewhere', () => {
  it('reads every place the name may end', () => {
    assert.deepEqual(messageText('execute x: SELECT 1 --: CREATE TABLE t()'), { text: 'SELECT 1 --: CREATE TABLE t()', others: ['CREATE TABLE t()'], fetch: false });
    assert.deepEqual(messageText('statement: SELECT 1: 2'), { text: 'SELECT 1: 2', others: [], fetch: false });
    assert.equal(messageText('execute x'), null);
  });

  it('doubts a record when any reading holds more than queries', () => {
    assert.match(doubt('execute x: SET ROLE postgres; ALTER ROLE alice SUPERUSER; --: SELECT 1') ?? '', /may end at any of its 2/);
    assert.match(doubt('execute y: SELECT 1 --: CREATE TABLE hidden()') ?? '', /may end at any of its 2/);
    assert.match(doubt('execute fetch from p: CREATE TABLE t()') ?? '', /repeats a statement/);
  });

  it('believes a record whose readings are all plain queries, or that has one reading', () => {
    assert.equal(doubt(`execute <unnamed>: INSERT INTO t VALUES ('{"a": 1, "b": 2}')`), undefined);
    assert.equal(doubt('execute fetch from c: SELECT * FROM big'), undefined);
    assert.equal(doubt('execute S_1: CREATE TABLE t (a int)'), undefined);
  });

  it('reads a message of thousands of ": " without reading every suffix, and still finds DDL after the first 64', () => {
    const json = `{${Array.from({ length: 20_000 }, (_, i) => `"k${i}": ${i}`).join(', ')}}`;
    // Read whole, its 20,000 readings would take billions of steps: this returns at once or not at all.
    assert.equal(doubt(`execute <unnamed>: INSERT INTO t VALUES ('${json}')`), undefined);
    const pad = Array.from({ length: 100 }, (_, i) => `x${i}: `).join('');
    assert.match(doubt(`execute ${pad}y: CREATE TABLE hidden ()`) ?? '', /may end at any/);
    assert.match(doubt(`execute ${pad}y: SELECT 1; DROP TABLE t`) ?? '', /may end at any/);
  });

  it('analyses a doubted record as one unprovable part, whatever its text holds', () => {
    const a = analyzeRecord({ text: 'SET ROLE postgres; ALTER ROLE alice SUPERUSER; --: SELECT 1', unprovable: 'why' });
    assert.equal(a.parts.length, 1);
    assert.equal(a.parts[0].kind === 'ddl' && a.parts[0].unprovable, 'why');
  });

  it('sends such records to the judge: the scan never passes them over as plain queries', () => {
    const classOf = (message: string): [number, number] => {
      const line = `2026-01-01 00:00:00.000 UTC,"u","d",1,"h:1",s.1,1,"SELECT",2026-01-01 00:00:00 UTC,3/1,0,LOG,00000,"${message}",,,,,,,,,"psql"\n`;
      const bytes = Buffer.from(line);
      const fields = new Int32Array(FIELD_ROOM);
      assert.ok(scanInto(bytes, 0, fields) > 0);
      classifyInto(bytes, fields);
      return [fields[CLASS_SLOT], fields[PLAIN_SLOT]];
    };
    assert.deepEqual(classOf('execute x: SELECT 1 --: CREATE TABLE t()'), [STATEMENT, 0]);
    assert.deepEqual(classOf('execute fetch from c: CREATE TABLE t()'), [STATEMENT, 0]);
    // A repeat of a plain query is no statement of its own, as before.
    assert.deepEqual(classOf('execute fetch from c: SELECT 1'), [OTHER_LOG, 0]);
    assert.deepEqual(classOf('execute S_1: SELECT 1'), [STATEMENT, 1]);
  });
});

describe('texts that read otherwise with standard_conforming_strings off', () => {
  it('finds quotes that end in other places', () => {
    assert.equal(readsTheSameUnderBothStringSyntaxes(`COMMENT ON TABLE t IS 'x\\'; SET ROLE postgres; --'`), false);
    assert.equal(readsTheSameUnderBothStringSyntaxes(`SELECT 'a\\''; DROP TABLE t; --'`), false);
    assert.deepEqual(splitSql(`SELECT 'a\\''; DROP TABLE t; --'`, true).map((s) => s.words[0]), ['select', 'drop', undefined]);
  });

  it('lets backslashes be where the bounds stay the same', () => {
    for (const text of [`ALTER TABLE t ADD CHECK (a ~ '^\\d+$')`, `COMMENT ON TABLE t IS E'x\\'y'`, 'CREATE FUNCTION f() RETURNS text AS $$ SELECT \'\\\' $$ LANGUAGE sql', `COMMENT ON TABLE t IS 'a\\\\'`, 'no backslash']) {
      assert.equal(readsTheSameUnderBothStringSyntaxes(text), true, text);
    }
  });

  it('analyses such a text as one unprovable part when either reading holds more than queries', async () => {
    await loadParser();
    const smuggled = analyze(`COMMENT ON TABLE t IS 'x\\'; SET ROLE postgres; ALTER ROLE alice SUPERUSER; --'`);
    assert.equal(smuggled.parts.length, 1);
    assert.match(smuggled.parts[0].kind === 'ddl' ? (smuggled.parts[0].unprovable ?? '') : '', /standard_conforming_strings/);
    const hidden = analyze(`SELECT 'a\\''; DROP TABLE t; --'`);
    assert.equal(hidden.parts[0].kind === 'ddl' && hidden.parts[0].unprovable !== undefined, true);
    // Queries either way: nothing to send, nothing doubted.
    assert.deepEqual(analyze(`SELECT 'a\\''; SELECT 2; --'`).parts.map((p) => p.kind), ['other']);
  });
});
