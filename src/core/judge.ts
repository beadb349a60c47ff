/**
 * Transaction judging: which logged DDL committed on the primary, and in what order the targets take it.
 *
 * The judge reads records in log order and keeps, per session, its transactions (by virtual
 * transaction id), their savepoints, and the settings and temporary objects in force. What it learns
 * it keeps across runs (`snapshot()`), so each run reads only what the log gained.
 *
 * What decides a transaction, from the PostgreSQL behaviour each rule relies on:
 * - An ERROR, FATAL or PANIC carries the virtual xid of the transaction it aborts. Outside a block
 *   that transaction failed. Inside one, the block is aborted: it fails when it ends, unless a
 *   `ROLLBACK TO SAVEPOINT` recovers it, which undoes what came after the savepoint.
 * - A `ROLLBACK`/`ABORT` (logged under `log_statement = 'all'`) ends its block: failed; so does a
 *   `COMMIT` of an aborted block.
 * - A record of the same session with another virtual xid, or its `disconnection:`, proves the
 *   transaction ended; with no error, it committed. A `COMMIT` record alone proves nothing yet: the
 *   commit itself can fail (deferred constraints), and its ERROR would follow.
 * - A session that disconnects or dies inside a block it opened with a logged `BEGIN` rolled back.
 * - A server crash or restart ends every transaction it had open: rolled back. One that was ending
 *   (its statement done, its COMMIT under way or done) may have committed before the crash, and no
 *   record can tell: its outcome is unknown. It is neither sent nor dropped; it holds back every later
 *   unit until a person says what the primary has (`resolve`).
 * - Under `log_statement = 'ddl'` no `BEGIN`, `COMMIT` or `ROLLBACK` is logged: a block's DDL is taken
 *   as committed once its session moves on without an error (a silent `ROLLBACK` is not visible).
 *
 * - With the capture helper on the primary (core/capture), a statement's capture record names its
 *   (sub)transaction: the primary is asked (txid_status) whether it committed, and its answer decides
 *   the statement, whatever the log suggests; the capture's role and settings are the ones it runs
 *   with (see captureUse).
 *
 * Order: committed units leave in log order (the order their statements started, which is the order
 * in which they took their locks). A unit whose transaction is undecided holds back every later one,
 * with one exception: a transaction known to be still running (a block whose `BEGIN` was logged and
 * whose `COMMIT`/`ROLLBACK` was not, a prepared transaction, or one the primary said is running) is
 * passed over. Nothing later can depend on it: it has not committed, and anything that needed its
 * locks is still waiting for them. Its units leave when it commits.
 */
import { createHash } from 'node:crypto';
import { parseCapture } from './capture';
import { NestedDdl, StatementCapture, TxidStatus, captureOutcome, captureSettings, combinedStatus, isNested, nestedDdl } from './captureUse';
import { isInstanceCommand } from './instanceCommands';
import { judgeFromSaved, judgeToSaved } from './judgeSnapshot';
import { CaptureRecord, FailureRecord, LogRecord, Severity, StatementRecord } from './logRecord';
import { NeverGot, inAnySchemaWhereUnknown, droppedByNested, madeByNested, reindexLeftovers } from './neverGot';
import { LeftBehind, leftBehind } from './partialWork';
import { redact } from './redact';
import { ResetStatements, SettingChange, SettingValues, applyChange, isCarried, resetStatements, settingStatements, stringSyntaxIn } from './sessionSettings';
import { Analyses, Part, analyzeRecord } from './statements';
import type { JudgeSnapshot } from './stateFormat';
import { dropStatement } from './tempObjects';
import { isPrepareNotLogged, prepareNotLogged } from './unloggedPrepare';

/** A log file as the judge names it: its identity (fingerprint), name and inode. */
export interface FileRef {
  key: string;
  name: string;
  ino: number;
}

/** One record's DDL for the targets, without its text (which stays in the log: it may hold secrets). */
export interface UnitSpec {
  file: FileRef;
  /** Byte offset of the record, and just past it. */
  offset: number;
  end: number;
  /** The ledger's offset for this unit: the record's, plus the index of its first part. */
  key: number;
  /** Which statements of the record to send, in order (see `analyze`). */
  parts: number[];
  /** `SET LOCAL` statements for the session settings in force before the first part. */
  settings: string[];
  database: string;
  user: string;
  sessionId: string;
  /** When the statement was logged (the record's log_time). */
  logTime: string;
  runsAlone: boolean;
  actsOnDatabase: boolean;
  /** `PREPARE` statements of the session that its statements execute, run before them. */
  prepares?: Place[];
  /** Statements sent in another form, by part index: a DROP without the temporary objects it named. */
  rewrites?: Record<number, string>;
  /** What a target runs for a reset between its statements, by part index (see resetStatements). */
  resets?: Record<number, ResetStatements>;
  /**
   * Why it is neither sent nor dropped: its capture says the capture failed, or the primary cannot
   * tell its outcome. A target stops at it, for a person.
   */
  stop?: string;
  /**
   * Its statement failed on the primary after its first transaction committed, and left this there
   * (core/partialWork): a target is left the same.
   */
  leftBehind?: LeftBehind;
}

/** One statement of a logged record: the record's place, and the statement's index in it. */
export interface Place {
  file: FileRef;
  offset: number;
  end: number;
  part: number;
}

/**
 * running: may still do anything; aborted: an error hit it inside a block (or what may be one);
 * committing: ended, or its COMMIT was logged, and no error yet; preparing: its PREPARE TRANSACTION
 * was logged; prepared: waits for COMMIT/ROLLBACK PREPARED; unknown: was committing or preparing when
 * the server crashed, and only a person can decide it (see `resolve`).
 */
export type TxStatus = 'running' | 'aborted' | 'committing' | 'preparing' | 'prepared' | 'committed' | 'failed' | 'unknown';

export interface SessionView {
  settings: SettingValues;
  temp: string[];
}

export interface Savepoint {
  name: string;
  /** Units of the transaction before it, and parts of the last of them. */
  units: number;
  parts: number;
  view: SessionView;
  local: SettingValues;
}

export interface Tx {
  id: number;
  session: string;
  /** The backend's pid: with the virtual xid, what the primary is asked about (see io/source). */
  pid: number;
  vxid: string;
  /**
   * For a transaction a multi-statement string went on in after its own COMMIT, ROLLBACK or PREPARE:
   * the string's record, and which of its transactions this is (1, 2, …).
   */
  origin?: string;
  segment: number;
  /** While aborted: the hash of the statement the error was raised in. */
  abortedBy?: string;
  explicit: boolean;
  beginSeen: boolean;
  /** Its statements were sent with the extended protocol, whose records do not tell a block. */
  blockUnknown: boolean;
  status: TxStatus;
  view: SessionView;
  before: SessionView;
  local: SettingValues;
  savepoints: Savepoint[];
  /** Orders of its units still pending. */
  units: number[];
  /** Runs a statement that commits transactions of its own (CREATE INDEX CONCURRENTLY, …). */
  multi: boolean;
  /** Temporary tables made ON COMMIT DROP. */
  dropOnCommit: string[];
  gid?: string;
  /** For a prepared transaction: the transaction of its COMMIT (ROLLBACK) PREPARED; decided with it. */
  commitBy?: number;
  rollbackBy?: number;
  /** For an unknown one: the log_time of the crash that left it so. */
  crashedAt?: string;
  /** The primary said it is running (see `settleFromSource`); true for this run only. */
  knownRunning?: boolean;
}

export interface Session {
  id: string;
  pid: number;
  /** The session logs transaction control (`log_statement = 'all'`). */
  exact: boolean;
  /** Undecided transactions, oldest first; the last is the current one. */
  txs: number[];
  /** Settings and temporary objects as the session stands after its last transaction. */
  view: SessionView;
  /** Its prepared statements (which no rollback undoes), by name. */
  prepared: Record<string, Place>;
  /**
   * Its last statement record: an error raised in it names its text. The hash is taken when an error
   * needs it or the judge is saved (see lastHash): most statements are never named by one.
   */
  last?: { tx: number; textHash?: string; record: string; units?: number[] };
}

