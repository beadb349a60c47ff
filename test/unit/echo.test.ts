/**
 * The echo filter: what a pg-ddl-sync ran (its application_name) and what a sync or ignored role ran
 * is never sent; what such a role ran that no pg-ddl-sync sent is counted, DDL only, so that runs and
 * `check` say so.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { APPLICATION_NAME, echoFilter, echoOf } from '../../src/core/echo';
import { Judge } from '../../src/core/judge';
import { StatementRecord } from '../../src/core/logRecord';
import { loadParser } from '../../src/core/parser';

before(loadParser);

const FILE = { key: 'k', name: 'f.csv', ino: 1 };

/**
 * One session's transactions (each a list of statements, each statement a record), then its
 * disconnection: everything in it is decided.
 * @returns the offset after its last record
 */
function session(id: string, userName: string, applicationName: string, txs: string[][], judge: Judge, from: number): number {
  let offset = from;
  for (const [n, tx] of txs.entries()) {
    for (const [i, text] of tx.entries()) {
      const r: StatementRecord = {
        kind: 'statement', offset, end: offset + 1, sessionId: id, vxid: `3/${from + n}`, logTime: '', userName, databaseName: 'd',
        processId: id.charCodeAt(0), commandTag: i > 0 ? 'idle in transaction' : 'idle', applicationName, text,
      };
      judge.add(r, FILE);
      offset++;
    }
  }
  judge.add({ kind: 'other', offset, end: offset + 1, logTime: '', sessionId: id, vxid: '', event: 'disconnection' }, FILE);
  return offset + 1;
}

describe('the echo filter', () => {
  it("leaves out what a pg-ddl-sync ran, whatever its role, and what an ignored role ran, whatever its application", () => {
    const echo = echoFilter(['ddl_syncer', 'other_tool']);
    assert.equal(echo({ userName: 'someone', applicationName: APPLICATION_NAME }), true);
    assert.equal(echo({ userName: 'ddl_syncer', applicationName: APPLICATION_NAME }), true);
    assert.equal(echo({ userName: 'ddl_syncer', applicationName: 'psql' }), true);
    assert.equal(echo({ userName: 'other_tool', applicationName: '' }), true);
    assert.equal(echo({ userName: 'postgres', applicationName: 'psql' }), false);
    // Only an ignored role's statements that no pg-ddl-sync sent are strays.
    assert.deepEqual([...echo.strays], [['ddl_syncer', 1], ['other_tool', 1]]);
  });

  it('tells check whose a statement is, and whether its mark agrees with its role', () => {
    const ignored = new Set(['ddl_syncer']);
    const known = new Set(['ddl_syncer', 'inst2_syncer']);
    assert.equal(echoOf({ userName: 'ddl_syncer', applicationName: APPLICATION_NAME }, ignored, known), 'tool');
    assert.equal(echoOf({ userName: 'ddl_syncer', applicationName: 'psql' }, ignored, known), 'stray');
    assert.equal(echoOf({ userName: 'postgres', applicationName: 'psql' }, ignored, known), 'sent');
    // Another instance's tool under a role the config names (not ignored here: --no-ignore-sync-users).
    assert.equal(echoOf({ userName: 'inst2_syncer', applicationName: APPLICATION_NAME }, ignored, known), 'tool');
    // Someone else who sets the tool's application_name.
    assert.equal(echoOf({ userName: 'postgres', applicationName: APPLICATION_NAME }, ignored, known), 'unknown-tool');
  });

  it("in the judge: only the DDL of such statements goes unsent; their transactions still end; a stray is one DDL statement", () => {
    const echo = echoFilter(['ddl_syncer']);
    const judge = new Judge(undefined, { isOwn: echo });
    let at = 0;
    // The tool's own block (as it applies a statement with its ledger row).
    at = session('a', 'ddl_syncer', APPLICATION_NAME, [['BEGIN', "INSERT INTO ddl_sync.applied VALUES ('x')", 'CREATE TABLE echoed (a int)', 'COMMIT']], judge, at);
    // Someone's monitoring and a DBA's DDL, both as the sync role: only the DDL counts, once a statement.
    at = session('b', 'ddl_syncer', 'psql', [['SELECT 1'], ['CREATE TABLE by_hand (a int); CREATE INDEX ON by_hand (a)'], ['SELECT 2']], judge, at);
    // Another role, whose DDL goes, alone and in a block.
    at = session('c', 'postgres', 'psql', [['CREATE TABLE sent (a int)']], judge, at);
    session('d', 'postgres', 'psql', [['BEGIN', 'CREATE TABLE sent_too (a int)', 'COMMIT']], judge, at);
    const units = judge.emit();
    assert.deepEqual(
      units.map((u) => `${u.sessionId}@${u.offset}`),
      ['c@9', 'd@12'],
    );
    assert.equal(judge.counts.own, 3, 'echoed, and both parts of the hand-made string');
    assert.deepEqual([...echo.strays], [['ddl_syncer', 1]]);
    assert.equal(judge.counts.failed, 0);
  });
});
