/**
 * Transaction judging: which logged statements committed on the primary.
 *
 * Statements are grouped by session and virtual transaction id. PostgreSQL logs an ERROR, FATAL or
 * PANIC with the same session and virtual xid as the statement whose transaction it aborts, so such a
 * record fails its whole group. A group is known to have ended when its session logs a record of
 * another transaction or ends (a `disconnection:` record). Until then it is open: neither applied nor
 * dropped, but waited for.
 */
import { extractDdl, Extracted } from './extract';
import { LogRecord, Severity, StatementRecord } from './logRecord';

export type Outcome =
  | { kind: 'committed' }
  | { kind: 'failed'; severity: Severity; sqlState: string; message: string }
  | { kind: 'open' };

/** A logged statement with DDL in it, where it stands in the log, and what became of it. */
export interface Unit {
  /** Index of the log file (in the run's ordered list) and byte offset of the record. */
  file: number;
  offset: number;
  /** Offset just past the record. */
  end: number;
  record: StatementRecord;
  ddl: Extracted;
  group: Group;
}

export interface Group {
  sessionId: string;
  vxid: string;
  outcome: Outcome;
}

export interface JudgeCounts {
  /** Statements logged without DDL in them (under `log_statement = 'all'`, or mixed strings). */
  notDdl: number;
  /** DDL statements logged inside an explicit block (`idle in transaction`), whose block end
   *  `log_statement = 'ddl'` does not show. */
  inExplicitBlock: number;
}

/** Reads records in log order and judges the transaction of every DDL statement among them. */
export class TransactionJudge {
  readonly units: Unit[] = [];
  readonly counts: JudgeCounts = { notDdl: 0, inExplicitBlock: 0 };
  /** Open groups by `session/vxid`; a group leaves once its outcome is known. */
  private readonly groups = new Map<string, Group>();
  /** The open groups of each session (one, but for records that reach us out of order). */
  private readonly openBySession = new Map<string, Group[]>();

  /** Takes the next record of the log. */
  add(record: LogRecord, file: number): void {
    switch (record.kind) {
      case 'statement':
        this.settleSession(record.sessionId, record.vxid);
        this.addStatement(record, file);
        break;
      case 'failure':
        this.fail(record.sessionId, record.vxid, {
          kind: 'failed',
          severity: record.severity,
          sqlState: record.sqlState,
          message: record.message,
        });
        // FATAL and PANIC end the session: whatever else it had open is over too.
        if (record.severity === 'ERROR') this.settleSession(record.sessionId, record.vxid);
        else this.settleSession(record.sessionId, null);
        break;
      case 'other':
        if (record.endsSession) this.settleSession(record.sessionId, null);
        else if (record.vxid !== '') this.settleSession(record.sessionId, record.vxid);
        break;
    }
  }

  /** The first unit whose transaction has not ended yet: nothing from it on may be applied. */
  firstOpen(): Unit | undefined {
    return this.units.find((u) => u.group.outcome.kind === 'open');
  }

  /** Marks as ended the open groups whose virtual xid is not among those still running. */
  settleFinished(stillRunning: ReadonlySet<string>): void {
    for (const [session, open] of this.openBySession) {
      for (const group of open) {
        if (group.outcome.kind === 'open' && !stillRunning.has(group.vxid)) {
          group.outcome = { kind: 'committed' };
          this.groups.delete(`${group.sessionId}/${group.vxid}`);
        }
      }
      this.openBySession.set(session, open.filter((g) => g.outcome.kind === 'open'));
    }
  }

  /** The virtual xids of the groups still open, with the pid that runs them. */
  openTransactions(): { vxid: string; sessionId: string }[] {
    return [...this.openBySession.values()].flat().map((g) => ({ vxid: g.vxid, sessionId: g.sessionId }));
  }

  private addStatement(record: StatementRecord, file: number): void {
    const ddl = extractDdl(record.text);
    this.counts.notDdl += ddl.leftOut;
    if (ddl.statements.length === 0) return;
    if (record.commandTag.startsWith('idle in transaction')) this.counts.inExplicitBlock++;
    const key = `${record.sessionId}/${record.vxid}`;
    let group = this.groups.get(key);
    if (!group) {
      group = { sessionId: record.sessionId, vxid: record.vxid, outcome: { kind: 'open' } };
      this.groups.set(key, group);
      const open = this.openBySession.get(record.sessionId) ?? [];
      open.push(group);
      this.openBySession.set(record.sessionId, open);
    }
    this.units.push({ file, offset: record.offset, end: record.end, record, ddl, group });
  }

  private fail(sessionId: string, vxid: string, outcome: Outcome): void {
    const key = `${sessionId}/${vxid}`;
    const group = this.groups.get(key);
    if (!group) return;
    group.outcome = outcome;
    this.groups.delete(key);
  }

  /**
   * The session has moved on to transaction `current` (or ended, when null): every other group of
   * it that is still open ended without an error, so it committed.
   */
  private settleSession(sessionId: string, current: string | null): void {
    const open = this.openBySession.get(sessionId);
    if (!open) return;
    const still: Group[] = [];
    for (const group of open) {
      if (group.outcome.kind !== 'open') continue;
      if (current !== null && group.vxid === current) {
        still.push(group);
      } else {
        group.outcome = { kind: 'committed' };
        this.groups.delete(`${group.sessionId}/${group.vxid}`);
      }
    }
    if (still.length > 0) this.openBySession.set(sessionId, still);
    else this.openBySession.delete(sessionId);
  }
}