/** A failure the log shows after what the judge read, for `settleFromSource`. */
export interface LaterFailure {
  sessionId: string;
  vxid: string;
  queryHash: string;
  /** The statement text it names (see partialWork). */
  query?: string;
}

export interface PendingUnit extends UnitSpec {
  order: number;
  tx: number;
  dropped: boolean;
  /**
   * Hash of the record's text: an ERROR's `query` column names the statement it was raised in. Taken
   * when first needed (unitHash): most units are decided without it.
   */
  textHash?: string;
  /** Its capture records' transactions: when there are any, the primary's answers decide it. */
  captures?: StatementCapture[];
}

/** Everything the judge knows, in the state file's format (see stateFormat). */
export type { JudgeSnapshot } from './stateFormat';

export interface JudgeCounts {
  /** Statements read that are not DDL (left out). */
  notDdl: number;
  /** DDL units dropped because their transaction failed or was rolled back. */
  failed: number;
  /** DDL statements on temporary objects, not sent. */
  temporary: number;
  /** Units of blocks under `log_statement = 'ddl'`, sent although a silent ROLLBACK cannot be seen. */
  inExplicitBlock: number;
  /** Texts the parser did not accept (read lexically). */
  unparsed: number;
  /** Blocks under `log_statement = 'ddl'` that went on after an error (a savepoint no log shows). */
  recoveredUnseen: number;
  /** DDL statements not sent as a pg-ddl-sync's own, or an ignored role's (JudgeOptions.isOwn). */
  own: number;
  /** DDL statements not sent because they name the schema of the tool's ledger (see ledgerSchema). */
  ledgerSchema: number;
  /** Instance-level DDL (ALTER SYSTEM, tablespaces, subscriptions) not sent (see instanceCommands). */
  instance: number;
}

/** Reported once: an instance-level DDL statement left out (see instanceCommands). */
export interface InstanceDrop {
  file: FileRef;
  offset: number;
  database: string;
  /** Its command tag (the text stays in the log: it may hold secrets). */
  tag: string;
}

/** Reported once: a DDL statement left out because it names the ledger's schema. */
export interface LedgerSchemaDrop {
  file: FileRef;
  offset: number;
  database: string;
  /** Its command tag (the text stays in the log: it may hold secrets). */
  tag: string;
}

export interface JudgeOptions {
  /**
   * DDL never to send: a pg-ddl-sync's own, or an ignored role's (see core/echo). Only the DDL of such a
   * statement is left out: its transaction control and settings still tell the judge where its
   * session's transactions begin and end.
   */
  isOwn?: (r: Pick<StatementRecord, 'userName' | 'applicationName'>) => boolean;
  /** Send instance-level DDL too (see instanceCommands); left out by default. */
  sendInstanceCommands?: boolean;
  /**
   * The primary's capture key (core/capture), asked when a capture record is read; null where the
   * primary has none. It throws where the key cannot be had (no --source): nothing is trusted unchecked.
   */
  captureKey?: () => string | null;
}

/** A record written to look like a capture record whose MAC is not the capture key's. */
export interface CaptureForgery {
  file: FileRef;
  offset: number;
  database: string;
  /** The role the session logged in as: who wrote it. */
  user: string;
  why: string;
}

/** A unit still waiting, for the run's log. */
export interface WaitingUnit {
  unit: UnitSpec;
  /** Whether later units were held back by it (false: passed over, its transaction still running). */
  blocking: boolean;
  vxid: string;
}

/** A unit whose transaction was ending when the server crashed: it may or may not have committed. */
export interface UnknownUnit {
  unit: UnitSpec;
  vxid: string;
  /** The log_time of the first record of the crash or restart. */
  crashedAt: string;
}

const FORGET_AT = 4096;
const EMPTY_VIEW: SessionView = { settings: {}, temp: [] };
const NO_BODY_CHECK = 'SET LOCAL check_function_bodies = off';

export class Judge {
  readonly counts: JudgeCounts = { notDdl: 0, failed: 0, temporary: 0, inExplicitBlock: 0, unparsed: 0, recoveredUnseen: 0, own: 0, ledgerSchema: 0, instance: 0 };
  /** Filled as instance-level DDL is left out; the caller logs and clears it. */
  readonly instanceDrops: InstanceDrop[] = [];
  /** Filled as DDL naming the ledger's schema is read; the caller logs and clears it. */
  readonly ledgerSchemaDrops: LedgerSchemaDrop[] = [];
  /**
   * Filled by emit: units sent as committed from a block whose end the log cannot show (its BEGIN
   * was not logged, log_statement = 'ddl'), so a silent ROLLBACK would not be seen. The caller names
   * them and clears it.
   */
  readonly unjudged: UnitSpec[] = [];
  /** Filled as capture records that are not the helper's are read; the caller logs and clears it. */
  readonly forgeries: CaptureForgery[] = [];
  /** Filled as DDL the log shows no statement of is read; the caller reports and clears it. */
  readonly nestedFound: NestedDdl[] = [];
  /** Such DDL not handled yet: saved, until a person handles it (markNestedHandled). */
  private readonly nested: NestedDdl[];
  /** Objects the primary made that the targets never got (core/neverGot): kept, handled or not. */
  private readonly neverGot: NeverGot[];
  private nextOrder: number;
  private nextTx: number;
  private readonly sessions = new Map<string, Session>();
  private readonly txs = new Map<number, Tx>();
  private readonly pending = new Map<number, PendingUnit>();
  private readonly prepared = new Map<string, number>();
  /**
   * The text of each session's last statement, by session id, until it is hashed; never saved (it may
   * hold secrets). Let go with its session.
   */
  private readonly lastText = new Map<string, string>();
  /** The texts it analysed last, for what reads its units again in the same run (io/unitText). */
  readonly analyses = new Analyses();
  /** The text of each pending unit's record, by its order, until it is hashed (unitHash); never saved. */
  private readonly unitText = new Map<number, string>();
  /**
   * The database of each session's last statement when it is a REINDEX (see noteLeftovers): an error
   * record does not name it. Never saved: an error read by a later run than its REINDEX is not used.
   */
  private readonly reindexIn = new Map<string, string>();
  /**
   * The transactions some prepared transaction's commitBy or rollbackBy names (its COMMIT or ROLLBACK
   * PREPARED): deciding one walks the transactions, deciding any other need not. Derived, not saved.
   */
  private readonly deciders = new Set<number>();
  /**
   * The transactions each multi-statement string went on in (see Tx.origin), by the string's record,
   * in the order they were made: an error in the string fails its later ones, and looking only here
   * spares a walk of every transaction per error. Derived, not saved.
   */
  private readonly segments = new Map<string, number[]>();
  /** When txs and sessions outgrow this, the decided ones are let go (see add). */
  private forgetAt = FORGET_AT;

  constructor(
    snapshot?: JudgeSnapshot,
    private readonly opts: JudgeOptions = {},
  ) {
    const saved = snapshot && judgeFromSaved(snapshot);
    this.nextOrder = saved?.nextOrder ?? 0;
    this.nextTx = saved?.nextTx ?? 0;
    for (const s of saved?.sessions ?? []) this.sessions.set(s.id, s);
    for (const t of saved?.txs ?? []) this.txs.set(t.id, t);
    for (const u of saved?.pending ?? []) {
      // "Still running" was the primary's answer for one run: asked again.
      const captures = u.captures?.map((c) => (c.status === 'in progress' ? { xid: c.xid, sub: c.sub } : c));
      this.pending.set(u.order, captures ? { ...u, captures } : u);
    }
    this.nested = [...(saved?.nested ?? [])];
    this.neverGot = [...(saved?.neverGot ?? [])];
    for (const [gid, id] of Object.entries(saved?.prepared ?? {})) this.prepared.set(gid, id);
    for (const t of this.txs.values()) {
      if (t.origin !== undefined) this.noteSegment(t);
      if (t.commitBy !== undefined) this.deciders.add(t.commitBy);
      if (t.rollbackBy !== undefined) this.deciders.add(t.rollbackBy);
    }
  }

