import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { judgeForm } from '../../src/core/encoding';
import { captureMac } from '../../src/core/capture';
import { Judge, JudgeSnapshot } from '../../src/core/judge';
import { LogRecord } from '../../src/core/logRecord';
import { loadParser } from '../../src/core/parser';
import { analyze } from '../../src/core/statements';
import { makePlan } from '../../src/pipeline/read';
import { describeFiles } from '../../src/io/logFiles';
import { silentLogger } from '../helpers/logger';
import { UnitTexts } from '../../src/io/unitText';
import { fixturesOf } from '../helpers/fixtures';
import { EXPECTED_COMMITTED } from '../helpers/workload';

before(loadParser);

describe('the judge on csvlog written by real servers', () => {
  for (const mode of ['ddl', 'all'] as const) {
    for (const file of fixturesOf(mode)) {
      const name = file.split('/').pop();
      it(`${name}: sends exactly what committed, in order, in its database, and waits for the open session`, async () => {
        const files = describeFiles([file]);
        const plan = await makePlan(files, [0], undefined, { log: silentLogger() });
        const texts = new UnitTexts(files);
        const sent = plan.units.flatMap((u) => {
          const t = texts.get(u);
          assert.equal(t.kind, 'ok');
          return t.kind === 'ok' ? t.text.statements.map((st) => ({ database: u.database, sql: st.sql })) : [];
        });
        assert.deepEqual(sent, EXPECTED_COMMITTED);
        const waiting = plan.judge.waiting().map((w) => texts.get(w.unit));
        assert.deepEqual(waiting.map((t) => t.kind === 'ok' && t.text.statements.map((st) => st.sql)), [['CREATE TABLE t_open ()']]);
        // t_dup, t_block, t_slow, m3, t_killed, ext_failed
        assert.equal(plan.judge.counts.failed, 6);
      });
    }
  }
});

/** Each hand-made session's backend pid: the code of its name's first letter. */
const pidOf = (session: string): number => session.charCodeAt(0);

/** Builds records by hand: statements, failures and other records of sessions. */
class Log {
  private offset = 0;
  readonly records: LogRecord[] = [];

  stmt(session: string, vxid: string, text: string, commandTag = 'idle'): this {
    this.records.push({
      kind: 'statement', offset: this.offset, end: this.offset + 1, sessionId: session, vxid, logTime: '', userName: 'u',
      databaseName: 'd', processId: pidOf(session), commandTag, applicationName: '', text,
    });
    this.offset += 1;
    return this;
  }

  fail(session: string, vxid: string, query: string, severity: 'ERROR' | 'FATAL' | 'PANIC' = 'ERROR'): this {
    this.records.push({ kind: 'failure', offset: this.offset, end: this.offset + 1, logTime: '', sessionId: session, vxid, severity, sqlState: 'XX000', message: 'boom', query });
    this.offset += 1;
    return this;
  }

  other(session: string, vxid: string, event?: 'disconnection' | 'server-restart'): this {
    this.records.push({ kind: 'other', offset: this.offset, end: this.offset + 1, logTime: '', sessionId: session, vxid, event });
    this.offset += 1;
    return this;
  }
}

const FILE = { key: 'k', name: 'f.csv', ino: 1 };

/** What the judge sends, as `text` lines (SET LOCALs in brackets), after feeding it the records. */
function sent(judge: Judge, log: Log, texts: Map<number, string>): string[] {
  for (const r of log.records) {
    if (r.kind === 'statement') texts.set(r.offset, r.text);
    judge.add(r, FILE);
  }
  return judge.emit().map((u) => {
    const parts = analyze(texts.get(u.offset)!).parts;
    const reset = (i: number): string | undefined => {
      const r = u.resets?.[i];
      return r && [...r.statements, ...(r.restoresRole ? ['(the unit role)'] : [])].join('; ');
    };
    const body = u.parts.map((i) => reset(i) ?? u.rewrites?.[i] ?? (parts[i] as { text: string }).text).join('; ');
    return u.settings.length > 0 ? `[${u.settings.join('; ')}] ${body}` : body;
  });
}

function judged(log: Log): { sent: string[]; judge: Judge } {
  const judge = new Judge();
  return { sent: sent(judge, log, new Map()), judge };
}

