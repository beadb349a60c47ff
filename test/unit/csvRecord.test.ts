import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { fieldBytes, fieldText, scanRecords } from '../../src/core/csvRecord';
import { fixturesOf } from '../helpers/fixtures';

const COLS23 = '2026-01-01 00:00:00.000 UTC,"u","d",1,"h:1",s.1,1,"idle",2026-01-01 00:00:00 UTC,3/1,0,LOG,00000,"statement: CREATE TABLE a()",,,,,,,,,"psql"';

describe('scanRecords on csvlog written by real servers', () => {
  for (const file of [...fixturesOf('ddl'), ...fixturesOf('all')]) {
    const buf = fs.readFileSync(file);
    it(`${file.split('/').pop()}: finds every record, whole`, () => {
      const { records, stop } = scanRecords(buf, 0);
      assert.deepEqual(stop, { kind: 'incomplete', at: buf.length });
      const starts = buf.toString('latin1').split('\n').filter((l) => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/.test(l)).length;
      assert.equal(records.length, starts);
      assert.equal(records[records.length - 1].end, buf.length);
      for (const r of records) assert.ok([23, 24, 26].includes(r.fields.length / 2));
    });

    it(`${file.split('/').pop()}: every field as csv-parse reads it`, () => {
      const { records } = scanRecords(buf, 0);
      const rows = parse(buf, { relax_column_count: true }) as string[][];
      assert.equal(records.length, rows.length);
      for (const [k, r] of records.entries()) {
        assert.deepEqual(Array.from({ length: r.fields.length / 2 }, (_, i) => fieldText(buf, r, i)), rows[k], `record ${k}`);
      }
    });

    it(`${file.split('/').pop()}: a buffer cut anywhere yields only the records complete before the cut`, () => {
      const whole = scanRecords(buf, 0).records;
      for (let cut = 0; cut <= buf.length; cut++) {
        const { records, stop } = scanRecords(buf.subarray(0, cut), 0);
        assert.equal(stop.kind, 'incomplete', `cut at ${cut}`);
        const complete = whole.filter((r) => r.end <= cut);
        assert.equal(records.length, complete.length, `cut at ${cut}`);
        assert.equal(stop.at, complete.length ? complete[complete.length - 1].end : 0, `cut at ${cut}`);
      }
    });
  }
});

describe('scanRecords on hand-made records', () => {
  it('accepts 23-, 24- and 26-column records and decodes quoted fields', () => {
    const buf = Buffer.from(`${COLS23}\n${COLS23},"client backend"\n${COLS23},"client backend",,0\n`);
    const { records, stop } = scanRecords(buf, 0);
    assert.deepEqual(records.map((r) => r.fields.length / 2), [23, 24, 26]);
    assert.equal(fieldText(buf, records[0], 13), 'statement: CREATE TABLE a()');
    assert.equal(stop.kind, 'incomplete');
  });

  it('keeps newlines and doubled quotes inside a field', () => {
    const line = COLS23.replace('"statement: CREATE TABLE a()"', '"statement: CREATE TABLE ""Q""\n(a int);\r\n"');
    const buf = Buffer.from(`${line}\n`);
    const { records } = scanRecords(buf, 0);
    assert.equal(records.length, 1);
    assert.equal(fieldText(buf, records[0], 13), 'statement: CREATE TABLE "Q"\n(a int);\r\n');
  });

  it('names the offset of a record with another column count; more than 26 is a newer format, not damage to pass over', () => {
    const short = Buffer.from(`${COLS23}\n${COLS23.split(',').slice(0, 20).join(',')}\n`);
    assert.deepEqual(scanRecords(short, 0).stop, { kind: 'damaged', at: COLS23.length + 1, problem: 'a record of 20 columns (csvlog has 23, 24 or 26)' });
    const buf = Buffer.from(`${COLS23}\n${COLS23},x,y,z,w,v\n`);
    const { records, stop } = scanRecords(buf, 0);
    assert.equal(records.length, 1);
    assert.deepEqual(stop, {
      kind: 'damaged',
      at: COLS23.length + 1,
      problem: 'a record of 28 columns: a csvlog format newer than this pg-ddl-sync reads (23, 24 or 26 columns); upgrade pg-ddl-sync',
      fatal: true,
    });
  });

  it('rejects a line that is not a record', () => {
    const { stop } = scanRecords(Buffer.from(`${COLS23}\ngarbage here\n`), 0);
    assert.equal(stop.kind, 'damaged');
    assert.equal(stop.at, COLS23.length + 1);
  });

  it('rejects a quote inside an unquoted field and text after a closing quote', () => {
    assert.equal(scanRecords(Buffer.from(COLS23.replace('3/1', '3"1') + '\n'), 0).stop.kind, 'damaged');
    assert.equal(scanRecords(Buffer.from(COLS23.replace('"idle"', '"idle"x') + '\n'), 0).stop.kind, 'damaged');
  });

  it('treats a record cut inside a quoted field as incomplete, not damaged', () => {
    const buf = Buffer.from(`${COLS23}\n${COLS23.slice(0, 120)}`);
    const { records, stop } = scanRecords(buf, 0);
    assert.equal(records.length, 1);
    assert.deepEqual(stop, { kind: 'incomplete', at: COLS23.length + 1 });
  });
});

describe('fieldBytes', () => {
  it('undoes quoting on bytes, leaving them undecoded', () => {
    // "é" in LATIN1 (0xe9) beside a doubled quote: no UTF-8 decoding touches it.
    const [before, after] = COLS23.split('"statement: CREATE TABLE a()"');
    const line = Buffer.concat([Buffer.from(`${before}"statement: CREATE TABLE ""caf`), Buffer.from([0xe9]), Buffer.from(`"" ()"${after}\n`)]);
    const { records } = scanRecords(line, 0);
    assert.equal(records.length, 1);
    assert.deepEqual(fieldBytes(line, records[0], 13), Buffer.concat([Buffer.from('statement: CREATE TABLE "caf'), Buffer.from([0xe9]), Buffer.from('" ()')]));
    assert.deepEqual(fieldBytes(line, records[0], 3), Buffer.from('1'));
  });
});