  /** Takes the next record of the log, and the file it is in. */
  add(record: LogRecord, file: FileRef): void {
    // What a long read decided is let go as it goes, as at the end of a run: memory stays bounded by
    // what is undecided, whatever the length of the log.
    if (this.txs.size + this.sessions.size > this.forgetAt) {
      this.forgetDecided();
      this.forgetAt = Math.max(FORGET_AT, 2 * (this.txs.size + this.sessions.size));
    }
    switch (record.kind) {
      case 'statement':
        this.onStatement(record, file);
        break;
      case 'failure':
        if (record.severity === 'PANIC') this.onServerRestart(record.logTime);
        else {
          this.noteLeftovers(record, file);
          this.onFailure(record.sessionId, record.vxid, record.severity, hashText(record.query), record.query);
        }
        break;
      case 'other':
        if (record.event === 'server-restart') this.onServerRestart(record.logTime);
        else if (record.event === 'server-stop') this.onCleanStop(record.logTime);
        else if (record.event === 'disconnection') this.endSession(record.sessionId, null);
        else this.observe(record.sessionId, record.vxid);
        break;
      case 'capture':
        this.onCapture(record, file);
        break;
    }
  }

  /**
   * Decides with what the primary said (io/source). `running` holds `pid/vxid` of the transactions it
   * runs, `busy` the pids running any. `later` are the failures its log shows after what was read, up
   * to the moment it was asked. A transaction that is not running ended: committed if it was ending or
   * its block's end cannot be logged (log_statement = 'ddl'), failed if it was aborted or failed
   * later; a block whose BEGIN was logged waits for its COMMIT or ROLLBACK in the log.
   */
  settleFromSource(running: ReadonlySet<string>, busy: ReadonlySet<number>, later: LaterFailure[], statuses: ReadonlyMap<string, TxidStatus> = new Map()): void {
    for (const u of this.pending.values()) {
      for (const c of u.captures ?? []) if (c.status === undefined || c.status === 'in progress') c.status = combinedStatus(statuses.get(c.sub), statuses.get(c.xid)) ?? c.status;
    }
    for (const f of later) {
      const session = this.sessions.get(f.sessionId);
      const tx = session && this.failingTx(session, f.vxid, f.queryHash);
      if (tx && !this.leftBehindBy(tx, f.vxid, f.query ?? '')) this.decide(tx, 'failed');
    }
    for (const tx of [...this.txs.values()]) {
      if (!isUndecided(tx)) continue;
      const runs = tx.multi ? busy.has(tx.pid) : running.has(`${tx.pid}/${tx.vxid}`);
      if (runs) {
        tx.knownRunning = true;
      } else if (tx.status === 'aborted') {
        this.decide(tx, 'failed');
      } else if (tx.status === 'committing' || tx.status === 'preparing') {
        this.decide(tx, 'committed');
      } else if (!(tx.beginSeen && this.sessions.get(tx.session)?.exact)) {
        this.decide(tx, 'committed');
      }
    }
  }

  /** The ids of the sessions it holds something of. */
  sessionIds(): IterableIterator<string> {
    return this.sessions.keys();
  }

  /** Whether it holds something of the session: undecided transactions, settings, temporary objects. */
  hasSession(id: string): boolean {
    return this.sessions.has(id);
  }

  /** Whether it holds a transaction of the session that is not decided yet. */
  hasOpenTransaction(id: string): boolean {
    return (this.sessions.get(id)?.txs.length ?? 0) > 0;
  }

  /** The xids (with epochs) of the captures whose outcome the primary is to be asked (txid_status). */
  captureQuestions(): string[] {
    const xids = new Set<string>();
    for (const u of this.pending.values()) {
      for (const c of u.captures ?? []) {
        if (c.status !== undefined && c.status !== 'in progress') continue;
        xids.add(c.sub);
        xids.add(c.xid);
      }
    }
    return [...xids];
  }

  /** The objects the primary made that the targets never got, as far as the log shows them. */
  neverGotObjects(): readonly NeverGot[] {
    return this.neverGot;
  }

  /** DDL the log shows no statement of that no person has handled yet, in log order. */
  unhandledNested(): NestedDdl[] {
    return [...this.nested];
  }

  /**
   * A person's word that nested DDL (as unhandledNested shows it, by `file:offset`) is dealt with.
   * @returns false when none is at that place
   */
  markNestedHandled(at: string): boolean {
    const i = this.nested.findIndex((n) => n.at === at);
    if (i < 0) return false;
    this.nested.splice(i, 1);
    return true;
  }

  /** True when some unit waits on a transaction the log has not decided. */
  hasBlocked(): boolean {
    return this.emitOrder().blocked !== undefined;
  }

  /**
   * Takes out the units that can go to the targets now, in the order they must be applied, and drops
   * those whose transaction failed.
   */
  emit(): UnitSpec[] {
    const { ready, dropped, stops } = this.emitOrder();
    for (const u of [...ready, ...dropped]) this.release(u);
    this.counts.failed += dropped.length;
    for (const u of ready) {
      const tx = this.txs.get(u.tx);
      const stop = stops.get(u.order);
      if (stop !== undefined) u.stop = stop;
      // A block whose BEGIN the log did not show: its COMMIT or ROLLBACK is not there either. (The
      // primary's answer on a capture is proof.)
      if (tx?.explicit && !tx.beginSeen && !u.captures?.length) {
        this.counts.inExplicitBlock++;
        this.unjudged.push(spec(u));
      }
    }
    this.forgetDecided();
    return ready.map(spec);
  }

  /** The units left waiting for their transaction's end in the log, in log order. */
  waiting(): WaitingUnit[] {
    const { blocked } = this.emitOrder();
    const unknown = (u: PendingUnit): boolean => this.txs.get(u.tx)?.status === 'unknown';
    return this.sortedPending().filter((u) => !unknown(u)).map((u) => ({
      unit: spec(u),
      blocking: blocked !== undefined && u.order >= blocked,
      vxid: this.txs.get(u.tx)?.vxid ?? '',
    }));
  }

  /** The units whose outcome a crash left unknown, in log order: they wait for `resolve`. */
  unknown(): UnknownUnit[] {
    return this.sortedPending().flatMap((u) => {
      const tx = this.txs.get(u.tx);
      return tx?.status === 'unknown' ? [{ unit: spec(u), vxid: tx.vxid, crashedAt: tx.crashedAt ?? '' }] : [];
    });
  }

  /**
   * A person's word on a transaction a crash left unknown, named by one of its units (`file:offset`,
   * as `unknown()` shows it): it committed on the primary (send its units) or not (drop them).
   * @returns the units of the transaction, or undefined when no unknown unit is at that place
   */
  resolve(at: string, outcome: 'committed' | 'failed'): UnitSpec[] | undefined {
    const named = this.sortedPending().find((u) => `${u.file.name}:${u.offset}` === at && this.txs.get(u.tx)?.status === 'unknown');
    const tx = named && this.txs.get(named.tx);
    if (!tx) return undefined;
    const units = tx.units.map((o) => this.pending.get(o)).filter((u): u is PendingUnit => u !== undefined);
    tx.status = outcome;
    tx.crashedAt = undefined;
    return units.map(spec);
  }