describe('the judge on hand-made logs', () => {
  it('commits a statement once its session moves on, and not before', () => {
    const log = new Log().stmt('a', '3/1', 'CREATE TABLE x()').other('a', '3/1').other('b', '4/1', 'disconnection');
    assert.deepEqual(judged(log).sent, []);
    log.stmt('a', '3/2', 'SELECT 1');
    assert.deepEqual(judged(log).sent, ['CREATE TABLE x()']);
  });

  it('lets decided transactions go while it reads, so a long log holds only what is undecided', () => {
    // 30,000 transactions of sessions that never disconnect; one DDL of them fails, one stays open.
    const log = new Log().stmt('z', '9/1', 'BEGIN').stmt('z', '9/1', 'CREATE TABLE open_one()', 'idle in transaction');
    for (let i = 1; i <= 30_000; i++) {
      const session = 'abc'[i % 3];
      log.stmt(session, `${i % 3}/${i}`, i === 15_000 ? 'CREATE TABLE bad()' : i % 1000 === 0 ? `CREATE TABLE t${i}()` : 'UPDATE t SET a = 1');
      if (i === 15_000) log.fail(session, `${i % 3}/${i}`, 'CREATE TABLE bad()');
    }
    log.stmt('a', '0/99999', 'SELECT 1').stmt('b', '1/99999', 'SELECT 1').stmt('c', '2/99999', 'SELECT 1');
    const judge = new Judge();
    for (const r of log.records) judge.add(r, FILE);
    const kept = judge.snapshot();
    assert.ok(kept.txs.length < 10_000, `${kept.txs.length} transactions kept`);
    const { sent: out, judge: after } = judged(log);
    assert.deepEqual(out, Array.from({ length: 30 }, (_, k) => `CREATE TABLE t${(k + 1) * 1000}()`).filter((t) => t !== 'CREATE TABLE t15000()'));
    assert.equal(after.waiting().length, 1);
  });

  it('an ERROR long after its statement, behind other sessions, still fails it', () => {
    const log = new Log()
      .stmt('a', '3/1', 'CREATE TABLE x()')
      .stmt('b', '4/1', 'CREATE TABLE y()')
      .other('b', '4/2')
      .fail('a', '3/1', 'CREATE TABLE x()')
      .other('a', '', 'disconnection');
    assert.deepEqual(judged(log).sent, ['CREATE TABLE y()']);
  });

  it('an error in a later transaction of the session does not undo an earlier one', () => {
    const log = new Log().stmt('a', '3/1', 'CREATE TABLE x()').stmt('a', '3/2', 'CREATE TABLE y()').fail('a', '3/2', 'CREATE TABLE y()');
    assert.deepEqual(judged(log).sent, ['CREATE TABLE x()']);
  });

  it("log_statement = 'ddl': an error anywhere in a block fails all of it", () => {
    const log = new Log()
      .stmt('a', '3/1', 'CREATE TABLE x()', 'idle in transaction')
      .stmt('a', '3/1', 'CREATE TABLE y()', 'idle in transaction')
      .fail('a', '3/1', 'SELECT 1/0')
      .stmt('a', '3/2', 'CREATE TABLE z()')
      .other('a', '', 'disconnection');
    const { sent: out, judge } = judged(log);
    assert.deepEqual(out, ['CREATE TABLE z()']);
    assert.equal(judge.counts.failed, 2);
  });

  it("log_statement = 'ddl': a block that goes on after an error drops the failed statement and says so", () => {
    const log = new Log()
      .stmt('a', '3/1', 'CREATE TABLE x()', 'idle in transaction')
      .stmt('a', '3/1', 'CREATE TABLE y()', 'idle in transaction')
      .fail('a', '3/1', 'CREATE TABLE y()')
      .stmt('a', '3/1', 'CREATE TABLE z()', 'idle in transaction')
      .other('a', '', 'disconnection');
    const { sent: out, judge } = judged(log);
    assert.deepEqual(out, ['CREATE TABLE x()', 'CREATE TABLE z()']);
    assert.equal(judge.counts.recoveredUnseen, 1);
  });

  it("log_statement = 'ddl': the failed statement is found by its text's hash when its error comes in a later run", () => {
    // The unit's hash is taken when the first run saves it: the second run has no text of it left.
    const first = new Log()
      .stmt('a', '3/1', 'CREATE TABLE x()', 'idle in transaction')
      .stmt('a', '3/1', 'CREATE TABLE y()', 'idle in transaction');
    const second = new Log()
      .fail('a', '3/1', 'CREATE TABLE y()')
      .stmt('a', '3/1', 'CREATE TABLE z()', 'idle in transaction')
      .other('a', '', 'disconnection');
    const texts = new Map<number, string>();
    const one = new Judge();
    assert.deepEqual(sent(one, first, texts), []);
    const saved = JSON.parse(JSON.stringify(one.snapshot())) as JudgeSnapshot;
    assert.equal(saved.pending.length, 2);
    // The second log's records come after the first's.
    for (const r of second.records) Object.assign(r, { offset: r.offset + 2, end: r.end + 2 });
    const two = new Judge(saved);
    assert.deepEqual(sent(two, second, texts), ['CREATE TABLE x()', 'CREATE TABLE z()']);
    assert.equal(two.counts.recoveredUnseen, 1);
  });

  it('a failed text of another session that starts `on:` does not stand for a later one read with standard_conforming_strings on', () => {
    // The judge keeps what it parsed by text and string syntax: any login role can log `on:` and a
    // text it expects a DBA to run next, which fails on the primary.
    const text = 'CREATE TABLE a(); CREATE TABLE b()';
    const log = new Log()
      .stmt('b', '4/1', `on:${text}`)
      .fail('b', '4/1', `on:${text}`)
      .stmt('a', '3/1', 'SET standard_conforming_strings = on')
      .stmt('a', '3/2', text)
      .stmt('a', '3/3', 'SELECT 1');
    assert.deepEqual(judged(log).sent, [`[SET LOCAL standard_conforming_strings = on] ${text}`]);
  });

  it("log_statement = 'all': ROLLBACK, ABORT, and COMMIT of an aborted block send nothing", () => {
    const log = new Log()
      .stmt('a', '3/1', 'BEGIN')
      .stmt('a', '3/1', 'CREATE TABLE r1()', 'idle in transaction')
      .stmt('a', '3/1', 'ROLLBACK', 'idle in transaction')
      .stmt('a', '3/2', 'START TRANSACTION')
      .stmt('a', '3/2', 'CREATE TABLE r2()', 'idle in transaction')
      .stmt('a', '3/2', 'ABORT', 'idle in transaction')
      .stmt('a', '3/3', 'BEGIN')
      .stmt('a', '3/3', 'CREATE TABLE r3()', 'idle in transaction')
      .stmt('a', '3/3', 'SELECT 1/0', 'idle in transaction')
      .fail('a', '3/3', 'SELECT 1/0')
      .stmt('a', '3/3', 'COMMIT', 'idle in transaction (aborted)')
      .stmt('a', '3/4', 'CREATE TABLE kept()')
      .other('a', '', 'disconnection');
    assert.deepEqual(judged(log).sent, ['CREATE TABLE kept()']);
  });

  it("log_statement = 'all': ROLLBACK TO SAVEPOINT undoes what came after it, error or not", () => {
    const log = new Log()
      .stmt('a', '3/1', 'BEGIN')
      .stmt('a', '3/1', 'CREATE TABLE a1()', 'idle in transaction')
      .stmt('a', '3/1', 'SAVEPOINT s', 'idle in transaction')
      .stmt('a', '3/1', 'CREATE TABLE a2()', 'idle in transaction')
      .stmt('a', '3/1', 'ROLLBACK TO SAVEPOINT s', 'idle in transaction')
      .stmt('a', '3/1', 'SAVEPOINT t', 'idle in transaction')
      .stmt('a', '3/1', 'CREATE TABLE a1()', 'idle in transaction')
      .fail('a', '3/1', 'CREATE TABLE a1()')
      .stmt('a', '3/1', 'ROLLBACK TO t', 'idle in transaction (aborted)')
      .stmt('a', '3/1', 'RELEASE s', 'idle in transaction')
      .stmt('a', '3/1', 'CREATE TABLE a3()', 'idle in transaction')
      .stmt('a', '3/1', 'COMMIT', 'idle in transaction')
      .other('a', '', 'disconnection');
    assert.deepEqual(judged(log).sent, ['CREATE TABLE a1()', 'CREATE TABLE a3()']);
  });

  it("log_statement = 'all': a block still open holds back nothing; it goes once it commits", () => {
    const log = new Log()
      .stmt('a', '3/1', 'BEGIN')
      .stmt('a', '3/1', 'CREATE TABLE open_t()', 'idle in transaction')
      .stmt('b', '4/1', 'CREATE TABLE later_t()')
      .stmt('b', '4/2', 'SELECT 1');
    const judge = new Judge();
    const texts = new Map<number, string>();
    assert.deepEqual(sent(judge, log, texts), ['CREATE TABLE later_t()']);
    assert.deepEqual(judge.waiting().map((w) => w.blocking), [false]);
    const rest = new Log();
    for (let i = 0; i < 4; i++) rest.other('z', ''); // the offsets go on from the first part
    rest.stmt('a', '3/1', 'COMMIT', 'idle in transaction').stmt('a', '3/2', 'SELECT 1');
    assert.deepEqual(sent(judge, rest, texts), ['CREATE TABLE open_t()']);
  });

  it("log_statement = 'ddl': an undecided statement holds back every later one", () => {
    const log = new Log()
      .stmt('a', '3/1', 'CREATE TABLE first_t()', 'idle in transaction')
      .stmt('b', '4/1', 'CREATE TABLE later_t()')
      .stmt('b', '4/2', 'CREATE TABLE more_t()');
    const { sent: out, judge } = judged(log);
    assert.deepEqual(out, []);
    assert.deepEqual(judge.waiting().map((w) => w.blocking), [true, true, true]);
  });

  it('a FATAL inside a transaction fails it; a FATAL or disconnection after it commits it', () => {
    assert.deepEqual(judged(new Log().stmt('a', '3/1', 'CREATE TABLE x()').fail('a', '3/1', '', 'FATAL')).sent, []);
    assert.deepEqual(judged(new Log().stmt('a', '3/1', 'CREATE TABLE x()').fail('a', '', '', 'FATAL')).sent, ['CREATE TABLE x()']);
    assert.deepEqual(judged(new Log().stmt('a', '3/1', 'CREATE TABLE x()').other('a', '', 'disconnection')).sent, ['CREATE TABLE x()']);
  });

  it('a disconnection inside a logged BEGIN rolls the block back; without a logged BEGIN it is taken as committed', () => {
    const exact = new Log().stmt('a', '3/1', 'BEGIN').stmt('a', '3/1', 'CREATE TABLE x()', 'idle in transaction').other('a', '', 'disconnection');
    assert.deepEqual(judged(exact).sent, []);
    const ddl = new Log().stmt('a', '3/1', 'CREATE TABLE x()', 'idle in transaction').other('a', '', 'disconnection');
    assert.deepEqual(judged(ddl).sent, ['CREATE TABLE x()']);
  });

  it('a server crash ends every open transaction: rolled back, and of unknown outcome where a COMMIT may have been done', () => {
    const log = new Log()
      .stmt('a', '3/1', 'BEGIN')
      .stmt('a', '3/1', 'CREATE TABLE in_block()', 'idle in transaction')
      .stmt('b', '4/1', 'CREATE TABLE autocommit()')
      .stmt('c', '5/1', 'CREATE TABLE done()')
      .stmt('c', '5/2', 'SELECT 1')
      .other('pm', '', 'server-restart')
      .stmt('d', '3/1', 'CREATE TABLE after_restart()')
      .other('d', '', 'disconnection');
    const { sent: out, judge } = judged(log);
    // What came after the unknown one in the log waits behind it until a person decides.
    assert.deepEqual(out, []);
    assert.deepEqual(judge.unknown().map((d) => d.vxid), ['4/1']);
    assert.deepEqual(judge.waiting().map((w) => w.vxid), ['5/1', '3/1']);
    const at = `${judge.unknown()[0].unit.file.name}:${judge.unknown()[0].unit.offset}`;
    assert.equal(judge.resolve(at, 'committed')?.length, 1);
    // Resolved as committed: it goes, then what waited behind it (records 2, 3 and 6).
    assert.deepEqual(judge.emit().map((u) => u.offset), [2, 3, 6]);
    const panic = new Log().stmt('a', '3/1', 'CREATE TABLE x()').fail('z', '', '', 'PANIC').stmt('a', '3/2', 'SELECT 1');
    assert.deepEqual(judged(panic).sent, []);
  });

  it('carries the session settings in force to each statement, and not those a rollback undid', () => {
    const log = new Log()
      .stmt('a', '3/1', 'SET search_path = s1, "S 2"')
      .stmt('a', '3/2', 'SET statement_timeout = 5')
      .stmt('a', '3/3', 'CREATE TABLE t1()')
      .stmt('a', '3/4', 'BEGIN')
      .stmt('a', '3/4', 'SET search_path = rolled_back', 'idle in transaction')
      .stmt('a', '3/4', 'ROLLBACK', 'idle in transaction')
      .stmt('a', '3/5', 'BEGIN')
      .stmt('a', '3/5', 'SET LOCAL check_function_bodies = off', 'idle in transaction')
      .stmt('a', '3/5', 'CREATE TABLE t2()', 'idle in transaction')
      .stmt('a', '3/5', 'COMMIT', 'idle in transaction')
      .stmt('a', '3/6', 'CREATE TABLE t3()')
      .stmt('a', '3/7', 'RESET search_path')
      .stmt('a', '3/8', 'SET ROLE app; CREATE TABLE t4(); SET search_path TO s4; CREATE TABLE t5()')
      .stmt('a', '3/9', 'DISCARD ALL')
      .stmt('a', '3/10', 'CREATE TABLE t6()')
      .other('a', '', 'disconnection');
    assert.deepEqual(judged(log).sent, [
      '[SET LOCAL search_path = s1, "S 2"] CREATE TABLE t1()',
      '[SET LOCAL check_function_bodies = off; SET LOCAL search_path = s1, "S 2"] CREATE TABLE t2()',
      '[SET LOCAL search_path = s1, "S 2"] CREATE TABLE t3()',
      '[SET LOCAL ROLE app] CREATE TABLE t4(); SET search_path TO s4; CREATE TABLE t5()',
      'CREATE TABLE t6()',
    ]);
  });

  it('a reset between statements of one record is sent as what puts back the values it put back', () => {
    const log = new Log()
      .stmt('a', '3/1', 'SET ROLE x; CREATE TABLE t1(); RESET ROLE; CREATE TABLE t2(); SET ROLE x; SET ROLE NONE; CREATE TABLE t3()')
      // Under a session authorization, the role goes back to it.
      .stmt('a', '3/2', 'SET SESSION AUTHORIZATION x; SET ROLE y; CREATE TABLE t4(); RESET ROLE; CREATE TABLE t5(); RESET SESSION AUTHORIZATION; CREATE TABLE t6()')
      .stmt('a', '3/3', 'SET SESSION AUTHORIZATION x; CREATE TABLE t7(); SET SESSION AUTHORIZATION DEFAULT; CREATE TABLE t8()')
      // A reset of a setting not carried sends nothing.
      .stmt('a', '3/4', 'SET search_path = s; CREATE TABLE t9(); RESET search_path; SET search_path TO DEFAULT; RESET statement_timeout; CREATE TABLE t10()')
      // RESET ALL leaves the role; a SET LOCAL comes back with the rest.
      .stmt('a', '3/5', 'SET search_path = s; SET ROLE x; SET LOCAL datestyle = ISO; CREATE TABLE t11(); RESET ALL; CREATE TABLE t12(); RESET ALL; CREATE TABLE t13()')
      .other('a', '', 'disconnection');
    assert.deepEqual(judged(log).sent, [
      '[SET LOCAL ROLE x] CREATE TABLE t1(); (the unit role); CREATE TABLE t2(); SET ROLE x; (the unit role); CREATE TABLE t3()',
      '[SET LOCAL SESSION AUTHORIZATION x; SET LOCAL ROLE y] CREATE TABLE t4(); SET LOCAL ROLE NONE; CREATE TABLE t5(); SET LOCAL SESSION AUTHORIZATION DEFAULT; (the unit role); CREATE TABLE t6()',
      '[SET LOCAL SESSION AUTHORIZATION x] CREATE TABLE t7(); SET LOCAL SESSION AUTHORIZATION DEFAULT; (the unit role); CREATE TABLE t8()',
      '[SET LOCAL search_path = s] CREATE TABLE t9(); SET LOCAL search_path TO DEFAULT; SET LOCAL search_path TO DEFAULT; CREATE TABLE t10()',
      '[SET LOCAL ROLE x; SET LOCAL datestyle = ISO; SET LOCAL search_path = s] CREATE TABLE t11(); SET LOCAL datestyle TO DEFAULT; SET LOCAL search_path TO DEFAULT; CREATE TABLE t12(); CREATE TABLE t13()',
    ]);
  });

  it('a SET or RESET overrides a SET LOCAL of the same setting made before it in the transaction', () => {
    const log = new Log()
      .stmt('a', '3/1', 'SET LOCAL search_path = s; RESET search_path; CREATE TABLE t1()')
      .stmt('a', '3/2', 'BEGIN; SET LOCAL ROLE x; SET ROLE NONE; SET LOCAL search_path = s; SET search_path = s2')
      .stmt('a', '3/2', 'CREATE TABLE t2()', 'idle in transaction')
      .stmt('a', '3/2', 'COMMIT', 'idle in transaction')
      .stmt('a', '3/3', 'CREATE TABLE t3()')
      .other('a', '', 'disconnection');
    assert.deepEqual(judged(log).sent, ['CREATE TABLE t1()', '[SET LOCAL search_path = s2] CREATE TABLE t2()', '[SET LOCAL search_path = s2] CREATE TABLE t3()']);
  });

  it('temporary objects and statements on them are not sent; a permanent one of the same name is', () => {
    const log = new Log()
      .stmt('a', '3/1', 'CREATE TEMP TABLE tt (a int)')
      .stmt('a', '3/2', 'ALTER TABLE tt ADD COLUMN b int')
      .stmt('a', '3/3', 'CREATE INDEX tt_i ON tt (a)')
      .stmt('a', '3/4', 'DROP INDEX tt_i')
      .stmt('a', '3/5', 'CREATE TABLE pg_temp.t2 (a int)')
      .stmt('a', '3/6', 'COMMENT ON COLUMN t2.a IS $$x$$')
      .stmt('a', '3/7', 'DROP TABLE tt, t2')
      .stmt('a', '3/8', 'CREATE TABLE tt (a int)')
      .stmt('a', '3/9', 'ALTER TABLE ONLY tt ADD COLUMN c int')
      .stmt('b', '4/1', 'ALTER TABLE t2 ADD COLUMN z int')
      .other('a', '', 'disconnection')
      .other('b', '', 'disconnection');
    const { sent: out, judge } = judged(log);
    assert.deepEqual(out, ['CREATE TABLE tt (a int)', 'ALTER TABLE ONLY tt ADD COLUMN c int', 'ALTER TABLE t2 ADD COLUMN z int']);
    assert.equal(judge.counts.temporary, 7);
  });

  it('a rename, a view over a temporary table, a domain over its row type, a DROP naming both kinds', () => {
    const log = new Log()
      .stmt('a', '3/1', 'CREATE TABLE attmp (a int)')
      .stmt('a', '3/2', 'CREATE TEMP TABLE attmp (b int)')
      .stmt('a', '3/3', 'ALTER TABLE attmp RENAME TO attmp_new')
      .stmt('a', '3/4', 'ALTER TABLE attmp RENAME TO attmp_perm')
      .stmt('a', '3/5', 'CREATE VIEW v_tmp AS SELECT * FROM attmp_new')
      .stmt('a', '3/6', 'CREATE VIEW v_v AS SELECT * FROM v_tmp')
      .stmt('a', '3/7', 'CREATE DOMAIN d_tmp AS attmp_new[]')
      .stmt('a', '3/8', 'DROP TABLE IF EXISTS attmp_new, attmp_perm, "Other"."T" CASCADE')
      .stmt('a', '3/9', 'DROP VIEW v_v')
      .other('a', '', 'disconnection');
    assert.deepEqual(judged(log).sent, [
      'CREATE TABLE attmp (a int)',
      'ALTER TABLE attmp RENAME TO attmp_perm',
      'DROP TABLE IF EXISTS "attmp_perm", "Other"."T" CASCADE',
    ]);
  });

  it('long non-ASCII names: a temporary one does not swallow a permanent one that shares its start', () => {
    // UTF-8 records are judged as UTF-8: the parser cuts names at 63 bytes as the server does.
    const log = new Log()
      .stmt('a', '3/1', 'CREATE TABLE отчёт_по_продажам_2024 (a int)')
      .stmt('a', '3/2', 'CREATE TEMP TABLE отчёт_по_продажам_врем (a int)')
      .stmt('a', '3/3', 'ALTER TABLE отчёт_по_продажам_2024 ADD b int')
      .stmt('a', '3/4', 'DROP TABLE отчёт_по_продажам_врем, отчёт_по_продажам_2024')
      .other('a', '', 'disconnection');
    assert.deepEqual(judged(log).sent, [
      'CREATE TABLE отчёт_по_продажам_2024 (a int)',
      'ALTER TABLE отчёт_по_продажам_2024 ADD b int',
      'DROP TABLE "отчёт_по_продажам_2024"',
    ]);
  });

  it('text not in UTF-8 (judgeForm): names stay apart; a DROP rewrite with a name the parser may have cut goes whole', () => {
    const form = (latin1: string): string => judgeForm(Buffer.from(latin1, 'latin1'));
    const long = `t${'é'.repeat(40)}`;
    const log = new Log()
      .stmt('a', '3/1', form('CREATE TEMP TABLE "tmp_é" (a int)'))
      .stmt('a', '3/2', form('DROP TABLE "tmp_è"'))
      .stmt('a', '3/3', form(`DROP TABLE IF EXISTS "tmp_é", "${long}"`))
      .other('a', '', 'disconnection');
    assert.deepEqual(judged(log).sent, [form('DROP TABLE "tmp_è"'), form(`DROP TABLE IF EXISTS "tmp_é", "${long}"`)]);
  });

  it('a CREATE TABLE AS EXECUTE takes the PREPARE it runs along; DEALLOCATE forgets it', () => {
    const log = new Log()
      .stmt('a', '3/1', 'PREPARE sel1 AS SELECT 1 AS a')
      .stmt('a', '3/2', 'CREATE TABLE as_sel AS EXECUTE sel1')
      .stmt('a', '3/3', 'DEALLOCATE sel1')
      .stmt('a', '3/4', 'CREATE TABLE as_sel2 AS EXECUTE sel1')
      .other('a', '', 'disconnection');
    const judge = new Judge();
    for (const r of log.records) judge.add(r, FILE);
    const units = judge.emit();
    assert.deepEqual(units.map((u) => (u.prepares ?? []).map((p) => p.offset)), [[0], []]);
  });

  it('a function made while the session has temporary objects is made on targets without its body checked', () => {
    const log = new Log()
      .stmt('a', '3/1', 'CREATE FUNCTION f1() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$')
      .stmt('a', '3/2', 'CREATE TEMP TABLE tt (a int)')
      .stmt('a', '3/3', 'CREATE FUNCTION f2() RETURNS void LANGUAGE sql AS $$ INSERT INTO tt VALUES (1) $$')
      .other('a', '', 'disconnection');
    assert.deepEqual(judged(log).sent, [
      'CREATE FUNCTION f1() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$',
      '[SET LOCAL check_function_bodies = off] CREATE FUNCTION f2() RETURNS void LANGUAGE sql AS $$ INSERT INTO tt VALUES (1) $$',
    ]);
  });

  it('a string that commits part way: its transactions take the next virtual xids; an error stops it there', () => {
    const s1 = 'CREATE TABLE s1(); COMMIT; CREATE TABLE s2()';
    // The first transaction fails: the second never ran.
    assert.deepEqual(judged(new Log().stmt('a', '3/1', s1).fail('a', '3/1', s1).stmt('a', '3/2', 'SELECT 1')).sent, []);
    assert.deepEqual(judged(new Log().stmt('a', '3/1', s1).fail('a', '3/1', s1, 'FATAL')).sent, []);
    // The second fails: the first stands.
    assert.deepEqual(judged(new Log().stmt('a', '3/1', s1).fail('a', '3/2', s1).stmt('a', '3/3', 'SELECT 1')).sent, ['CREATE TABLE s1()']);
    // An error of a later statement: both stand.
    assert.deepEqual(judged(new Log().stmt('a', '3/1', s1).fail('a', '3/3', 'SELECT 1/0').other('a', '', 'disconnection')).sent, [
      'CREATE TABLE s1()',
      'CREATE TABLE s2()',
    ]);
    const s2 = 'CREATE TABLE s1(); COMMIT; CREATE TABLE s2(); COMMIT; CREATE TABLE s3()';
    assert.deepEqual(judged(new Log().stmt('a', '3/1', s2).fail('a', '3/2', s2).stmt('a', '3/4', 'SELECT 1')).sent, ['CREATE TABLE s1()']);
  });

  it('a string that commits part way, saved before its error and read back: the error still stops it there', () => {
    const s3 = 'CREATE TABLE s1(); COMMIT; CREATE TABLE s2(); COMMIT; CREATE TABLE s3()';
    const other = "BEGIN; CREATE TABLE p1(); PREPARE TRANSACTION 'g1'; CREATE TABLE o2(); COMMIT; CREATE TABLE o3()";
    for (const failAt of ['3/1', '3/2', '3/3']) {
      const first = new Log().stmt('b', '4/1', other).stmt('a', '3/1', s3);
      const judge = new Judge();
      const texts = new Map<number, string>();
      assert.deepEqual(sent(judge, first, texts), []);
      const saved = JSON.parse(JSON.stringify(judge.snapshot())) as JudgeSnapshot;
      const second = new Log();
      for (const r of new Log().fail('a', failAt, s3).stmt('a', '3/9', 'SELECT 1').stmt('b', '4/9', 'SELECT 1').records) {
        second.records.push({ ...r, offset: r.offset + 100, end: r.end + 100 });
      }
      const kept = ['CREATE TABLE s1()', 'CREATE TABLE s2()', 'CREATE TABLE s3()'].slice(0, Number(failAt.slice(2)) - 1);
      // The other session's string (logged first), its prepared transaction among its segments, is not touched.
      assert.deepEqual(sent(new Judge(saved), second, texts), ['CREATE TABLE o2()', 'CREATE TABLE o3()', ...kept], `failed at ${failAt}`);
    }
  });

  it('COMMIT AND CHAIN: the chained block is the next virtual xid, decided like any block', () => {
    const chained = 'BEGIN; CREATE TABLE a(); COMMIT AND CHAIN; CREATE TABLE b()';
    // The chained block goes on in the next records, and commits.
    const on = new Log().stmt('a', '3/1', chained).stmt('a', '3/2', 'CREATE TABLE c()', 'idle in transaction').stmt('a', '3/2', 'COMMIT', 'idle in transaction').stmt('a', '3/3', 'SELECT 1');
    assert.deepEqual(judged(on).sent, ['CREATE TABLE a()', 'CREATE TABLE b()', 'CREATE TABLE c()']);
    // Ended by an idle-in-transaction timeout (FATAL in it): rolled back.
    assert.deepEqual(judged(new Log().stmt('a', '3/1', chained).fail('a', '3/2', '', 'FATAL')).sent, ['CREATE TABLE a()']);
    // A later failing statement does not touch a chained block that committed.
    const closed = 'BEGIN; CREATE TABLE a(); COMMIT AND CHAIN; CREATE TABLE b(); COMMIT';
    assert.deepEqual(judged(new Log().stmt('a', '3/1', closed).stmt('a', '3/3', 'CREATE TABLE a()').fail('a', '3/3', 'CREATE TABLE a()').stmt('a', '3/4', 'SELECT 1')).sent, [
      'CREATE TABLE a()',
      'CREATE TABLE b()',
    ]);
    // COMMIT AND CHAIN outside a block is an error: nothing after it ran.
    const implicit = 'CREATE TABLE a(); COMMIT AND CHAIN; CREATE TABLE b()';
    assert.deepEqual(judged(new Log().stmt('a', '3/1', implicit).fail('a', '3/1', implicit).stmt('a', '3/2', 'SELECT 1')).sent, []);
  });

  it('a CREATE INDEX CONCURRENTLY that fails in its first transaction is not sent; one that fails later is, as left INVALID', () => {
    const cic = 'CREATE UNIQUE INDEX CONCURRENTLY u ON t (a)';
    // Failed with the statement's own virtual xid: its first transaction rolled back, nothing is left.
    const early = new Log().stmt('a', '3/103', cic).fail('a', '3/103', cic).stmt('a', '3/105', 'SELECT 1');
    assert.deepEqual(judged(early).sent, []);
    // Its transactions show while it runs; none of them proves it ended. An error in a later one
    // leaves the index the first one committed, INVALID.
    const failed = new Log().stmt('a', '3/103', cic).other('a', '3/104').fail('a', '3/104', cic).stmt('a', '3/105', 'SELECT 1');
    const judge = new Judge();
    assert.deepEqual(sent(judge, failed, new Map()), [cic]);
    const done = new Log().stmt('a', '3/103', cic).other('a', '3/104').stmt('a', '3/106', 'SELECT 1');
    assert.deepEqual(judged(done).sent, [cic]);
  });

  it('marks the unit of a CREATE INDEX CONCURRENTLY that failed after its first transaction', () => {
    const cic = 'CREATE INDEX CONCURRENTLY u ON t (a)';
    const judge = new Judge();
    for (const r of new Log().stmt('a', '3/1', cic).fail('a', '3/2', cic).stmt('a', '3/3', 'SELECT 1').records) judge.add(r, FILE);
    assert.deepEqual(judge.emit().map((u) => u.leftBehind), ['invalid-index']);
    const ok = new Judge();
    for (const r of new Log().stmt('a', '3/1', cic).stmt('a', '3/3', 'SELECT 1').records) ok.add(r, FILE);
    assert.deepEqual(ok.emit().map((u) => u.leftBehind), [undefined]);
  });

  it('a PREPARE TRANSACTION counts once it is done; a ROLLBACK PREPARED once it is', () => {
    const block = (table: string) => ['BEGIN', `CREATE TABLE ${table}()`, "PREPARE TRANSACTION 'g1'"];
    const log = new Log();
    const [b1, c1, p1] = block('p1');
    log.stmt('a', '3/1', b1).stmt('a', '3/1', c1, 'idle in transaction').stmt('a', '3/1', p1, 'idle in transaction');
    // The same gid again: the PREPARE fails, the second block rolls back.
    const [b2, c2, p2] = block('p2');
    log.stmt('a', '3/2', b2).stmt('a', '3/2', c2, 'idle in transaction').stmt('a', '3/2', p2, 'idle in transaction').fail('a', '3/2', p2);
    // A ROLLBACK PREPARED that fails (inside a block) changes nothing; the COMMIT PREPARED commits p1.
    log.stmt('b', '4/1', 'BEGIN').stmt('b', '4/1', "ROLLBACK PREPARED 'g1'", 'idle in transaction').fail('b', '4/1', "ROLLBACK PREPARED 'g1'").stmt('b', '4/1', 'ROLLBACK', 'idle in transaction (aborted)');
    log.stmt('b', '4/2', "COMMIT PREPARED 'g1'").stmt('b', '4/3', 'SELECT 1');
    // Outside a block, PREPARE TRANSACTION prepares nothing.
    log.stmt('c', '5/1', 'CREATE TABLE q()').stmt('c', '5/2', "PREPARE TRANSACTION 'g1'").stmt('c', '5/3', 'SELECT 1');
    assert.deepEqual(judged(log).sent, ['CREATE TABLE p1()', 'CREATE TABLE q()']);
  });

  it('a COMMIT PREPARED read before a run ended decides its prepared transaction after it, whatever version saved the state', () => {
    const first = new Log()
      .stmt('a', '3/1', 'BEGIN')
      .stmt('a', '3/1', 'CREATE TABLE p1()', 'idle in transaction')
      .stmt('a', '3/1', "PREPARE TRANSACTION 'g1'", 'idle in transaction')
      .stmt('a', '3/2', 'SELECT 1')
      .stmt('b', '4/1', "COMMIT PREPARED 'g1'");
    const judge = new Judge();
    for (const r of first.records) judge.add(r, FILE);
    assert.deepEqual(judge.emit(), []);
    // Saved and read back as JSON, as the state file is. Who decides a prepared transaction is taken
    // from the prepared side alone: a state of a version that also saved a flag on the decider (here
    // a stale one) is read the same.
    for (const older of [false, true]) {
      const saved = JSON.parse(JSON.stringify(judge.snapshot())) as JudgeSnapshot;
      if (older) for (const t of saved.txs) Object.assign(t, { decidesPrepared: false });
      const next = new Judge(saved);
      const second = new Log();
      for (const r of new Log().stmt('b', '4/2', 'SELECT 1').stmt('c', '5/1', 'CREATE TABLE later()').stmt('c', '5/2', 'SELECT 1').records) {
        second.records.push({ ...r, offset: r.offset + 100, end: r.end + 100 });
      }
      const texts = new Map<number, string>([[1, 'CREATE TABLE p1()']]);
      assert.deepEqual(sent(next, second, texts), ['CREATE TABLE p1()', 'CREATE TABLE later()'], older ? 'older state' : 'state');
    }
  });

  it('ROLLBACK TO an unknown savepoint in a block whose BEGIN was seen changes nothing', () => {
    const log = new Log()
      .stmt('a', '3/1', 'BEGIN')
      .stmt('a', '3/1', 'CREATE TABLE a1()', 'idle in transaction')
      .stmt('a', '3/1', 'SAVEPOINT s', 'idle in transaction')
      .stmt('a', '3/1', 'CREATE TABLE a2()', 'idle in transaction')
      .stmt('a', '3/1', 'ROLLBACK TO typo', 'idle in transaction')
      .fail('a', '3/1', 'ROLLBACK TO typo')
      .stmt('a', '3/1', 'ROLLBACK TO s', 'idle in transaction (aborted)')
      .stmt('a', '3/1', 'COMMIT', 'idle in transaction')
      .stmt('a', '3/2', 'SELECT 1');
    assert.deepEqual(judged(log).sent, ['CREATE TABLE a1()']);
  });

  it("log_statement = 'ddl' and the extended protocol: a block that goes on after an error keeps what came before", () => {
    const log = new Log()
      .stmt('a', '3/1', 'CREATE TABLE a1()', 'CREATE TABLE')
      .stmt('a', '3/1', 'CREATE TABLE a2()', 'CREATE TABLE')
      .fail('a', '3/1', 'CREATE TABLE a2()')
      .stmt('a', '3/1', 'CREATE TABLE a3()', 'CREATE TABLE')
      .stmt('a', '3/2', 'CREATE TABLE z()', 'CREATE TABLE')
      .other('a', '', 'disconnection');
    assert.deepEqual(judged(log).sent, ['CREATE TABLE a1()', 'CREATE TABLE a3()', 'CREATE TABLE z()']);
  });

  it('temporary objects PostgreSQL names itself, and ON COMMIT DROP', () => {
    const log = new Log()
      .stmt('a', '3/1', 'CREATE TEMP TABLE tt (id serial PRIMARY KEY, a int UNIQUE)')
      .stmt('a', '3/2', 'CREATE INDEX ON tt (a, lower(b))')
      .stmt('a', '3/3', 'DROP INDEX tt_a_lower_idx')
      .stmt('a', '3/4', 'ALTER SEQUENCE tt_id_seq RESTART')
      .stmt('a', '3/5', 'ALTER INDEX tt_a_key RENAME TO k')
      .stmt('a', '3/6', 'BEGIN')
      .stmt('a', '3/6', 'CREATE TEMP TABLE gone (a int) ON COMMIT DROP', 'idle in transaction')
      .stmt('a', '3/6', 'COMMIT', 'idle in transaction')
      .stmt('a', '3/7', 'CREATE TABLE gone (a int)')
      .stmt('a', '3/8', 'ALTER TABLE gone ADD COLUMN b int')
      .other('a', '', 'disconnection');
    assert.deepEqual(judged(log).sent, ['CREATE TABLE gone (a int)', 'ALTER TABLE gone ADD COLUMN b int']);
  });

  it('a COMMIT that fails (a deferred constraint) sends nothing of its block', () => {
    const log = new Log()
      .stmt('a', '3/1', 'BEGIN')
      .stmt('a', '3/1', 'CREATE TABLE x()', 'idle in transaction')
      .stmt('a', '3/1', 'COMMIT', 'idle in transaction')
      .fail('a', '3/1', 'COMMIT')
      .stmt('a', '3/2', 'SELECT 1');
    assert.deepEqual(judged(log).sent, []);
  });

  it('a prepared transaction is passed over until COMMIT PREPARED, from any session, commits it', () => {
    const log = new Log()
      .stmt('a', '3/1', 'BEGIN')
      .stmt('a', '3/1', 'CREATE TABLE p1()', 'idle in transaction')
      .stmt('a', '3/1', "PREPARE TRANSACTION 'g1'", 'idle in transaction')
      .stmt('a', '3/2', 'BEGIN')
      .stmt('a', '3/2', 'CREATE TABLE p2()', 'idle in transaction')
      .stmt('a', '3/2', "PREPARE TRANSACTION 'g2'", 'idle in transaction')
      .other('a', '', 'disconnection')
      .stmt('b', '4/1', 'CREATE TABLE other()')
      .stmt('b', '4/2', 'SELECT 1');
    const judge = new Judge();
    const texts = new Map<number, string>();
    assert.deepEqual(sent(judge, log, texts), ['CREATE TABLE other()']);
    const rest = new Log();
    for (let i = 0; i < log.records.length; i++) rest.other('z', '');
    rest.stmt('b', '4/3', "COMMIT PREPARED 'g1'").stmt('b', '4/4', "ROLLBACK PREPARED 'g2'").other('b', '', 'disconnection');
    assert.deepEqual(sent(judge, rest, texts), ['CREATE TABLE p1()']);
    assert.deepEqual(judge.waiting(), []);
  });

  it('what the primary says about undecided transactions decides them', () => {
    const log = new Log()
      .stmt('a', '3/1', 'CREATE TABLE ended()')
      .stmt('b', '4/1', 'CREATE TABLE running()')
      .stmt('c', '5/1', 'CREATE TABLE failed()')
      .stmt('d', '6/1', 'BEGIN')
      .stmt('d', '6/1', 'CREATE TABLE aborted()', 'idle in transaction')
      .fail('d', '6/1', 'SELECT 1/0')
      .stmt('e', '7/1', 'BEGIN')
      .stmt('e', '7/1', 'CREATE TABLE block_ended()', 'idle in transaction')
      .stmt('f', '8/1', 'CREATE INDEX CONCURRENTLY cic ON t (a)');
    const judge = new Judge();
    assert.deepEqual(sent(judge, log, new Map()), []);
    // b still runs; c's error came after what was read; d is aborted; e's block began with a logged
    // BEGIN, so its COMMIT or ROLLBACK will be in the log; f's statement runs in transactions of its own.
    judge.settleFromSource(new Set([`${pidOf('b')}/4/1`, `${pidOf('f')}/8/4`]), new Set([pidOf('b'), pidOf('f')]), [
      { sessionId: 'c', vxid: '5/1', queryHash: '' },
    ]);
    const texts = new Map(log.records.map((r) => [r.offset, r.kind === 'statement' ? r.text : '']));
    assert.deepEqual(sent(judge, new Log(), texts), ['CREATE TABLE ended()']);
    assert.deepEqual(judge.waiting().map((w) => [w.vxid, w.blocking]), [['4/1', false], ['7/1', false], ['8/1', false]]);
  });

  it('a snapshot carries everything to the next run: the same log read in two runs sends the same', () => {
    const log = new Log()
      .stmt('a', '3/1', 'SET search_path = s')
      .stmt('a', '3/2', 'BEGIN')
      .stmt('a', '3/2', 'CREATE TEMP TABLE tmp()', 'idle in transaction')
      .stmt('a', '3/2', 'SAVEPOINT sp', 'idle in transaction')
      .stmt('a', '3/2', 'CREATE TABLE x1()', 'idle in transaction')
      .stmt('b', '4/1', 'CREATE TABLE y1()')
      .stmt('b', '4/2', 'SELECT 1')
      .stmt('a', '3/2', 'ROLLBACK TO sp', 'idle in transaction')
      .stmt('a', '3/2', 'CREATE TABLE x2()', 'idle in transaction')
      .stmt('a', '3/2', 'ALTER TABLE tmp ADD a int', 'idle in transaction')
      .stmt('a', '3/2', 'COMMIT', 'idle in transaction')
      .other('a', '', 'disconnection');
    const whole = judged(log).sent;
    for (let cut = 1; cut < log.records.length; cut++) {
      const first = new Log();
      first.records.push(...log.records.slice(0, cut));
      const second = new Log();
      second.records.push(...log.records.slice(cut));
      const texts = new Map<number, string>();
      const one = new Judge();
      const out = sent(one, first, texts);
      const snapshot = JSON.parse(JSON.stringify(one.snapshot())) as JudgeSnapshot;
      out.push(...sent(new Judge(snapshot), second, texts));
      assert.deepEqual(out, whole, `cut after record ${cut}`);
    }
    assert.deepEqual(whole, ['CREATE TABLE y1()', '[SET LOCAL search_path = s] CREATE TABLE x2()']);
  });
});

