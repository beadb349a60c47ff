import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { LogRecord } from '../../src/core/logRecord';
import { listLogFiles } from '../../src/io/logFiles';
import { RecordsAt, readRecords } from '../../src/io/logReader';
import { FileMark, marksAfter, readStarts } from '../../src/io/fileMarks';
import { fixture } from '../helpers/fixtures';
import { forEachScan } from '../helpers/scanPaths';

const REAL = fs.readFileSync(fixture('pg15-ddl.csv'));

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'pgds-unit-'));
}

/** A statement record; its log_time is `atMs` after 2026-01-01 00:00 (by default, a millisecond a line). */
function record(sql: string, line = 1, atMs = line): string {
  const quoted = `"statement: ${sql.replace(/"/g, '""')}"`;
  const time = new Date(Date.UTC(2026, 0, 1) + atMs).toISOString().replace('T', ' ').slice(0, 23);
  return `${time} UTC,"u","d",1,"h:1",s.1,${line},"idle",2026-01-01 00:00:00 UTC,3/${line},0,LOG,00000,${quoted},,,,,,,,,"psql","client backend",,0\n`;
}

/** Reads a directory from the marks of an earlier read (none: from the start of every file). */
function readAll(dir: string, marks?: FileMark[]): { records: LogRecord[]; marks: FileMark[]; damage?: unknown } {
  const files = listLogFiles(dir);
  const records: LogRecord[] = [];
  const { starts, returned } = readStarts(files, marks);
  const res = readRecords(
    files,
    starts,
    (r) => {
      records.push(r);
    },
    { returned },
  );
  return { records, marks: marksAfter(files, res.ends), damage: res.damage };
}