  snapshot(): JudgeSnapshot {
    const sessions = [...this.sessions.values()].filter((s) => !isIdle(s));
    for (const s of sessions) this.lastHash(s);
    return judgeToSaved({
      nextOrder: this.nextOrder,
      nextTx: this.nextTx,
      sessions,
      txs: [...this.txs.values()],
      pending: this.sortedPending().map((u) => ({ ...u, textHash: this.unitHash(u) })),
      prepared: Object.fromEntries(this.prepared),
      nested: this.nested,
      neverGot: this.neverGot,
    });
  }

  // --- reading records ---------------------------------------------------------------------------

  private onStatement(r: StatementRecord, file: FileRef): void {
    const session = this.session(r.sessionId, r.processId);
    this.moveOn(session, r.vxid);
    let tx = this.current(session, r.vxid);
    const record = `${file.key}@${r.offset}`;
    session.last = { tx: tx.id, record, units: [] };
    this.lastText.set(session.id, r.text);
    if (/reindex/i.test(r.text)) this.reindexIn.set(session.id, r.databaseName);
    else this.reindexIn.delete(session.id);
    if (r.commandTag.startsWith('idle in transaction')) tx.explicit = true;
    else if (r.commandTag !== 'idle') tx.blockUnknown = true;
    // A block that logged an error and goes on (not "aborted"): a ROLLBACK TO SAVEPOINT the log does
    // not show recovered it. The statement that failed is undone; what else the savepoint undid
    // cannot be seen. (Under 'all' the ROLLBACK TO itself is logged and recovers it.)
    if (tx.status === 'aborted' && !session.exact && !r.commandTag.endsWith('(aborted)')) this.recoverUnseen(tx);
    const scs = tx.local.standard_conforming_strings ?? tx.view.settings.standard_conforming_strings;
    const { parts, parsed } = analyzeRecord(r, stringSyntaxIn(scs === undefined ? [] : [scs]), this.analyses);
    /** Whether the statement is one never to send (asked of the first DDL part, if any). */
    let own: boolean | undefined;
    if (!parsed && parts.some((p) => p.kind !== 'other')) this.counts.unparsed++;
    let unit: PendingUnit | null = null;
    for (const [index, part] of parts.entries()) {
      switch (part.kind) {
        case 'other':
          this.counts.notDdl++;
          break;
        case 'ddl':
          unit = this.onDdlPart(r, file, { session, tx, unit, index }, part, () => (own ??= this.opts.isOwn?.(r) ?? false));
          break;
        case 'prepare':
          session.exact = true;
          session.prepared = { ...session.prepared, [part.name]: { file, offset: r.offset, end: r.end, part: index } };
          break;
        case 'deallocate':
          session.exact = true;
          session.prepared = part.name === undefined ? {} : Object.fromEntries(Object.entries(session.prepared).filter(([n]) => n !== part.name));
          break;
        case 'set':
          session.exact = true;
          this.onSetPart(tx, unit, part.change, index);
          break;
        case 'discard':
          session.exact = true;
          tx.view = part.all ? EMPTY_VIEW : { ...tx.view, temp: [] };
          if (part.all) {
            tx.local = {};
            session.prepared = {};
          }
          break;
        case 'transaction':
          session.exact = true;
          tx = this.onTransactionVerb(session, tx, part, index < parts.length - 1, record);
          unit = null;
          break;
      }
    }
    // Outside a block, a statement (or a multi-statement string) is its own transaction: it commits
    // as it ends. Whether it did is known once the session moves on.
    if (!tx.explicit && tx.status === 'running') tx.status = 'committing';
    session.last.tx = tx.id;
  }

  /**
   * One DDL statement of a record: left out (the tool's own, naming the ledger's schema, an instance
   * command, only temporary objects) or added to the unit of its transaction, made when needed.
   * @returns the unit the record's next parts join
   */
  private onDdlPart(
    r: StatementRecord,
    file: FileRef,
    at: { session: Session; tx: Tx; unit: PendingUnit | null; index: number },
    part: Extract<Part, { kind: 'ddl' }>,
    isOwn: () => boolean,
  ): PendingUnit | null {
    const { session, tx, index } = at;
    if (isOwn()) {
      this.counts.own++;
      return at.unit;
    }
    if (part.namesLedger) {
      this.counts.ledgerSchema++;
      this.ledgerSchemaDrops.push({ file, offset: r.offset, database: r.databaseName, tag: part.tag });
      return at.unit;
    }
    if (!this.opts.sendInstanceCommands && isInstanceCommand(part.tag)) {
      this.counts.instance++;
      this.instanceDrops.push({ file, offset: r.offset, database: r.databaseName, tag: part.tag });
      return at.unit;
    }
    const sent = this.temporaryEffect(tx, part);
    if (sent === 'none') {
      this.counts.temporary++;
      return at.unit;
    }
    let unit = at.unit;
    if (!unit || unit.tx !== tx.id) {
      unit = this.newUnit(r, file, index, tx);
      session.last?.units?.push(unit.order);
    }
    unit.parts.push(index);
    if (sent !== 'all') unit.rewrites = { ...unit.rewrites, [index]: sent.rewrite };
    unit.runsAlone ||= part.runsAlone;
    unit.actsOnDatabase ||= part.actsOnDatabase;
    tx.multi ||= part.runsAlone;
    for (const name of part.executes) {
      const prepared = session.prepared[name];
      if (prepared && !unit.prepares?.includes(prepared)) unit.prepares = [...(unit.prepares ?? []), prepared];
      if (!prepared) unit.stop ??= prepareNotLogged(name);
    }
    // A body checked against the session's temporary objects cannot be checked on a target, which
    // has none; the primary checked it.
    if (part.routine && tx.view.temp.length > 0 && !unit.settings.includes(NO_BODY_CHECK)) unit.settings = [...unit.settings, NO_BODY_CHECK];
    return unit;
  }

  /**
   * A SET (or RESET) of a record. Between statements of the same unit, a carried SET is sent where it
   * stood (as SET LOCAL), and a reset as what puts back, on the target, the values it put back on the
   * primary.
   */
  private onSetPart(tx: Tx, unit: PendingUnit | null, change: SettingChange, index: number): void {
    const before = { ...tx.view.settings, ...tx.local };
    this.applySetting(tx, change);
    if (!unit || unit.tx !== tx.id) return;
    if (change.kind === 'set') {
      if (isCarried(change.name)) unit.parts.push(index);
      return;
    }
    const reset = resetStatements(change, before, { ...tx.view.settings, ...tx.local });
    if (reset) {
      unit.parts.push(index);
      unit.resets = { ...unit.resets, [index]: reset };
    }
  }

  /**
   * A capture record: checked against the capture key, then taken as the word on the statement it
   * follows (its session's last, in the same transaction), or as DDL no statement shows.
   */
  private onCapture(r: CaptureRecord, file: FileRef): void {
    this.observe(r.sessionId, r.vxid);
    const key = this.opts.captureKey?.() ?? null;
    const parsed = key === null ? { kind: 'forged' as const, why: 'the primary has no capture key (ddl_sync_capture.key), so no capture record is its helper\'s' } : parseCapture(r.message, key);
    if (parsed.kind === 'forged') {
      this.forgeries.push({ file, offset: r.offset, database: r.databaseName, user: r.userName, why: parsed.why });
      return;
    }
    const session = this.sessions.get(r.sessionId);
    const units = session && this.unitsOfLast(session, r.vxid);
    if (parsed.kind === 'capture-failed') {
      for (const u of units ?? []) {
        u.stop = `its capture record says the capture helper failed on the primary (SQLSTATE ${parsed.sqlState}): the transaction, role and settings it ran with are not known`;
      }
      return;
    }
    const { payload } = parsed;
    if (isNested(payload, r, units !== undefined)) {
      // The tool's own sessions run what they apply inside functions (see applier's guards).
      if (this.opts.isOwn?.(r)) return;
      this.onNested(nestedDdl(payload, r, file));
      return;
    }
    // What a logged statement made the targets get too: a never-got entry of the same name is stale.
    this.forgetNeverGot(madeByNested(nestedDdl(payload, r, file)));
    const unit = units?.[units.length - 1];
    if (!unit) return;
    if (isPrepareNotLogged(unit.stop) && unit.parts.length === 1) {
      // What a CREATE TABLE … AS EXECUTE ran is not in the log, but the capture names what it made:
      // like DDL inside a function, it is reported, and copied from the primary (nested --copy)
      // instead of stopping every target at it.
      unit.stop = undefined;
      unit.dropped = true;
      this.onNested(nestedDdl(payload, r, file));
      return;
    }
    // The settings the statement ran with: as the primary had them, not as the log lets them be guessed.
    const carried = captureSettings(payload, unit.user);
    if ('stop' in carried) unit.stop ??= carried.stop;
    else if (!unit.captures?.length) unit.settings = [...carried.statements, ...(unit.settings.includes(NO_BODY_CHECK) ? [NO_BODY_CHECK] : [])];
    else if (carried.statements.join('\n') !== unit.settings.filter((s) => s !== NO_BODY_CHECK).join('\n')) {
      // A later command of the same query string ran with another role or other settings (a
      // set_config() between them, which the log does not show as a SET): a target runs the string
      // with the first command's.
      unit.stop ??= `its DDL commands ran with different roles or settings on the primary (their capture records differ: ${carried.statements.join('; ')}), and a target would run them all with the first's; run them on the targets by hand, then skip it`;
    }
    unit.captures = [...(unit.captures ?? []), { xid: payload.xid, sub: payload.sub }];
  }

