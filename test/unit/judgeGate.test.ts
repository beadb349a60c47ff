/**
 * The gate may pass records over only where the judge would decide nothing differently: the judge
 * fed every record and the judge behind the gate must send the same units, in the same order, and
 * keep the same ones waiting, on logs written by real servers and on random logs of sessions whose
 * blocks hold DDL, DML, errors, savepoints, disconnections and restarts, read in one run or several.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { captureMac } from '../../src/core/capture';
import { echoFilter } from '../../src/core/echo';
import { Judge, JudgeSnapshot } from '../../src/core/judge';
import type { RawRecord } from '../../src/core/csvRecord';
import { JudgeGate } from '../../src/core/judgeGate';
import type { LogRecord } from '../../src/core/logRecord';
import { loadParser } from '../../src/core/parser';
import { plainKind } from '../../src/core/plainText';
import { LogFile, describeFiles } from '../../src/io/logFiles';
import { RecordsAt, readRecords } from '../../src/io/logReader';
import { fixturesOf } from '../helpers/fixtures';
import { useScan } from '../helpers/scanPaths';

/** The record at [offset, end) of a file, read again with a reader of its own, closed after. */
function recordAt(file: LogFile, offset: number, end: number): LogRecord | null {
  const at = new RecordsAt();
  try {
    return at.record(file, offset, end);
  } finally {
    at.close();
  }
}

before(loadParser);

interface Outcome {
  sent: string[];
  waiting: string[];
  failed: number;
  notDdl: number;
  ignored: number;
}

const ECHO = echoFilter(['ignored_role']);

/**
 * Judges the files in runs that end at the given offsets of the last file (the judge saved and
 * restored between runs, as `run` does): fed every record, or through the gate (as `run` reads), the
 * records scanned with WebAssembly or, with `noWasm`, by scanInto alone.
 */
function judge(files: LogFile[], how: 'all' | 'gate', cuts: number[] = [], noWasm = false): Outcome {
  useScan(noWasm);
  try {
    return judgeRuns(files, how, cuts);
  } finally {
    useScan(false);
  }
}

function judgeRuns(files: LogFile[], how: 'all' | 'gate', cuts: number[]): Outcome {
  let snapshot: JudgeSnapshot | undefined;
  let starts = files.map(() => 0);
  const out: Outcome = { sent: [], waiting: [], failed: 0, notDdl: 0, ignored: 0 };
  const ref = (i: number) => ({ key: files[i].name, name: files[i].name, ino: 0 });
  for (const limit of [...cuts, undefined]) {
    const j = new Judge(snapshot, { isOwn: ECHO });
    const toJudge = (r: Parameters<Judge['add']>[0], file: number): void => j.add(r, ref(file));
    const gate = new JudgeGate(j, toJudge, (file, offset, end) => recordAt(files[file], offset, end)!);
    const prefilter = how === 'all' ? undefined : (raw: RawRecord, file: number): boolean => gate.admit(raw, file);
    const read = readRecords(files, starts, toJudge, { newestLimit: limit, prefilter });
    gate.release();
    out.ignored += j.counts.own;
    for (const u of j.emit()) out.sent.push(`${u.file.name}@${u.offset} [${u.parts.join(',')}] ${u.database}/${u.user} {${u.settings.join(';')}}`);
    out.failed += j.counts.failed;
    out.notDdl += j.counts.notDdl;
    starts = read.ends;
    snapshot = JSON.parse(JSON.stringify(j.snapshot())) as JudgeSnapshot;
    out.waiting = j.waiting().map((w) => `${w.unit.file.name}@${w.unit.offset} ${w.blocking}`);
  }
  return out;
}

function assertSame(files: LogFile[], cuts: number[] = []): Outcome {
  const all = judge(files, 'all', cuts);
  assert.deepEqual(judge(files, 'gate', cuts), all, 'through the gate');
  assert.deepEqual(judge(files, 'gate', cuts, true), all, 'through the gate, scanned with PG_DDL_SYNC_NO_WASM=1');
  return all;
}