describe('a statement with no capture record of its own, judged by its transaction\'s captures', () => {
  const key = 'k3y';
  /** A capture record of the helper, signed with the key, for a CREATE TABLE of session s. */
  const capture = (log: Log, session: string, vxid: string, xid: string, name: string): void => {
    const payload = JSON.stringify({ xid, sub: xid, tag: 'CREATE TABLE', role: 'u', session_user: 'u', settings: {}, commands: [{ tag: 'CREATE TABLE', type: 'table', identity: `public.${name}`, schema: 'public', in_extension: false }] });
    const offset = log.records.length;
    log.records.push({
      kind: 'capture', offset, end: offset + 1, logTime: '', sessionId: session, vxid, userName: 'u', databaseName: 'd', processId: pidOf(session),
      commandTag: 'CREATE TABLE', applicationName: '', message: `pg-ddl-sync capture 1 sha256 ${captureMac('sha256', key, payload)} ${payload}`, query: `CREATE TABLE ${name} (a int)`,
    });
    (log as unknown as { offset: number }).offset = offset + 1;
  };

  it('is dropped with its rolled-back block when another session\'s unit waits between the two', () => {
    // Under 'ddl': m's BEGIN and ROLLBACK are not logged. o's CREATE TABLE came between m's two
    // statements, and its capture was read after the primary was asked (it waits for the next run).
    const log = new Log().stmt('m', '3/1', 'CREATE TABLE mal_rb (a int)');
    capture(log, 'm', '3/1', '740', 'mal_rb');
    log.stmt('o', '4/1', 'CREATE TABLE between_them (a int)');
    capture(log, 'o', '4/1', '741', 'between_them');
    log.stmt('m', '3/1', 'DROP ROLE mal_victim').other('m', '', 'disconnection').other('o', '', 'disconnection');
    const judge = new Judge(undefined, { captureKey: () => key });
    const texts = new Map<number, string>();
    for (const r of log.records) {
      if (r.kind === 'statement') texts.set(r.offset, r.text);
      judge.add(r, FILE);
    }
    const textOf = (u: { offset: number }): string => texts.get(u.offset)!;
    judge.settleFromSource(new Set(), new Set(), [], new Map([['740', 'aborted']]));
    const first = judge.emit().map(textOf);
    // The next run: the primary says o's committed.
    const again = new Judge(judge.snapshot(), { captureKey: () => key });
    again.settleFromSource(new Set(), new Set(), [], new Map([['741', 'committed']]));
    const second = again.emit().map(textOf);
    assert.deepEqual([...first, ...second], ['CREATE TABLE between_them (a int)']);
  });
});