  /** Takes out the never-got entries of these objects, which the targets now have. */
  forgetNeverGot(made: readonly NeverGot[]): void {
    for (const m of made) {
      for (let i = this.neverGot.length - 1; i >= 0; i--) {
        const g = this.neverGot[i];
        if (g.database === m.database && g.kind === m.kind && g.name === m.name && (g.anySchema || g.schema === m.schema)) this.neverGot.splice(i, 1);
      }
    }
  }

  /** Nested DDL: reported, kept until handled; what it made the targets never get, what it dropped is gone. */
  private onNested(found: NestedDdl): void {
    this.nested.push(found);
    this.nestedFound.push(found);
    for (const d of droppedByNested(found)) {
      const i = this.neverGot.findIndex((g) => g.database === d.database && g.schema === d.schema && g.name === d.name);
      if (i >= 0) this.neverGot.splice(i, 1);
    }
    this.neverGot.push(...madeByNested(found));
  }

  /**
   * The units of the session's last statement record in transaction `vxid`; undefined when that
   * record is of another transaction (or there is none): then no logged statement is the capture's.
   */
  private unitsOfLast(session: Session, vxid: string): PendingUnit[] | undefined {
    const last = session.last;
    if (!last || vxid === '') return undefined;
    const all = (last.units ?? []).map((o) => this.pending.get(o)).filter((u): u is PendingUnit => u !== undefined);
    const units = all.filter((u) => this.txs.get(u.tx)?.vxid === vxid);
    if (units.length > 0 || this.txs.get(last.tx)?.vxid === vxid) return units;
    // A statement that commits transactions of its own (CREATE INDEX CONCURRENTLY, …) reaches its
    // end, where the trigger fires, in a later transaction of its backend: its capture comes from
    // there, once.
    const ownCommits = all.filter((u) => this.txs.get(u.tx)?.multi === true && !u.captures?.length && laterOfBackend(this.txs.get(u.tx)!.vxid, vxid));
    return ownCommits.length > 0 ? ownCommits : undefined;
  }

  private applySetting(tx: Tx, change: SettingChange): void {
    if (change.kind !== 'discard' && change.local) {
      tx.local = applyChange(tx.local, change);
      return;
    }
    tx.view = { ...tx.view, settings: applyChange(tx.view.settings, change) };
    if (change.kind === 'reset-all') tx.local = applyChange(tx.local, change);
    // A SET or RESET overrides a SET LOCAL of the same setting earlier in the transaction, for the
    // rest of it too.
    else if (change.kind !== 'discard') tx.local = applyChange(tx.local, { kind: 'reset', name: change.name, local: true });
  }

  /** An aborted block under `log_statement = 'ddl'` goes on: drop the statement that failed. */
  private recoverUnseen(tx: Tx): void {
    const failedHash = tx.abortedBy;
    for (const order of tx.units) {
      const u = this.pending.get(order);
      if (u && this.unitHash(u) === failedHash) u.dropped = true;
    }
    tx.status = 'running';
    tx.abortedBy = undefined;
    this.counts.recoveredUnseen++;
  }

  /** @returns the session's current transaction after the verb */
  private onTransactionVerb(session: Session, tx: Tx, part: Extract<Part, { kind: 'transaction' }>, more: boolean, record: string): Tx {
    switch (part.verb) {
      case 'begin':
        tx.explicit = true;
        tx.beginSeen = true;
        return tx;
      case 'commit':
        // COMMIT of an aborted block rolls it back.
        if (tx.status === 'aborted') this.decide(tx, 'failed');
        else tx.status = 'committing';
        return part.chain || more ? this.continuation(session, tx, part.chain, record) : tx;
      case 'rollback':
        this.decide(tx, 'failed');
        return part.chain || more ? this.continuation(session, tx, part.chain, record) : tx;
      case 'savepoint':
        tx.savepoints.push({
          name: part.name ?? '',
          units: tx.units.length,
          parts: this.pending.get(tx.units[tx.units.length - 1])?.parts.length ?? 0,
          view: tx.view,
          local: tx.local,
        });
        return tx;
      case 'release': {
        const at = tx.savepoints.map((s) => s.name).lastIndexOf(part.name ?? '');
        if (at >= 0) tx.savepoints.length = at;
        return tx;
      }
      case 'rollback to':
        if (this.rollbackTo(tx, part.name ?? '') && tx.status === 'aborted') {
          tx.status = 'running';
          tx.abortedBy = undefined;
        }
        return tx;
      case 'prepare transaction':
        // Outside a block it prepares nothing (a warning). Inside, the transaction leaves the session
        // once its PREPARE is done: when the session moves on without an error.
        if (!tx.explicit) return tx;
        if (tx.status === 'aborted') {
          this.decide(tx, 'failed');
        } else {
          tx.status = 'preparing';
          tx.gid = part.name;
        }
        return more ? this.continuation(session, tx, false, record) : tx;
      case 'commit prepared':
      case 'rollback prepared': {
        // Decided when this statement's own transaction is: a COMMIT PREPARED can fail.
        const prepared = this.preparedTx(part.name ?? '');
        if (prepared && part.verb === 'commit prepared') prepared.commitBy = tx.id;
        else if (prepared) prepared.rollbackBy = tx.id;
        if (prepared) this.deciders.add(tx.id);
        return tx;
      }
    }
  }

  /** The prepared transaction of a gid, or the one whose PREPARE is not proven yet. */
  private preparedTx(gid: string): Tx | undefined {
    const known = this.txs.get(this.prepared.get(gid) ?? -1);
    if (known) return known;
    return [...this.txs.values()].reverse().find((t) => t.status === 'preparing' && t.gid === gid);
  }

  /** @returns false when the savepoint is unknown and the statement changed nothing */
  private rollbackTo(tx: Tx, name: string): boolean {
    const at = tx.savepoints.map((s) => s.name).lastIndexOf(name);
    // A savepoint this block set before the judge's first record: everything seen of it is after the
    // savepoint. In a block whose BEGIN was seen, an unknown name is an error on the primary.
    if (at < 0 && tx.beginSeen) return false;
    const mark: Savepoint = at >= 0 ? tx.savepoints[at] : { name, units: 0, parts: 0, view: tx.before, local: {} };
    for (const order of tx.units.slice(mark.units)) {
      const u = this.pending.get(order);
      if (u) u.dropped = true;
    }
    const partial = this.pending.get(tx.units[mark.units - 1]);
    if (partial && mark.units > 0) partial.parts.length = mark.parts;
    tx.view = mark.view;
    tx.local = mark.local;
    if (at >= 0) tx.savepoints.length = at + 1;
    return true;
  }

