import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { LogRecord } from '../../src/core/logRecord';
import { listLogFiles } from '../../src/io/logFiles';
import { readRecords } from '../../src/io/logReader';
import { locate, toSaved } from '../../src/io/position';
import { fixture } from '../helpers/fixtures';

const REAL = fs.readFileSync(fixture('pg15-ddl.csv'));

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'pgds-unit-'));
}

function record(sql: string, line = 1): string {
  const quoted = `"statement: ${sql.replace(/"/g, '""')}"`;
  return `2026-01-01 00:00:0${line % 10}.000 UTC,"u","d",1,"h:1",s.1,${line},"idle",2026-01-01 00:00:00 UTC,3/${line},0,LOG,00000,${quoted},,,,,,,,,"psql","client backend",,0\n`;
}

function readAll(dir: string, from = { file: 0, offset: 0 }): { records: LogRecord[]; end: { file: number; offset: number }; damage?: unknown } {
  const records: LogRecord[] = [];
  const res = readRecords(listLogFiles(dir), from, (r) => {
    records.push(r);
  });
  return { records, end: res.end, damage: res.damage };
}

describe('readRecords', () => {
  it('reads a real log from any record offset on, the same records as a whole read', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'a.csv'), REAL);
    const whole = readAll(dir).records;
    for (const r of whole) {
      const rest = readAll(dir, { file: 0, offset: r.offset }).records;
      assert.deepEqual(rest, whole.filter((w) => w.offset >= r.offset));
    }
  });

  it('stops before a half-written record and resumes once it is whole', () => {
    const dir = tempDir();
    const file = path.join(dir, 'a.csv');
    const second = record('CREATE TABLE "x\n;y" ()', 2);
    fs.writeFileSync(file, record('CREATE TABLE a ()') + second.slice(0, 150));
    let res = readAll(dir);
    assert.equal(res.records.length, 1);
    assert.equal(res.end.offset, record('CREATE TABLE a ()').length);
    assert.equal(res.damage, undefined);
    fs.appendFileSync(file, second.slice(150));
    res = readAll(dir, res.end);
    assert.equal(res.records.length, 1);
    assert.equal(res.records[0].kind === 'statement' && res.records[0].text, 'CREATE TABLE "x\n;y" ()');
  });

  it('reads on into newer files and reports damage with its offset', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'b.csv'), record('CREATE TABLE a ()'));
    fs.utimesSync(path.join(dir, 'b.csv'), 1000, 1000);
    fs.writeFileSync(path.join(dir, 'a.csv'), record('CREATE TABLE b ()', 2) + 'not a record\n' + record('CREATE TABLE c ()', 3));
    fs.writeFileSync(path.join(dir, 'c.log'), 'stderr log, never read\n');
    const res = readAll(dir);
    assert.deepEqual(listLogFiles(dir).map((f) => f.name), ['b.csv', 'a.csv']);
    assert.deepEqual(res.records.map((r) => r.kind === 'statement' && r.text), ['CREATE TABLE a ()', 'CREATE TABLE b ()']);
    assert.deepEqual(res.damage, { file: 1, offset: record('CREATE TABLE b ()', 2).length, problem: 'a record must start with a timestamp' });
  });

  it('calls a record cut off at the end of a rotated file damage', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'a.csv'), record('CREATE TABLE a ()') + record('CREATE TABLE b ()', 2).slice(0, 60));
    fs.utimesSync(path.join(dir, 'a.csv'), 1000, 1000);
    fs.writeFileSync(path.join(dir, 'b.csv'), record('CREATE TABLE c ()', 3));
    const res = readAll(dir);
    assert.equal(res.records.length, 1);
    assert.deepEqual(res.damage, { file: 0, offset: record('CREATE TABLE a ()').length, problem: 'a record cut off at the end of a rotated file' });
  });

  it('reads a 5 MB statement intact', () => {
    const dir = tempDir();
    const big = `CREATE TYPE e AS ENUM (${Array.from({ length: 600_000 }, (_, i) => `'v${i}'`).join(',')})`;
    assert.ok(big.length > 5_000_000);
    fs.writeFileSync(path.join(dir, 'a.csv'), record('CREATE TABLE a ()') + record(big, 2) + record('CREATE TABLE c ()', 3));
    const res = readAll(dir);
    assert.deepEqual(res.records.map((r) => (r.kind === 'statement' ? r.text.length : 0)), [17, big.length, 17]);
    assert.equal(res.records[1].kind === 'statement' && res.records[1].text, big);
  });
});

describe('positions', () => {
  it('finds a saved position again, and refuses a file that was truncated and reused', () => {
    const dir = tempDir();
    const file = path.join(dir, 'a.csv');
    fs.writeFileSync(file, record('CREATE TABLE a ()') + record('CREATE TABLE b ()', 2));
    const saved = toSaved(listLogFiles(dir), { file: 0, offset: 10 });
    assert.deepEqual(locate(listLogFiles(dir), saved), { file: 0, offset: 10 });
    fs.writeFileSync(file, record('CREATE TABLE z ()', 5)); // same inode, new first line
    assert.throws(() => locate(listLogFiles(dir), saved), /truncated and reused/);
    fs.rmSync(file);
    assert.throws(() => locate(listLogFiles(dir), saved), /is gone/);
  });
});
