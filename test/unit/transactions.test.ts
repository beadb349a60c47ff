import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { describe, it } from 'node:test';
import { scanRecords } from '../../src/core/csvRecord';
import { LogRecord, toLogRecord } from '../../src/core/logRecord';
import { TransactionJudge } from '../../src/core/transactions';
import { fixturesOf } from '../helpers/fixtures';
import { EXPECTED_COMMITTED } from '../helpers/workload';

function judgeFile(file: string): TransactionJudge {
  const buf = fs.readFileSync(file);
  const judge = new TransactionJudge();
  for (const span of scanRecords(buf, 0).records) judge.add(toLogRecord(buf, span, 0), 0);
  return judge;
}

describe('TransactionJudge on csvlog written by real servers', () => {
  for (const mode of ['ddl', 'all'] as const) {
    for (const file of fixturesOf(mode)) {
      const name = file.split('/').pop();
      it(`${name}: keeps exactly what committed, in order, in its database`, () => {
        const judge = judgeFile(file);
        const committed = judge.units
          .filter((u) => u.group.outcome.kind === 'committed')
          .flatMap((u) => u.ddl.statements.map((sql) => ({ database: u.record.databaseName, sql })));
        assert.deepEqual(committed, EXPECTED_COMMITTED);
      });

      it(`${name}: drops every failed statement and waits for the open session`, () => {
        const judge = judgeFile(file);
        const failed = judge.units.filter((u) => u.group.outcome.kind === 'failed').map((u) => u.ddl.statements.join(';'));
        for (const obj of ['t_dup', 't_block', 't_slow', 'm3', 't_killed', 'ext_failed']) {
          assert.ok(failed.some((s) => s.includes(obj)), `${obj} judged failed`);
        }
        const open = judge.units.filter((u) => u.group.outcome.kind === 'open');
        assert.deepEqual(open.map((u) => u.ddl.statements), [['CREATE TABLE t_open ()']]);
        assert.equal(judge.firstOpen(), open[0]);
      });
    }
  }
});

describe('TransactionJudge on hand-made sequences', () => {
  let offset = 0;
  const stmt = (session: string, vxid: string, text: string, commandTag = 'idle'): LogRecord => ({
    kind: 'statement', offset: offset++, end: offset, sessionId: session, vxid, logTime: '', userName: 'u',
    databaseName: 'd', processId: 1, commandTag, applicationName: '', text,
  });
  const error = (session: string, vxid: string, severity: 'ERROR' | 'FATAL' | 'PANIC' = 'ERROR'): LogRecord => ({
    kind: 'failure', offset: offset++, end: offset, sessionId: session, vxid, severity, sqlState: 'XX000', message: 'boom',
  });
  const other = (session: string, vxid: string, endsSession = false): LogRecord => ({
    kind: 'other', offset: offset++, end: offset, sessionId: session, vxid, endsSession,
  });
  const outcomes = (records: LogRecord[]): string[] => {
    const judge = new TransactionJudge();
    for (const r of records) judge.add(r, 0);
    return judge.units.map((u) => `${u.ddl.statements[0]}:${u.group.outcome.kind}`);
  };

  it('an ERROR long after its statement, behind other sessions, still fails it', () => {
    assert.deepEqual(
      outcomes([stmt('a', '3/1', 'CREATE TABLE x()'), stmt('b', '4/1', 'CREATE TABLE y()'), other('b', '4/2'), error('a', '3/1')]),
      ['CREATE TABLE x():failed', 'CREATE TABLE y():committed'],
    );
  });

  it('an error in a later transaction of the session does not undo an earlier one', () => {
    assert.deepEqual(outcomes([stmt('a', '3/1', 'CREATE TABLE x()'), stmt('a', '3/2', 'CREATE TABLE y()'), error('a', '3/2')]), [
      'CREATE TABLE x():committed',
      'CREATE TABLE y():failed',
    ]);
  });

  it('fails every statement of a block when any statement of it errors', () => {
    assert.deepEqual(
      outcomes([
        stmt('a', '3/1', 'CREATE TABLE x()', 'idle in transaction'),
        stmt('a', '3/1', 'CREATE TABLE y()', 'idle in transaction'),
        error('a', '3/1'),
        stmt('a', '3/2', 'CREATE TABLE z()'),
        other('a', '', true),
      ]),
      ['CREATE TABLE x():failed', 'CREATE TABLE y():failed', 'CREATE TABLE z():committed'],
    );
  });

  it('a FATAL in the transaction fails it; a disconnection commits what was done', () => {
    assert.deepEqual(outcomes([stmt('a', '3/1', 'CREATE TABLE x()'), error('a', '3/1', 'FATAL')]), ['CREATE TABLE x():failed']);
    assert.deepEqual(outcomes([stmt('a', '3/1', 'CREATE TABLE x()'), other('a', '', true)]), ['CREATE TABLE x():committed']);
  });

  it('keeps a statement open while nothing proves its end; records of its own transaction prove nothing', () => {
    assert.deepEqual(outcomes([stmt('a', '3/1', 'CREATE TABLE x()'), other('a', '3/1'), other('b', '4/1', true)]), ['CREATE TABLE x():open']);
  });

  it('settles open transactions that the primary no longer runs', () => {
    const judge = new TransactionJudge();
    judge.add(stmt('a', '3/1', 'CREATE TABLE x()'), 0);
    judge.add(stmt('b', '4/1', 'CREATE TABLE y()'), 0);
    assert.deepEqual(judge.openTransactions().map((t) => t.vxid), ['3/1', '4/1']);
    judge.settleFinished(new Set(['4/1']));
    assert.deepEqual(judge.units.map((u) => u.group.outcome.kind), ['committed', 'open']);
    assert.equal(judge.firstOpen()?.record.vxid, '4/1');
  });
});