  private onFailure(sessionId: string, vxid: string, severity: Exclude<Severity, 'PANIC'>, queryHash: string, query: string): void {
    const session = this.sessions.get(sessionId);
    if (!session) return;
    const failing = this.failingTx(session, vxid, queryHash);
    if (failing) {
      if (severity === 'ERROR' && this.mayRecover(session, failing)) {
        // Later errors in the aborted block ("current transaction is aborted") change nothing.
        if (failing.status !== 'aborted') {
          failing.status = 'aborted';
          failing.abortedBy = queryHash;
        }
      } else if (!this.leftBehindBy(failing, vxid, query)) {
        this.decide(failing, 'failed');
      }
      this.failLaterSegments(session, failing);
    }
    if (severity === 'FATAL') this.endSession(sessionId, vxid);
    else this.moveOn(session, vxid);
  }

  /**
   * The transaction an error was raised in: by its virtual xid, or, for a statement that commits
   * transactions of its own (CREATE INDEX CONCURRENTLY), by the text of the session's last statement.
   */
  private failingTx(session: Session, vxid: string, queryHash: string): Tx | undefined {
    const byVxid = session.txs.map((id) => this.txs.get(id)!).find((t) => t.vxid === vxid && vxid !== '');
    if (byVxid) return byVxid;
    const last = session.last && this.txs.get(session.last.tx);
    if (last && last.multi && isUndecided(last) && this.lastHash(session) === queryHash) return last;
    return undefined;
  }

  /**
   * Whether an error leaves the transaction only aborted, for a ROLLBACK TO SAVEPOINT to recover: in
   * a block, or in what may be one (the extended protocol under log_statement = 'ddl').
   */
  private mayRecover(session: Session, tx: Tx): boolean {
    if (tx.multi) return false;
    if (tx.explicit) return tx.status === 'running' || tx.status === 'aborted';
    return !session.exact && tx.blockUnknown && tx.status === 'committing';
  }

  /**
   * A statement that commits transactions of its own, failed after the first of them committed: what
   * that left on the primary stands, and its units go to the targets marked so (core/partialWork).
   */
  private leftBehindBy(tx: Tx, vxid: string, query: string): boolean {
    const left = tx.multi ? leftBehind(tx.vxid, vxid, query) : undefined;
    if (left === undefined) return false;
    for (const order of tx.units) {
      const u = this.pending.get(order);
      if (u) u.leftBehind = left;
    }
    this.decide(tx, 'committed');
    return true;
  }

  /**
   * Under log_statement = 'ddl' a REINDEX is not logged, only its ERROR: which of its transactions
   * failed cannot be told, nor the search_path it ran with. Its leftover names are kept for any schema:
   * only a later DROP of such a name, which the primary ran without error, is passed by them.
   */
  private noteUnloggedLeftovers(r: FailureRecord, file: FileRef): void {
    if (!r.databaseName) return;
    this.neverGot.push(...inAnySchemaWhereUnknown(reindexLeftovers(r.query, [], r.databaseName, `${file.name}:${r.offset}`)));
  }

  /**
   * A REINDEX INDEX CONCURRENTLY that failed after its first transaction committed (its error has
   * another virtual xid than its statement): the `_ccnew` or `_ccold` index it leaves the targets never
   * get. REINDEX is not DDL to the log: where it is not logged (log_statement = 'ddl'), its ERROR
   * alone records them (noteUnloggedLeftovers).
   */
  private noteLeftovers(r: FailureRecord, file: FileRef): void {
    if (r.severity === 'PANIC' || r.vxid === '' || !/reindex/i.test(r.query)) return;
    const session = this.sessions.get(r.sessionId);
    const tx = session?.last && this.txs.get(session.last.tx);
    // The REINDEX the error names is not the session's last logged statement: it was not logged.
    if (!session || !tx || this.lastHash(session) !== hashText(r.query)) {
      this.noteUnloggedLeftovers(r, file);
      return;
    }
    const database = this.reindexIn.get(r.sessionId);
    if (database === undefined || tx.vxid === '' || tx.vxid === r.vxid) return;
    const settings = settingStatements({ ...tx.view.settings, ...tx.local });
    this.neverGot.push(...inAnySchemaWhereUnknown(reindexLeftovers(r.query, settings, database, `${file.name}:${r.offset}`)));
  }


  /** An error stops a string where it was raised: the transactions the string had yet to start never ran. */
  private failLaterSegments(session: Session, failed: Tx): void {
    const record = session.last?.record;
    if (record === undefined) return;
    const segment = failed.origin === record ? failed.segment : 0;
    for (const id of this.segments.get(record) ?? []) {
      const tx = this.txs.get(id)!;
      if (tx.segment > segment) this.decide(tx, 'failed');
    }
  }

  /** Notes a transaction a multi-statement string went on in, under the string's record. */
  private noteSegment(tx: Tx): void {
    const ids = this.segments.get(tx.origin!);
    if (ids) ids.push(tx.id);
    else this.segments.set(tx.origin!, [tx.id]);
  }

  /** Lets a forgotten transaction go from `segments`. */
  private forgetSegment(tx: Tx): void {
    const ids = this.segments.get(tx.origin!)?.filter((id) => id !== tx.id) ?? [];
    if (ids.length > 0) this.segments.set(tx.origin!, ids);
    else this.segments.delete(tx.origin!);
  }

  /**
   * The session is over: a `disconnection:` (vxid null) or a FATAL (with the virtual xid it was
   * raised in, '' outside a transaction). A block still open rolls back with it; the rest had ended.
   */
  private endSession(sessionId: string, vxid: string | null): void {
    const session = this.sessions.get(sessionId);
    if (!session) return;
    for (const id of [...session.txs]) {
      const tx = this.txs.get(id)!;
      if (tx.status === 'aborted') {
        this.decide(tx, 'failed');
      } else if (tx.status === 'committing' || tx.status === 'preparing' || vxid !== null) {
        // A FATAL names the transaction it hit (failed above); any other had ended before it.
        this.decide(tx, 'committed');
      } else if (tx.status === 'running') {
        // Disconnected in its block: a logged BEGIN without COMMIT rolled back with the session. Under
        // log_statement = 'ddl' the block's end is not logged; it is taken as committed.
        this.decide(tx, session.exact && tx.beginSeen ? 'failed' : 'committed');
      }
    }
    this.sessions.delete(sessionId);
    this.lastText.delete(sessionId);
    this.reindexIn.delete(sessionId);
  }

  /**
   * Every session's open transactions ended with the server. Prepared transactions survive. One that
   * was ending may have committed just before: with units to send, its outcome is unknown.
   */
  /**
   * The server stopped cleanly: every session had ended, and what failed in them logged its error or
   * FATAL before (a fast shutdown terminates each backend with a FATAL). So a transaction still
   * undecided is decided as an answer of the primary that nothing runs would decide it: a statement
   * that was ending committed. What is left (a block whose BEGIN was logged and its end not) rolled
   * back with its session.
   */
  private onCleanStop(at: string): void {
    this.settleFromSource(new Set(), new Set(), []);
    this.onServerRestart(at);
  }

  private onServerRestart(at: string): void {
    for (const session of this.sessions.values()) {
      for (const id of [...session.txs]) {
        const tx = this.txs.get(id)!;
        if (!isUndecided(tx)) continue;
        const ending = tx.status === 'committing' || tx.status === 'preparing';
        if (ending && tx.units.some((o) => this.pending.get(o)?.dropped === false)) {
          tx.status = 'unknown';
          tx.crashedAt = at;
          session.txs = session.txs.filter((t) => t !== id);
        } else {
          this.decide(tx, 'failed');
        }
      }
    }
    this.sessions.clear();
    this.lastText.clear();
    this.reindexIn.clear();
  }