describe('the judge behind the gate', () => {
  for (const file of [...fixturesOf('all'), ...fixturesOf('ddl')]) {
    it(`${path.basename(file)}: sends and holds back what the judge fed every record does`, () => {
      const outcome = assertSame(describeFiles([file]));
      assert.ok(outcome.sent.length > 10);
    });
  }

  it('random logs of many sessions, read in one run or several: the same units, the same order, the same waits', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgds-gate-'));
    try {
      let sent = 0;
      let passed = 0;
      for (let seed = 1; seed <= 150; seed++) {
        const log = randomLog(seed);
        const file = path.join(dir, `log-${seed}.csv`);
        fs.writeFileSync(file, log.text);
        const files = describeFiles([file]);
        const rand = random(seed * 7);
        const cuts = log.ends.filter(() => rand() < 0.02);
        sent += assertSame(files, cuts).sent.length;
        passed += readRecords(files, [0], () => undefined, { prefilter: gateOf(files) }).passedOver;
      }
      // The logs hold what the gate is for, and what it is not.
      assert.ok(sent > 500, `${sent} units sent`);
      assert.ok(passed > 10_000, `${passed} records passed over`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('plainKind', () => {
  it('never passes over a capture record, with the quiet pass or without', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgds-gate-capture-'));
    try {
      const key = 'k3y';
      const payload = JSON.stringify({ xid: '740', sub: '740', tag: 'CREATE TABLE', role: 'app', session_user: 'app', settings: {}, commands: [{ tag: 'CREATE TABLE', type: 'table', identity: 'public.made_in_fn', schema: 'public', in_extension: false }] });
      const message = `pg-ddl-sync capture 1 sha256 ${captureMac('sha256', key, payload)} ${payload}`.replace(/"/g, '""');
      const at = (n: number) => `2026-01-01 00:00:0${n}.000 UTC,"app","db",77,"h:1",6b05ea17.4d,${n},"SELECT",2026-01-01 00:00:00 UTC,3/${n},0`;
      // A session that runs only queries (`'all'` logs them), then DDL inside a function it calls.
      const text = [
        `${at(1)},LOG,00000,"statement: SELECT 1",,,,,,,,,"psql"`,
        `${at(2)},LOG,00000,"${message}",,,,,"PL/pgSQL function ddl_sync_capture.on_ddl() line 20 at RAISE","SELECT mk();",,,"psql"`,
        `${at(3)},LOG,00000,"statement: SELECT 2",,,,,,,,,"psql"`,
      ].join('\n');
      const file = path.join(dir, 'postgresql.csv');
      fs.writeFileSync(file, `${text}\n`);
      const files = describeFiles([file]);
      for (const [how, noWasm] of [['all', false], ['gate', false], ['gate', true]] as const) {
        useScan(noWasm);
        const j = new Judge(undefined, { captureKey: () => key });
        const toJudge = (r: Parameters<Judge['add']>[0], f: number): void => j.add(r, { key: 'f', name: files[f].name, ino: 0 });
        const gate = new JudgeGate(j, toJudge, (f, offset, end) => recordAt(files[f], offset, end)!);
        readRecords(files, [0], toJudge, { prefilter: how === 'all' ? undefined : (raw, f) => gate.admit(raw, f) });
        gate.release();
        assert.deepEqual(j.nestedFound.map((n) => n.objects.map((o) => o.identity)), [['public.made_in_fn']], `${how}${noWasm ? ', no WebAssembly' : ''}`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads the plainest texts, and nothing else', () => {
    const cases: [string, ReturnType<typeof plainKind>][] = [
      ['UPDATE pgbench_accounts SET abalance = abalance + -2761 WHERE aid = 263427;', 'dml'],
      ['  select 1  ', 'dml'],
      ['BEGIN;', 'begin'],
      ['start transaction', 'begin'],
      ['START WORK', null],
      ['end', 'commit'],
      ['commit work ;', 'commit'],
      ['ABORT', 'rollback'],
      ['ROLLBACK TO sp', null],
      ['SELECT 1 INTO t', null],
      ['select a from "Into"', null],
      ['SELECT 1; SELECT 2', null],
      ['selectx', null],
      ['CREATE TABLE t()', null],
      ['', null],
    ];
    for (const [text, kind] of cases) {
      const bytes = Buffer.from(text);
      assert.equal(plainKind(bytes, 0, bytes.length), kind, text);
    }
  });
});

function gateOf(files: LogFile[]) {
  const j = new Judge();
  const gate = new JudgeGate(j, (r, f) => j.add(r, { key: files[f].name, name: files[f].name, ino: 0 }), (file, offset, end) => recordAt(files[file], offset, end)!);
  return (raw: Parameters<JudgeGate['admit']>[0], file: number): boolean => gate.admit(raw, file);
}

/** Few pids, so that they come round. */
const PIDS = [1000, 1001, 1002, 1003, 1004, 1005];

/** A small seeded generator (mulberry32), so that a failing seed can be run again. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Session {
  id: string;
  pid: number;
  backend: number;
  local: number;
  block: 'none' | 'open' | 'aborted';
  app: string;
  user: string;
  /** Sends statements with the extended protocol (logged as `execute …:`, tagged with their own tag). */
  extended: boolean;
}

/**
 * A csvlog of sessions doing what applications and DBAs do, as PostgreSQL 15 logs it under
 * log_statement = 'all': DML (most of it), blocks with and without DDL, errors, savepoints, SETs,
 * disconnections, pids that come round, a server restart, a pg-ddl-sync's own statements.
 */
export function randomLog(seed: number): { text: string; ends: number[] } {
  const rand = random(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
  let line = 0;
  let time = 1_700_000_000;
  let tables = 0;
  const lines: string[] = [];
  const ends: number[] = [];
  let bytes = 0;
  const newSession = (backend: number): Session => {
    time += 1 + Math.floor(rand() * 3);
    const pid = PIDS[Math.floor(rand() * PIDS.length)];
    const app = rand() < 0.1 ? 'pg-ddl-sync' : pick(['psql', 'pgbench', 'app']);
    const user = rand() < 0.05 ? 'ignored_role' : pick(['postgres', 'app_owner']);
    return { id: `${time.toString(16)}.${pid.toString(16)}`, pid, backend, local: 1, block: 'none', app, user, extended: rand() < 0.2 };
  };
  const sessions = [1, 2, 3, 4].map(newSession);
  const emit = (s: Session, severity: string, message: string, opts: { vxid?: string; tag?: string; query?: string } = {}): void => {
    line++;
    if (s.extended && message.startsWith('statement: ')) {
      const sql = message.slice('statement: '.length);
      message = `execute ${pick(['<unnamed>', 'S_1', 'fetch from p'])}: ${sql}`;
      opts = { ...opts, tag: opts.tag ?? sql.split(/[ ;]/)[0].toUpperCase() };
    }
    const tag = opts.tag ?? (s.block === 'none' ? 'idle' : s.block === 'open' ? 'idle in transaction' : 'idle in transaction (aborted)');
    const vxid = opts.vxid ?? (s.block === 'aborted' ? `${s.backend}/0` : `${s.backend}/${s.local}`);
    const q = (t: string): string => `"${t.replace(/"/g, '""')}"`;
    const record = [
      `2026-01-01 00:00:${String(line % 60).padStart(2, '0')}.000 UTC`, q(s.user), q('db'), s.pid, q('127.0.0.1:5000'), s.id, line, q(tag),
      '2026-01-01 00:00:00 UTC', vxid, 0, severity, severity === 'LOG' ? '00000' : 'XX000', q(message), '', '', '', '', '',
      opts.query === undefined ? '' : q(opts.query), '', '', q(s.app), q('client backend'), '', 0,
    ].join(',');
    lines.push(record);
    bytes += Buffer.byteLength(record) + 1;
    ends.push(bytes);
  };
  const statement = (s: Session, sql: string, fails = false): void => {
    if (s.block === 'aborted') {
      emit(s, 'LOG', `statement: ${sql}`);
      emit(s, 'ERROR', 'current transaction is aborted, commands ignored until end of transaction block', { query: sql });
      return;
    }
    emit(s, 'LOG', `statement: ${sql}`);
    if (!fails) return;
    emit(s, 'ERROR', 'boom', { query: sql, tag: 'SELECT' });
    if (s.block === 'open') s.block = 'aborted';
    else s.local++;
  };
  const endTransaction = (s: Session): void => {
    s.block = 'none';
    s.local++;
  };
  for (let step = 0; step < 400; step++) {
    const i = Math.floor(rand() * sessions.length);
    const s = sessions[i];
    const r = rand();
    if (r < 0.4) {
      statement(s, pick(['UPDATE t SET a = a + 1 WHERE id = 7;', 'SELECT a FROM t WHERE id = 7;', 'INSERT INTO h VALUES (1, now());']), rand() < 0.03);
      if (s.block === 'none') s.local++;
    } else if (r < 0.55) {
      if (s.block === 'none') emit(s, 'LOG', `statement: ${pick(['BEGIN;', 'BEGIN', 'begin transaction', 'START TRANSACTION;'])}`), (s.block = 'open');
      else if (s.block === 'aborted') emit(s, 'LOG', `statement: ${pick(['COMMIT;', 'ROLLBACK;', 'END;'])}`), endTransaction(s);
      else {
        const verb = pick(['COMMIT;', 'END;', 'ROLLBACK;', 'commit work', 'ABORT;']);
        emit(s, 'LOG', `statement: ${verb}`);
        // A deferred constraint can fail a COMMIT.
        if (rand() < 0.05 && !/rollback|abort/i.test(verb)) emit(s, 'ERROR', 'deferred constraint', { query: verb, tag: 'COMMIT' });
        endTransaction(s);
      }
    } else if (r < 0.7) {
      const sql = pick([`CREATE TABLE g${++tables} (a int);`, `ALTER TABLE g${tables} ADD COLUMN c${step} int;`, `COMMENT ON TABLE g${tables} IS 'x';`, `CREATE TEMP TABLE tmp${step} (a int);`]);
      statement(s, sql, rand() < 0.15);
      if (s.block === 'none') s.local++;
    } else if (r < 0.75) {
      if (s.block === 'open') statement(s, pick(['SAVEPOINT sp;', 'ROLLBACK TO SAVEPOINT sp;', 'RELEASE sp;']));
      else if (s.block === 'aborted') emit(s, 'LOG', 'statement: ROLLBACK TO sp;'), (s.block = 'open');
      else statement(s, pick(['SET search_path = app, public;', 'RESET search_path;', "SET TIME ZONE 'UTC';"])), s.local++;
    } else if (r < 0.8) {
      emit(s, 'LOG', 'duration: 0.05 ms', rand() < 0.3 ? { vxid: '' } : {});
    } else if (r < 0.84) {
      emit(s, 'LOG', 'disconnection: session time: 0:00:01.000', { vxid: '' });
      sessions[i] = newSession(s.backend);
    } else if (r < 0.85) {
      emit(s, 'FATAL', 'terminating connection due to administrator command', { tag: 'idle' });
      sessions[i] = newSession(s.backend);
    } else if (r < 0.855) {
      const postmaster: Session = { ...newSession(0), app: '', user: '' };
      emit(postmaster, 'LOG', 'database system is ready to accept connections', { vxid: '', tag: '' });
      for (let k = 0; k < sessions.length; k++) sessions[k] = newSession(sessions[k].backend);
    } else {
      statement(s, pick(['UPDATE t SET a = 1;', 'SELECT 1;', 'FETCH 10 FROM c;']));
      if (s.block === 'none') s.local++;
    }
  }
  return { text: `${lines.join('\n')}\n`, ends };
}