forEachScan(() => {
  describe('readRecords', () => {
    it('reads a real log from any record offset on, the same records as a whole read', () => {
      const dir = tempDir();
      fs.writeFileSync(path.join(dir, 'a.csv'), REAL);
      const whole = readAll(dir);
      for (const r of whole.records) {
        const marks = whole.marks.map((m) => ({ ...m, offset: r.offset }));
        const rest = readAll(dir, marks).records;
        assert.deepEqual(rest, whole.records.filter((w) => w.offset >= r.offset));
      }
    });

    it('stops before a half-written record and resumes once it is whole', () => {
      const dir = tempDir();
      const file = path.join(dir, 'a.csv');
      const second = record('CREATE TABLE "x\n;y" ()', 2);
      fs.writeFileSync(file, record('CREATE TABLE a ()') + second.slice(0, 150));
      let res = readAll(dir);
      assert.equal(res.records.length, 1);
      assert.equal(res.marks[0].offset, record('CREATE TABLE a ()').length);
      assert.equal(res.damage, undefined);
      fs.appendFileSync(file, second.slice(150));
      res = readAll(dir, res.marks);
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

    it('with onSkip, passes over the rest of a damaged file to the next file, and reports what it passed over', () => {
      const dir = tempDir();
      const a = record('CREATE TABLE a ()');
      const cut = record('CREATE TABLE cut ()', 2).slice(0, 90);
      // Whole records after the damage are passed over too: none can be proven to start outside a
      // quoted field.
      const b = record('CREATE TABLE b ()', 5);
      fs.writeFileSync(path.join(dir, 'a.csv'), `${a}${cut}\n${b}`);
      fs.utimesSync(path.join(dir, 'a.csv'), 1000, 1000);
      fs.writeFileSync(path.join(dir, 'b.csv'), record('CREATE TABLE c ()', 6));
      const skipped: unknown[] = [];
      const files = listLogFiles(dir);
      const texts: string[] = [];
      const res = readRecords(files, [0, 0], (r) => void (r.kind === 'statement' && texts.push(r.text)), { onSkip: (s) => skipped.push(s) });
      assert.deepEqual(texts, ['CREATE TABLE a ()', 'CREATE TABLE c ()']);
      const size = fs.statSync(path.join(dir, 'a.csv')).size;
      assert.deepEqual(skipped, [{ file: 0, offset: a.length, end: size, problem: 'a record of 12 columns (csvlog has 23, 24 or 26)' }]);
      assert.equal(res.damage, undefined);
      assert.deepEqual(res.ends, [size, fs.statSync(path.join(dir, 'b.csv')).size]);
    });

    it('with onSkip, passes over a record cut off at the end of a rotated file and reads the next file', () => {
      const dir = tempDir();
      const a = record('CREATE TABLE a ()');
      const cut = record('CREATE TABLE b ()', 2).slice(0, 60);
      fs.writeFileSync(path.join(dir, 'a.csv'), a + cut);
      fs.utimesSync(path.join(dir, 'a.csv'), 1000, 1000);
      fs.writeFileSync(path.join(dir, 'b.csv'), record('CREATE TABLE c ()', 3));
      const skipped: unknown[] = [];
      const texts: string[] = [];
      readRecords(listLogFiles(dir), [0, 0], (r) => void (r.kind === 'statement' && texts.push(r.text)), { onSkip: (s) => skipped.push(s) });
      assert.deepEqual(texts, ['CREATE TABLE a ()', 'CREATE TABLE c ()']);
      assert.deepEqual(skipped, [{ file: 0, offset: a.length, end: a.length + cut.length, problem: 'a record cut off at the end of a rotated file' }]);
    });

    it('with onSkip, damage in the file the server writes stops the read: no next file to go on at', () => {
      const dir = tempDir();
      const a = record('CREATE TABLE a ()');
      fs.writeFileSync(path.join(dir, 'a.csv'), `${a}garbage\n${record('CREATE TABLE b ()', 2)}`);
      const skipped: unknown[] = [];
      const res = readRecords(listLogFiles(dir), [0], () => undefined, { onSkip: (s) => skipped.push(s) });
      assert.deepEqual(skipped, []);
      assert.equal(res.damage?.offset, a.length);
      assert.match(res.damage?.problem ?? '', /only once the server has gone on to the next$/);
      assert.deepEqual(res.ends, [a.length]);
    });

    it('reads an upgrade: 23-column records then 26-column ones, in one file or in two', () => {
      const old = fs.readFileSync(fixture('pg12-ddl.csv'));
      const now = fs.readFileSync(fixture('pg15-ddl.csv'));
      const statements = (dir: string, starts: number[]): string[] => {
        const out: string[] = [];
        const res = readRecords(listLogFiles(dir), starts, (r) => void (r.kind === 'statement' && out.push(r.text)));
        assert.equal(res.damage, undefined);
        return out;
      };
      const one = (buf: Buffer): string[] => {
        const dir = tempDir();
        fs.writeFileSync(path.join(dir, 'a.csv'), buf);
        return statements(dir, [0]);
      };
      const expected = [...one(old), ...one(now)];
      assert.ok(one(old).length > 5 && one(now).length > 5);
      assert.deepEqual(one(Buffer.concat([old, now])), expected);
      const dir = tempDir();
      fs.writeFileSync(path.join(dir, 'postgresql-Mon.csv'), old);
      fs.utimesSync(path.join(dir, 'postgresql-Mon.csv'), 1000, 1000);
      fs.writeFileSync(path.join(dir, 'postgresql-Tue.csv'), now);
      assert.deepEqual(statements(dir, [0, 0]), expected);
    });

    const texts = (records: LogRecord[]): (string | false)[] => records.map((r) => r.kind === 'statement' && r.text);
    const stamped = (sql: string, line: number, time: string): string => record(sql, line).replace(/^[^,]+/, time);

    it('reads files one after another: a record stamped early and written late keeps its place', () => {
      const dir = tempDir();
      // y was stamped before x but written after it (its backend was descheduled in between); z, in the
      // next file, was written after both, though stamped before x.
      const a = path.join(dir, 'postgresql-a.csv');
      fs.writeFileSync(a, stamped('CREATE TABLE x ()', 1, '2026-01-01 00:00:00.500 UTC') + stamped('CREATE TABLE t ()', 2, '2026-01-01 00:00:00.450 UTC'));
      fs.utimesSync(a, 1000, 1000);
      fs.writeFileSync(path.join(dir, 'postgresql-b.csv'), stamped('CREATE INDEX ON t (a)', 3, '2026-01-01 00:00:00.460 UTC'));
      assert.deepEqual(texts(readAll(dir).records), ['CREATE TABLE x ()', 'CREATE TABLE t ()', 'CREATE INDEX ON t (a)']);
    });

    it('files last written in the same clock tick: the one begun first comes first, whatever the names', () => {
      const dir = tempDir();
      const sun = path.join(dir, 'postgresql-Sun.csv');
      const mon = path.join(dir, 'postgresql-Mon.csv');
      fs.writeFileSync(sun, stamped('CREATE TABLE parent ()', 1, '2026-01-04 23:59:59.999 UTC'));
      fs.writeFileSync(mon, stamped('ALTER TABLE parent ADD c int', 2, '2026-01-05 00:00:00.001 UTC'));
      for (const f of [sun, mon]) fs.utimesSync(f, 5000, 5000);
      assert.deepEqual(listLogFiles(dir).map((f) => f.name), ['postgresql-Sun.csv', 'postgresql-Mon.csv']);
      assert.deepEqual(texts(readAll(dir).records), ['CREATE TABLE parent ()', 'ALTER TABLE parent ADD c int']);
      // A file with no record yet is the one being written: last.
      fs.writeFileSync(path.join(dir, 'postgresql-Aaa.csv'), '');
      fs.utimesSync(path.join(dir, 'postgresql-Aaa.csv'), 5000, 5000);
      assert.deepEqual(listLogFiles(dir).map((f) => f.name), ['postgresql-Sun.csv', 'postgresql-Mon.csv', 'postgresql-Aaa.csv']);
    });

    it('merges a file the server came back to, written before and after another file, by log_time', () => {
      const dir = tempDir();
      const mon = path.join(dir, 'postgresql-Mon.csv');
      const sun = path.join(dir, 'postgresql-Sun.csv');
      const tue = path.join(dir, 'postgresql-Tue.csv');
      fs.writeFileSync(mon, stamped('CREATE TABLE mon0 ()', 1, '2026-01-05 10:00:00.000 UTC'));
      fs.utimesSync(mon, 1000, 1000);
      fs.writeFileSync(sun, stamped('CREATE TABLE sun0 ()', 2, '2026-01-11 10:00:00.000 UTC'));
      fs.utimesSync(sun, 2000, 2000);
      const first = readAll(dir);
      // A week later, all before the next run: Monday's name comes round (appended), then Tuesday's,
      // then Monday's again (the tool was stopped).
      fs.appendFileSync(mon, stamped('CREATE TABLE m1 ()', 3, '2026-01-12 10:00:00.000 UTC'));
      fs.writeFileSync(tue, stamped('ALTER TABLE m1 ADD b int', 4, '2026-01-13 10:00:00.000 UTC'));
      fs.utimesSync(tue, 3000, 3000);
      fs.appendFileSync(mon, stamped('ALTER TABLE m1 ADD c int', 5, '2026-01-19 10:00:00.000 UTC'));
      fs.utimesSync(mon, 4000, 4000);
      const files = listLogFiles(dir);
      assert.deepEqual(readStarts(files, first.marks).returned, [false, false, true]);
      assert.deepEqual(texts(readAll(dir, first.marks).records), ['CREATE TABLE m1 ()', 'ALTER TABLE m1 ADD b int', 'ALTER TABLE m1 ADD c int']);
      // Merged, a prefilter sees every record once, in order, and what it turns down goes no further.
      const { starts, returned } = readStarts(files, first.marks);
      const seen: number[] = [];
      const got: LogRecord[] = [];
      const res = readRecords(files, starts, (r) => void got.push(r), {
        returned,
        prefilter: (raw) => {
          seen.push(raw.base + raw.start);
          return seen.length !== 2;
        },
      });
      assert.equal(seen.length, 3);
      assert.equal(res.passedOver, 1);
      assert.deepEqual(texts(got), ['CREATE TABLE m1 ()', 'ALTER TABLE m1 ADD c int']);
    });

    it('across the hour that repeats when summer time ends, a merge keeps the order the files were written in', () => {
      const dir = tempDir();
      const a = path.join(dir, 'postgresql-a.csv');
      const b = path.join(dir, 'postgresql-b.csv');
      fs.writeFileSync(a, stamped('CREATE TABLE a0 ()', 1, '2026-10-25 01:00:00.000 CEST'));
      fs.utimesSync(a, 1000, 1000);
      fs.writeFileSync(b, stamped('CREATE TABLE b0 ()', 2, '2026-10-25 01:30:00.000 CEST'));
      fs.utimesSync(b, 2000, 2000);
      const first = readAll(dir);
      // b goes on to 02:59 CEST; a (came round) is written at 02:00 CET, an hour later: the strings
      // sort the other way.
      fs.appendFileSync(b, stamped('CREATE TABLE before_fallback ()', 3, '2026-10-25 02:59:59.000 CEST'));
      fs.utimesSync(b, 3000, 3000);
      fs.appendFileSync(a, stamped('CREATE TABLE after_fallback ()', 4, '2026-10-25 02:00:01.000 CET'));
      fs.utimesSync(a, 4000, 4000);
      assert.deepEqual(texts(readAll(dir, first.marks).records), ['CREATE TABLE before_fallback ()', 'CREATE TABLE after_fallback ()']);
    });

    it('reads a file the server has left only up to its size at the listing, and the newest up to newestLimit', () => {
      const dir = tempDir();
      const a = path.join(dir, 'a.csv');
      const b = path.join(dir, 'b.csv');
      fs.writeFileSync(a, record('CREATE TABLE a ()'));
      fs.utimesSync(a, 1000, 1000);
      fs.writeFileSync(b, record('CREATE TABLE b ()', 2));
      const files = listLogFiles(dir);
      // Both grow after the listing: a (not the newest) is one the server came back to, for the next run.
      fs.appendFileSync(a, record('CREATE TABLE a2 ()', 3));
      fs.appendFileSync(b, record('CREATE TABLE b2 ()', 4) + record('CREATE TABLE b3 ()', 5));
      const got: LogRecord[] = [];
      const limit = record('CREATE TABLE b ()', 2).length + record('CREATE TABLE b2 ()', 4).length;
      const res = readRecords(files, [0, 0], (r) => void got.push(r), { newestLimit: limit });
      assert.deepEqual(texts(got), ['CREATE TABLE a ()', 'CREATE TABLE b ()', 'CREATE TABLE b2 ()']);
      assert.deepEqual(res.ends, [record('CREATE TABLE a ()').length, limit]);
    });

    it('does not pass over records of a newer csvlog format, even with onSkip', () => {
      const dir = tempDir();
      const newer = record('CREATE TABLE n ()', 2).replace(/\n$/, ',x,y\n');
      fs.writeFileSync(path.join(dir, 'a.csv'), record('CREATE TABLE a ()') + newer + newer);
      const skipped: unknown[] = [];
      const res = readRecords(listLogFiles(dir), [0], () => undefined, { onSkip: (s) => skipped.push(s) });
      assert.deepEqual(skipped, []);
      assert.match(res.damage!.problem, /^a record of 28 columns: a csvlog format newer than this pg-ddl-sync reads/);
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
});

describe('file marks', () => {
  const at = (sql: string, line: number, time: string): string => record(sql, line).replace(/^[^,]+/, time);
  const write = (file: string, content: string, mtime: number): void => {
    fs.writeFileSync(file, content);
    fs.utimesSync(file, mtime, mtime);
  };

  it('a name that came round twice: told by the file that was newest being begun again in between', () => {
    const dir = tempDir();
    const x = path.join(dir, 'x.csv');
    const n = path.join(dir, 'n.csv');
    write(x, at('CREATE TABLE x0 ()', 1, '2026-01-01 00:00:00.000 UTC'), 1000);
    write(n, at('CREATE TABLE n0 ()', 2, '2026-02-28 00:00:00.000 UTC'), 2000);
    const first = readAll(dir);
    // x used (and lost), n begun again, x emptied and used again: all before the next run.
    write(x, at('CREATE TABLE x1 ()', 3, '2026-03-01 00:00:00.000 UTC'), 3000);
    write(n, at('CREATE TABLE n1 ()', 4, '2026-03-01 06:00:00.000 UTC'), 4000);
    write(x, at('CREATE TABLE x2 ()', 5, '2026-03-01 12:00:00.000 UTC'), 5000);
    // A day since the mark, two months between x's first records: time alone would not tell.
    const times = { markedAt: new Date('2026-02-28T00:00:00Z'), now: new Date('2026-03-01T12:00:00Z') };
    const { gaps } = readStarts(listLogFiles(dir), first.marks, times);
    // n, being written at the last run, may have lost what it gained after it, too.
    assert.deepEqual(gaps.map((g) => g.file), ['x.csv', 'n.csv']);
    assert.match(gaps[0].problem, /may have come round more than once/);
  });

  it('a name that came round once since the mark: read from its start, no gap', () => {
    const dir = tempDir();
    const x = path.join(dir, 'x.csv');
    const n = path.join(dir, 'n.csv');
    write(x, at('CREATE TABLE x0 ()', 1, '2026-01-01 00:00:00.000 UTC'), 1000);
    write(n, at('CREATE TABLE n0 ()', 2, '2026-01-01 00:30:00.000 UTC'), 2000);
    const first = readAll(dir);
    write(x, at('CREATE TABLE x1 ()', 3, '2026-01-01 01:00:00.000 UTC'), 3000);
    const times = { markedAt: new Date('2026-01-01T00:59:00Z'), now: new Date('2026-01-01T01:00:30Z') };
    const files = listLogFiles(dir);
    const { starts, gaps } = readStarts(files, first.marks, times);
    assert.deepEqual(gaps, []);
    assert.deepEqual(starts, [first.marks[1].offset, 0]);
  });

  it('a file that was newest and empty at the last run, written after another file was begun: a gap', () => {
    const dir = tempDir();
    const x = path.join(dir, 'x.csv');
    const y = path.join(dir, 'y.csv');
    write(y, at('CREATE TABLE y0 ()', 1, '2026-01-01 00:00:00.000 UTC'), 1000);
    write(x, '', 2000);
    const first = readAll(dir);
    assert.equal(first.marks[1].fingerprint, null);
    // x got records (lost), y was emptied and begun again, then x again.
    write(y, at('CREATE TABLE y1 ()', 2, '2026-01-01 02:00:00.000 UTC'), 3000);
    write(x, at('CREATE TABLE x1 ()', 3, '2026-01-01 03:00:00.000 UTC'), 4000);
    const { gaps } = readStarts(listLogFiles(dir), first.marks);
    // y, read to its end and used once since, lost nothing.
    assert.deepEqual(gaps.map((g) => g.file), ['x.csv']);
    // Merely grown (the usual case: a file rotated to, written after the run): no gap.
    const dir2 = tempDir();
    write(path.join(dir2, 'y.csv'), at('CREATE TABLE y0 ()', 1, '2026-01-01 00:00:00.000 UTC'), 1000);
    write(path.join(dir2, 'x.csv'), '', 2000);
    const marks2 = readAll(dir2).marks;
    write(path.join(dir2, 'x.csv'), at('CREATE TABLE x1 ()', 3, '2026-01-01 03:00:00.000 UTC'), 4000);
    assert.deepEqual(readStarts(listLogFiles(dir2), marks2).gaps, []);
  });

  it('an inode of a deleted file that a new file got is no reuse; a file cut shorter is not read again', () => {
    const dir = tempDir();
    const a = path.join(dir, 'a.csv');
    const b = path.join(dir, 'b.csv');
    write(a, record('CREATE TABLE a ()'), 1000);
    write(b, record('CREATE TABLE b ()', 2), 2000);
    const first = readAll(dir);
    const ino = fs.statSync(a).ino;
    // Retention deletes a; a new file may get its inode (simulated: the mark claims it).
    fs.rmSync(a);
    write(path.join(dir, 'c.csv'), '', 3000);
    const marks = first.marks.map((m) => (m.name === 'a.csv' ? { ...m, ino: fs.statSync(path.join(dir, 'c.csv')).ino } : m));
    assert.notEqual(ino, undefined);
    assert.deepEqual(readStarts(listLogFiles(dir), marks).gaps, []);
    // b, the same file by inode and first line, cut shorter than what was read.
    const cut = record('CREATE TABLE b ()', 2).length;
    fs.appendFileSync(b, record('CREATE TABLE b2 ()', 3));
    const second = readAll(dir, first.marks);
    fs.truncateSync(b, cut);
    const { starts, gaps } = readStarts(listLogFiles(dir), second.marks);
    assert.equal(starts[listLogFiles(dir).findIndex((f) => f.name === 'b.csv')], cut);
    assert.deepEqual(gaps.map((g) => g.file), ['b.csv']);
  });

  it('finds a file again by inode and first line, and reads a reused name from its start, with the gap', () => {
    const dir = tempDir();
    const file = path.join(dir, 'a.csv');
    fs.writeFileSync(file, record('CREATE TABLE a ()') + record('CREATE TABLE b ()', 2));
    const first = readAll(dir);
    assert.equal(first.records.length, 2);
    fs.appendFileSync(file, record('CREATE TABLE c ()', 3));
    assert.deepEqual(readAll(dir, first.marks).records.map((r) => r.kind === 'statement' && r.text), ['CREATE TABLE c ()']);
    // The same name and inode, emptied and written again (log_truncate_on_rotation): read from its
    // start; the record c it held, never read, is reported lost.
    fs.writeFileSync(file, record('CREATE TABLE z ()', 5));
    const files = listLogFiles(dir);
    const { starts, gaps } = readStarts(files, first.marks);
    assert.deepEqual(starts, [0]);
    assert.deepEqual(gaps.map((g) => [g.file, g.offset, g.size]), [['a.csv', first.marks[0].offset, first.marks[0].size]]);
    fs.rmSync(file);
    assert.match(readStarts(listLogFiles(dir), first.marks).gaps[0].problem, /gone/);
  });

  it('a file written again after a newer one (a name that comes round, appended to) is read on, last', () => {
    const dir = tempDir();
    const mon = path.join(dir, 'postgresql-Mon.csv');
    const tue = path.join(dir, 'postgresql-Tue.csv');
    fs.writeFileSync(mon, record('CREATE TABLE mon1 ()', 1));
    fs.utimesSync(mon, 1000, 1000);
    fs.writeFileSync(tue, record('CREATE TABLE tue1 ()', 2));
    fs.utimesSync(tue, 2000, 2000);
    const first = readAll(dir);
    assert.deepEqual(first.records.map((r) => r.kind === 'statement' && r.text), ['CREATE TABLE mon1 ()', 'CREATE TABLE tue1 ()']);
    fs.appendFileSync(tue, record('CREATE TABLE tue2 ()', 3));
    fs.utimesSync(tue, 3000, 3000);
    fs.appendFileSync(mon, record('CREATE TABLE mon2 ()', 4));
    fs.utimesSync(mon, 4000, 4000);
    const next = readAll(dir, first.marks);
    assert.deepEqual(next.records.map((r) => r.kind === 'statement' && r.text), ['CREATE TABLE tue2 ()', 'CREATE TABLE mon2 ()']);
    assert.deepEqual(readStarts(listLogFiles(dir), next.marks).gaps, []);
  });
});

forEachScan(() => {
  describe('the reader against a model of the log directory', () => {
    /**
     * Random writes, rotations (a new file, or a name that comes round: appended to, or emptied, as
     * log_truncate_on_rotation says), half written records, deletions of old files, and reads between
     * them. Checked against what the model
     * knows was written: every record read once, in the order written, except those that went before
     * they were read, which the reader must report as gaps.
     */
    it('reads every record once, in order, and reports every loss', () => {
      let seed = 20261125;
      const random = (n: number): number => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed % n;
      };
      for (let round = 0; round < 40; round++) {
        const dir = tempDir();
        const names = ['f0.csv', 'f1.csv', 'f2.csv'];
        // The server empties a file whose name comes round only on a time-based rotation, and then
        // every time (log_truncate_on_rotation = on); else it appends to it.
        const truncateOnRotation = random(2) === 0;
        // Log time, in ms: a time-based rotation comes at the next whole period, so a name comes round
        // once every names.length periods.
        const PERIOD = 1000;
        let clock = 0;
        let clockAtRead: number | undefined;
        const dateOf = (ms: number): Date => new Date(Date.UTC(2026, 0, 1) + ms);
        let current = path.join(dir, names[0]);
        let time = 1000;
        let line = 0;
        let pendingTail = '';
        const written: string[] = [];
        const lost = new Set<string>();
        const unreadIn = new Map<string, string[]>(); // file -> records written there not read yet
        let marks: FileMark[] | undefined;
        const read: string[] = [];
        // Files that lost records not read yet since the last read, where the reader can know it: each
        // must be reported. It can know of a file it saw at the last read with a whole first record
        // (its identity) that was then being written, or is emptied and written again; not of one made
        // and deleted between two reads, nor always of one that had no whole record yet (see fileMarks).
        let lostSinceRead = new Set<string>();
        let pendingLoss = new Set<string>();
        let knownAtRead = new Set<string>();
        let writingAtRead = '';
        const lose = (file: string, emptied: boolean): void => {
          const gone = unreadIn.get(file) ?? [];
          for (const sql of gone) lost.add(sql);
          if (gone.length > 0 && knownAtRead.has(file) && (emptied || file === writingAtRead)) lostSinceRead.add(file);
        };
        const touch = (file: string): void => {
          time += 10;
          if (fs.existsSync(file)) fs.utimesSync(file, time, time);
        };
        const write = (): void => {
          const sql = `CREATE TABLE t${++line} ()`;
          const rec = record(sql, line, (clock += 1));
          // Sometimes half of a record now, the rest at the next write (the collector writes line by line).
          const cut = random(4) === 0 ? random(rec.length - 1) + 1 : rec.length;
          fs.appendFileSync(current, pendingTail + rec.slice(0, cut));
          pendingTail = rec.slice(cut);
          touch(current);
          written.push(sql);
          unreadIn.set(current, [...(unreadIn.get(current) ?? []), sql]);
        };
        const finishRecord = (): void => {
          if (pendingTail) fs.appendFileSync(current, pendingTail);
          pendingTail = '';
          touch(current);
        };
        const readNow = (): void => {
          const files = listLogFiles(dir);
          const start = readStarts(files, marks, { markedAt: clockAtRead === undefined ? undefined : dateOf(clockAtRead), now: dateOf(clock) });
          clockAtRead = clock;
          // Every file that lost records the reader can know of is reported, at this read; or, while
          // the name that came round holds no whole record yet, at a later one (its mark is kept).
          const reported = new Set(start.gaps.map((g) => g.file));
          const deferred = new Set(files.filter((_, i) => start.kept[i]).map((f) => f.name));
          const stillPending = new Set<string>();
          for (const file of [...lostSinceRead, ...pendingLoss]) {
            const name = path.basename(file);
            if (reported.has(name)) continue;
            assert.ok(deferred.has(name), `round ${round}: a loss in ${name} not reported`);
            stillPending.add(file);
          }
          // And nothing else, where names are not emptied: but the file being written at the last read,
          // gone since (what it gained after that read cannot be known), and a file left without a
          // whole record then and written since (whether it was emptied in between cannot be known).
          if (!truncateOnRotation) {
            const lostNames = new Set([...lostSinceRead, ...pendingLoss].map((f) => path.basename(f)));
            const unknowable = new Set((marks ?? []).filter((m, i) => i === marks!.length - 1 || m.fingerprint === null).map((m) => m.name));
            for (const g of start.gaps) assert.ok(lostNames.has(g.file) || unknowable.has(g.file), `round ${round}: ${g.file} reported, nothing lost`);
          }
          lostSinceRead = new Set();
          pendingLoss = stillPending;
          writingAtRead = current;
          const got: string[] = [];
          const res = readRecords(
            files,
            start.starts,
            (r) => {
              if (r.kind === 'statement') got.push(r.text);
            },
            { returned: start.returned },
          );
          assert.equal(res.damage, undefined, `round ${round}: ${JSON.stringify(res.damage)}`);
          marks = marksAfter(files, res.ends, start.kept, dateOf(clock));
          knownAtRead = new Set(marks.filter((m) => m.fingerprint !== null).map((m) => path.join(dir, m.name)));
          read.push(...got);
          for (const [file, pending] of unreadIn) unreadIn.set(file, pending.filter((sql) => !got.includes(sql)));
        };
        for (let step = 0; step < 60; step++) {
          const what = random(10);
          if (what < 6) {
            write();
          } else if (what < 8) {
            readNow();
          } else {
            // Rotation: the record being written is finished first (rotation happens between records).
            finishRecord();
            const next = truncateOnRotation
              ? path.join(dir, names[(names.indexOf(path.basename(current)) + 1) % names.length])
              : path.join(dir, names[random(names.length)]);
            if (truncateOnRotation) clock = (Math.floor(clock / PERIOD) + 1) * PERIOD;
            if (next !== current && fs.existsSync(next) && truncateOnRotation) {
              // Emptied and written again: what it held and was not read is lost.
              lose(next, true);
              fs.writeFileSync(next, '');
              unreadIn.set(next, []);
            } else if (random(3) === 0) {
              // A cleanup job deletes an old file, read or not.
              const victim = path.join(dir, names[random(names.length)]);
              if (victim !== current && fs.existsSync(victim)) {
                lose(victim, false);
                fs.rmSync(victim);
                unreadIn.delete(victim);
              }
            }
            current = next;
          }
        }
        finishRecord();
        readNow();
        const expected = written.filter((sql) => !lost.has(sql));
        assert.deepEqual(read, expected, `round ${round}`);
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});

/** The process's open file descriptors. */
function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

describe('records read again', () => {
  it('opens each file once however many records it reads there, and close() closes them all', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'a.csv'), record('CREATE TABLE a1 ()', 1) + record('CREATE TABLE a2 ()', 2));
    fs.writeFileSync(path.join(dir, 'b.csv'), record('CREATE TABLE b1 ()', 3));
    const files = listLogFiles(dir);
    const places: { file: number; offset: number; end: number }[] = [];
    readRecords(files, [0, 0], (r, file, raw) => {
      places.push({ file, offset: r.offset, end: r.offset + raw.length });
    });
    assert.equal(places.length, 3);
    const before = openFds();
    const at = new RecordsAt();
    for (let round = 0; round < 3; round++) {
      for (const p of places) assert.equal(at.record(files[p.file], p.offset, p.end)?.kind, 'statement');
    }
    assert.equal(openFds(), before + 2);
    at.close();
    assert.equal(openFds(), before);
    // Used again after close(): it opens anew.
    assert.equal(at.statement(files[0], places[1].offset, places[1].end, (b) => b.toString('utf8'))?.text, 'CREATE TABLE a2 ()');
    at.close();
    assert.equal(openFds(), before);
  });
});