  /** A record that is neither a statement nor a failure: it shows only which transaction is on. */
  private observe(sessionId: string, vxid: string): void {
    const session = this.sessions.get(sessionId);
    const current = session && this.txs.get(session.txs[session.txs.length - 1]);
    // A statement that commits transactions of its own shows their virtual xids while it runs.
    if (!session || current?.multi) return;
    this.moveOn(session, vxid);
  }

  /**
   * The session shows virtual xid `vxid`: its other transactions ended, and without an error they
   * committed (an aborted block failed).
   */
  private moveOn(session: Session | undefined, vxid: string): void {
    if (!session || vxid === '') return;
    // The common case, a statement in the transaction already on: nothing ended.
    if (session.txs.length === 1 && this.txs.get(session.txs[0])?.vxid === vxid) return;
    for (const id of [...session.txs]) {
      const tx = this.txs.get(id)!;
      if (tx.vxid === vxid) continue;
      this.decide(tx, tx.status === 'aborted' ? 'failed' : 'committed');
    }
  }

  private current(session: Session, vxid: string): Tx {
    const last = this.txs.get(session.txs[session.txs.length - 1]);
    if (last && last.vxid === vxid && isUndecided(last) && last.status !== 'preparing') return last;
    return this.newTx(session, vxid, false, this.viewAfter(session));
  }

  /**
   * The transaction a string goes on in after its own COMMIT, ROLLBACK or PREPARE (or AND CHAIN). A
   * backend numbers its transactions in turn: it is the next virtual xid.
   */
  private continuation(session: Session, ended: Tx, chained: boolean, record: string): Tx {
    const tx = this.newTx(session, nextVxid(ended.vxid), chained, this.viewAfterTx(ended), chained);
    tx.origin = record;
    tx.segment = (ended.origin === record ? ended.segment : 0) + 1;
    this.noteSegment(tx);
    return tx;
  }

  private newTx(session: Session, vxid: string, explicit: boolean, view: SessionView, beginSeen = false): Tx {
    const tx: Tx = {
      id: this.nextTx++,
      session: session.id,
      pid: session.pid,
      vxid,
      segment: 0,
      explicit,
      beginSeen,
      blockUnknown: false,
      status: 'running',
      view,
      before: view,
      local: {},
      savepoints: [],
      units: [],
      multi: false,
      dropOnCommit: [],
    };
    this.txs.set(tx.id, tx);
    session.txs.push(tx.id);
    return tx;
  }

  /** Settings and temporary objects the session's next transaction starts with. */
  private viewAfter(session: Session): SessionView {
    const last = this.txs.get(session.txs[session.txs.length - 1]);
    return last ? this.viewAfterTx(last) : session.view;
  }

  /** What a transaction leaves the session with, if it ends as it stands. */
  private viewAfterTx(tx: Tx): SessionView {
    if (tx.status === 'failed') return tx.before;
    if (tx.dropOnCommit.length === 0) return tx.view;
    return { ...tx.view, temp: tx.view.temp.filter((t) => !tx.dropOnCommit.includes(t)) };
  }

  /** The hash of a pending unit's record text, taken now if it was not yet. */
  private unitHash(u: PendingUnit): string {
    if (u.textHash === undefined) {
      // newUnit keeps the text until the unit is hashed or released.
      u.textHash = hashText(this.unitText.get(u.order)!);
      this.unitText.delete(u.order);
    }
    return u.textHash;
  }

  /** The hash of the session's last statement, taken now if it was not yet. */
  private lastHash(session: Session): string | undefined {
    const last = session.last;
    if (!last) return undefined;
    if (last.textHash === undefined) {
      const text = this.lastText.get(session.id);
      if (text !== undefined) last.textHash = hashText(text);
      this.lastText.delete(session.id);
    }
    return last.textHash;
  }

  private session(id: string, pid: number): Session {
    let s = this.sessions.get(id);
    if (!s) {
      s = { id, pid, exact: false, txs: [], view: EMPTY_VIEW, prepared: {} };
      this.sessions.set(id, s);
    }
    return s;
  }

  private newUnit(r: StatementRecord, file: FileRef, firstPart: number, tx: Tx): PendingUnit {
    const u: PendingUnit = {
      file,
      offset: r.offset,
      end: r.end,
      key: r.offset + firstPart,
      parts: [],
      settings: settingStatements({ ...tx.view.settings, ...tx.local }),
      database: r.databaseName,
      user: r.userName,
      sessionId: r.sessionId,
      logTime: r.logTime,
      runsAlone: false,
      actsOnDatabase: false,
      order: this.nextOrder++,
      tx: tx.id,
      dropped: false,
    };
    this.unitText.set(u.order, r.text);
    this.pending.set(u.order, u);
    tx.units.push(u.order);
    return u;
  }

  /**
   * What of a statement to send, given the session's temporary objects: all of it, none of it (it makes
   * a temporary object or acts on one), or a DROP without the temporary objects it also named. Keeps
   * the session's list of temporary objects up to date.
   */
  private temporaryEffect(tx: Tx, part: Extract<Part, { kind: 'ddl' }>): 'all' | 'none' | { rewrite: string } {
    const { creates, drops, refs, dependent, rename, drop } = part.temp;
    const temp = tx.view.temp;
    const setTemp = (next: string[]): void => {
      tx.view = { ...tx.view, temp: next };
    };
    if (rename && temp.includes(rename[0])) {
      setTemp(temp.map((t) => (t === rename[0] ? rename[1] : t)));
      return 'none';
    }
    if (drop) {
      const isTempName = (n: string[]): boolean => temp.includes(n[n.length - 1]) && (n.length === 1 || /^pg_temp(_\d+)?$/.test(n[0]));
      const dropped = drop.names.filter(isTempName);
      if (dropped.length === 0) return 'all';
      setTemp(temp.filter((t) => !dropped.some((n) => n[n.length - 1] === t)));
      const rest = drop.names.filter((n) => !isTempName(n));
      if (rest.length === 0) return 'none';
      // A name the parser may have cut short (it counts the bytes of a text not in UTF-8 twice or
      // more, see judgeForm) is not written back: the statement goes whole, and fails on the
      // target (which stops) unless it says IF EXISTS.
      return rest.some((n) => n.some(mayBeCut)) ? 'all' : { rewrite: dropStatement(drop, rest) };
    }
    const onTemp = refs.some((r) => temp.includes(r));
    if (creates.length === 0 && !onTemp) return 'all';
    setTemp([...temp.filter((t) => !drops.includes(t)), ...creates, ...(onTemp && dependent ? [dependent] : [])]);
    if (part.temp.onCommitDrop) tx.dropOnCommit.push(...creates);
    return 'none';
  }

  // --- deciding and emitting -----------------------------------------------------------------------

  private decide(tx: Tx, outcome: 'committed' | 'failed'): void {
    if (tx.status === 'committed' || tx.status === 'failed') return;
    // Only a COMMIT PREPARED or ROLLBACK PREPARED decides a prepared transaction.
    if (tx.status === 'prepared' && outcome === 'committed') return;
    const session = this.sessions.get(tx.session);
    if (session) {
      session.txs = session.txs.filter((id) => id !== tx.id);
      if (outcome === 'committed' || session.txs.length === 0) session.view = outcome === 'committed' ? this.viewAfterTx(tx) : tx.before;
    }
    if (tx.status === 'preparing' && outcome === 'committed') {
      // The PREPARE is done: the transaction is prepared, under its gid.
      tx.status = 'prepared';
      if (tx.gid !== undefined) this.prepared.set(tx.gid, tx.id);
      return;
    }
    tx.status = outcome;
    if (tx.gid !== undefined && this.prepared.get(tx.gid) === tx.id) this.prepared.delete(tx.gid);
    // A COMMIT (ROLLBACK) PREPARED that committed decides its prepared transaction; one that failed
    // leaves it prepared.
    if (!this.deciders.delete(tx.id)) return;
    for (const p of this.txs.values()) {
      if (p.commitBy !== tx.id && p.rollbackBy !== tx.id) continue;
      if (outcome === 'committed') {
        const decided: 'committed' | 'failed' = p.commitBy === tx.id ? 'committed' : 'failed';
        p.status = decided;
        if (p.gid !== undefined && this.prepared.get(p.gid) === p.id) this.prepared.delete(p.gid);
        const owner = this.sessions.get(p.session);
        if (owner) owner.txs = owner.txs.filter((id) => id !== p.id);
      } else {
        p.commitBy = undefined;
        p.rollbackBy = undefined;
      }
    }
  }

  /** Walks pending units in log order: which go now, which are dropped, where the first one waits. */
  private emitOrder(): { ready: PendingUnit[]; dropped: PendingUnit[]; stops: Map<number, string>; blocked?: number } {
    const ready: PendingUnit[] = [];
    const dropped: PendingUnit[] = [];
    const stops = new Map<number, string>();
    const droppedWithTx = new Set<number>();
    for (const u of this.sortedPending()) {
      if (droppedWithTx.has(u.order)) continue;
      if (u.captures?.length) {
        // The primary's word on the statement's own (sub)transaction decides it, whatever the log
        // suggests: it sees a ROLLBACK, and a ROLLBACK TO SAVEPOINT, that no log mode may show.
        const outcome = captureOutcome(u.captures);
        if (outcome.kind === 'ask') return { ready, dropped, stops, blocked: u.order };
        if (outcome.kind === 'drop' || (outcome.kind === 'send' && u.parts.length === 0)) {
          dropped.push(u);
          for (const later of outcome.kind === 'drop' ? this.rolledBackWith(u) : []) {
            droppedWithTx.add(later.order);
            dropped.push(later);
          }
        } else if (outcome.kind === 'send') ready.push(u);
        else if (outcome.kind === 'stop') {
          ready.push(u);
          stops.set(u.order, outcome.why);
        }
        continue;
      }
      const tx = this.txs.get(u.tx);
      // A statement no event trigger sees (DROP ROLE, CREATE DATABASE, …) has no capture of its own;
      // another statement of its transaction may have one, which tells whether the whole rolled back.
      const top = tx && this.topOutcome(tx);
      if (top === 'ask') return { ready, dropped, stops, blocked: u.order };
      if (top === 'running') continue;
      if (top === 'aborted') {
        dropped.push(u);
        continue;
      }
      const status = tx?.status ?? 'failed';
      if (status === 'failed' || (status === 'committed' && (u.dropped || u.parts.length === 0))) dropped.push(u);
      else if (status === 'committed') ready.push(u);
      else if (tx && this.isPassedOver(tx)) continue;
      else return { ready, dropped, stops, blocked: u.order };
    }
    return { ready, dropped, stops };
  }

  /**
   * What the captures of a transaction's other statements tell of the transaction as a whole:
   * `aborted` once one outside any subtransaction was rolled back; `ask` or `running` while that is
   * not known yet; undefined when they tell nothing (none, or a commit, which says nothing of a
   * savepoint the statement may have been rolled back to).
   */
  private topOutcome(tx: Tx): 'ask' | 'running' | 'aborted' | undefined {
    const captures = tx.units.flatMap((o) => this.pending.get(o)?.captures ?? []);
    if (captures.length === 0 || captures.some((c) => c.status === 'committed')) return undefined;
    if (captures.some((c) => c.status === undefined)) return 'ask';
    if (captures.some((c) => c.status === 'in progress')) return 'running';
    return captures.some((c) => c.status === 'aborted' && c.sub === c.xid) ? 'aborted' : undefined;
  }

  /**
   * The later units of a unit's transaction that have no capture record of their own, when its capture
   * says the whole transaction rolled back: dropped with it now. The walk may stop before it reaches
   * them, and once this unit is let go nothing of the transaction would tell they rolled back.
   */
  private rolledBackWith(u: PendingUnit): PendingUnit[] {
    if (!u.captures?.some((c) => c.status === 'aborted' && c.sub === c.xid)) return [];
    const units = this.txs.get(u.tx)?.units ?? [];
    return units.filter((o) => o > u.order).flatMap((o) => {
      const later = this.pending.get(o);
      return later && !later.captures?.length ? [later] : [];
    });
  }

  /** A transaction still running, which later units cannot depend on (see the module comment). */
  private isPassedOver(tx: Tx): boolean {
    if (tx.status === 'prepared') return tx.commitBy === undefined && tx.rollbackBy === undefined;
    if (tx.status === 'preparing' || tx.knownRunning) return true;
    return (tx.status === 'running' || tx.status === 'aborted') && tx.beginSeen && this.sessions.get(tx.session)?.exact === true;
  }

  private release(u: PendingUnit): void {
    this.pending.delete(u.order);
    this.unitText.delete(u.order);
    const tx = this.txs.get(u.tx);
    if (tx) tx.units = tx.units.filter((o) => o !== u.order);
  }

  /** Decided transactions with nothing pending are of no more use. */
  private forgetDecided(): void {
    for (const [id, tx] of this.txs) {
      if ((tx.status === 'committed' || tx.status === 'failed') && tx.units.length === 0) {
        this.txs.delete(id);
        if (tx.origin !== undefined) this.forgetSegment(tx);
      }
    }
    // A session with nothing pending and nothing set is learnt again from its next records.
    for (const [id, s] of this.sessions) {
      if (!isIdle(s)) continue;
      this.sessions.delete(id);
      this.lastText.delete(id);
      this.reindexIn.delete(id);
    }
  }

  private sortedPending(): PendingUnit[] {
    return [...this.pending.values()].sort((a, b) => a.order - b.order);
  }
}

function isUndecided(tx: Tx): boolean {
  return tx.status === 'running' || tx.status === 'aborted' || tx.status === 'committing' || tx.status === 'preparing';
}

/** The virtual xid a backend gives its next transaction: `3/41` → `3/42`. */
function nextVxid(vxid: string): string {
  const m = /^(\d+)\/(\d+)$/.exec(vxid);
  if (!m) return '';
  // Local transaction ids are 32 bits, and 0 is never used.
  const next = (Number(m[2]) + 1) % 2 ** 32 || 1;
  return `${m[1]}/${next}`;
}

/**
 * A short hash of a statement text, enough to tell texts apart. Taken of the redacted text, so the
 * state holds nothing to guess a password against.
 */
export function hashText(text: string): string {
  return createHash('sha256').update(redact(text)).digest('base64').slice(0, 16);
}

/** A session with nothing undecided and nothing set: learnt again from its next records if it has any. */
function isIdle(s: Session): boolean {
  return s.txs.length === 0 && Object.keys(s.view.settings).length === 0 && s.view.temp.length === 0 && Object.keys(s.prepared).length === 0;
}

function spec(u: PendingUnit): UnitSpec {
  const { order: _o, tx: _t, dropped: _d, textHash: _h, captures: _c, ...rest } = u;
  return rest;
}

/** A name of a text in judgeForm's one-character-a-byte form that the parser may have cut. */
function mayBeCut(name: string): boolean {
  // Cut at a character's start at most 63 bytes in: within a character (3 bytes here) of it.
  return /[\uf780-\uf7ff]/.test(name) && Buffer.byteLength(name, 'utf8') > NAMEDATALEN - 1 - 3;
}

/** PostgreSQL's identifier limit, in bytes, with its terminating zero. */
const NAMEDATALEN = 64;

/** Whether virtual xid `later` is a later transaction of the backend of `first` (`backend/local`). */
function laterOfBackend(first: string, later: string): boolean {
  const [b1, l1] = first.split('/');
  const [b2, l2] = later.split('/');
  return b1 === b2 && l1 !== undefined && l2 !== undefined && Number(l2) > Number(l1);
}
