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
 * - A server crash or restart ends every transaction it had open: rolled back.
 * - Under `log_statement = 'ddl'` no `BEGIN`, `COMMIT` or `ROLLBACK` is logged: a block's DDL is taken
 *   as committed once its session moves on without an error (a silent `ROLLBACK` is not visible).
 *
 * Order: committed units leave in log order (the order their statements started, which is the order
 * in which they took their locks). A unit whose transaction is undecided holds back every later one,
 * with one exception: a transaction known to be still running (a block whose `BEGIN` was logged and
 * whose `COMMIT`/`ROLLBACK` was not, a prepared transaction, or one the primary said is running) is
 * passed over. Nothing later can depend on it: it has not committed, and anything that needed its
 * locks is still waiting for them. Its units leave when it commits.
 */
import { createHash } from 'node:crypto';
import { LogRecord, Severity, StatementRecord } from './logRecord';
import { redact } from './redact';
import { SettingChange, SettingValues, applyChange, isCarried, settingStatements } from './sessionSettings';
import { Part, analyze } from './statements';
import { dropStatement } from './tempObjects';

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
  runsAlone: boolean;
  actsOnDatabase: boolean;
  /** `PREPARE` statements of the session that its statements execute, run before them. */
  prepares?: Place[];
  /** Statements sent in another form, by part index: a DROP without the temporary objects it named. */
  rewrites?: Record<number, string>;
}

/** One statement of a logged record: the record's place, and the statement's index in it. */
export interface Place {
  file: FileRef;
  offset: number;
  end: number;
  part: number;
}

/**
 * running: may still do anything; aborted: an error hit it inside a block; committing: ended, or its
 * COMMIT was logged, and no error yet; prepared: waits for COMMIT/ROLLBACK PREPARED.
 */
type TxStatus = 'running' | 'aborted' | 'committing' | 'committed' | 'failed' | 'prepared';

interface SessionView {
  settings: SettingValues;
  temp: string[];
}

interface Savepoint {
  name: string;
  /** Units of the transaction before it, and parts of the last of them. */
  units: number;
  parts: number;
  view: SessionView;
  local: SettingValues;
}

interface Tx {
  id: number;
  session: string;
  /** '' until known: the transaction a multi-statement string starts after its own COMMIT. */
  vxid: string;
  /** For such a transaction, the hash of the string: an ERROR raised in that string names it. */
  startedIn?: string;
  /** While aborted: the hash of the statement the error was raised in. */
  abortedBy?: string;
  explicit: boolean;
  beginSeen: boolean;
  status: TxStatus;
  view: SessionView;
  before: SessionView;
  local: SettingValues;
  savepoints: Savepoint[];
  /** Orders of its units still pending. */
  units: number[];
  gid?: string;
  /** For a prepared transaction: the transaction of its COMMIT PREPARED; it commits when that does. */
  commitBy?: number;
  /** Undecided when the server crashed, with a COMMIT under way: taken as rolled back, reported. */
  ambiguous?: boolean;
  /** The primary said it is running (see `settleFromSource`); true for this run only. */
  knownRunning?: boolean;
}

interface Session {
  id: string;
  /** The session logs transaction control (`log_statement = 'all'`). */
  exact: boolean;
  /** Undecided transactions, oldest first; the last is the current one. */
  txs: number[];
  /** Settings and temporary objects as the session stands after its last transaction. */
  view: SessionView;
  /** Its prepared statements (which no rollback undoes), by name. */
  prepared: Record<string, Place>;
}

interface PendingUnit extends UnitSpec {
  order: number;
  tx: number;
  dropped: boolean;
  /** Hash of the record's text: an ERROR's `query` column names the statement it was raised in. */
  textHash: string;
}

/** Everything the judge knows, as plain data for the state file. */
export interface JudgeSnapshot {
  nextOrder: number;
  nextTx: number;
  sessions: Session[];
  txs: Tx[];
  pending: PendingUnit[];
  prepared: Record<string, number>;
}

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
}

/** A unit still waiting, for the run's log. */
export interface WaitingUnit {
  unit: UnitSpec;
  /** Whether later units were held back by it (false: passed over, its transaction still running). */
  blocking: boolean;
  vxid: string;
}

/** Reported once: a unit dropped at a crash although its transaction may have committed. */
export interface CrashDrop {
  unit: UnitSpec;
  vxid: string;
}

const EMPTY_VIEW: SessionView = { settings: {}, temp: [] };
const NO_BODY_CHECK = 'SET LOCAL check_function_bodies = off';

export class Judge {
  readonly counts: JudgeCounts = { notDdl: 0, failed: 0, temporary: 0, inExplicitBlock: 0, unparsed: 0, recoveredUnseen: 0 };
  /** Filled as crashes are read; the caller logs and clears it. */
  readonly crashDrops: CrashDrop[] = [];
  private nextOrder: number;
  private nextTx: number;
  private readonly sessions = new Map<string, Session>();
  private readonly txs = new Map<number, Tx>();
  private readonly pending = new Map<number, PendingUnit>();
  private readonly prepared = new Map<string, number>();

  constructor(snapshot?: JudgeSnapshot) {
    this.nextOrder = snapshot?.nextOrder ?? 0;
    this.nextTx = snapshot?.nextTx ?? 0;
    for (const s of snapshot?.sessions ?? []) this.sessions.set(s.id, { ...s, prepared: s.prepared ?? {} });
    for (const t of snapshot?.txs ?? []) this.txs.set(t.id, { ...t, knownRunning: undefined });
    for (const u of snapshot?.pending ?? []) this.pending.set(u.order, u);
    for (const [gid, id] of Object.entries(snapshot?.prepared ?? {})) this.prepared.set(gid, id);
  }

  /** Takes the next record of the log, and the file it is in. */
  add(record: LogRecord, file: FileRef): void {
    switch (record.kind) {
      case 'statement':
        this.onStatement(record, file);
        break;
      case 'failure':
        if (record.severity === 'PANIC') this.onServerRestart();
        else this.onFailure(record.sessionId, record.vxid, record.severity, hashText(record.query));
        break;
      case 'other':
        if (record.event === 'server-restart') this.onServerRestart();
        else if (record.event === 'disconnection') this.endSession(record.sessionId, null);
        else this.observe(record.sessionId, record.vxid);
        break;
    }
  }

  /**
   * Decides with what the primary said: transactions in `running` are still running; the other
   * undecided ones ended, and `failed` names those whose ERROR or ROLLBACK came in the log after what
   * was read. Keys are `session/vxid`.
   */
  settleFromSource(running: ReadonlySet<string>, failed: ReadonlySet<string>): void {
    for (const tx of this.txs.values()) {
      if (!isUndecided(tx) || tx.vxid === '') continue;
      const key = `${tx.session}/${tx.vxid}`;
      if (running.has(key)) tx.knownRunning = true;
      else this.decide(tx, failed.has(key) ? 'failed' : 'committed');
    }
  }

  /** The undecided transactions, as `session/vxid` keys, for asking the primary. */
  undecided(): string[] {
    return [...this.txs.values()]
      .filter((t) => isUndecided(t) && t.vxid !== '' && t.units.length > 0)
      .map((t) => `${t.session}/${t.vxid}`);
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
    const { ready, dropped } = this.emitOrder();
    for (const u of [...ready, ...dropped]) this.release(u);
    this.counts.failed += dropped.length;
    for (const u of ready) {
      const tx = this.txs.get(u.tx);
      // A block whose BEGIN the log did not show: its COMMIT or ROLLBACK is not there either.
      if (tx?.explicit && !tx.beginSeen) this.counts.inExplicitBlock++;
    }
    this.forgetDecided();
    return ready.map(spec);
  }

  /** The units left waiting, in log order. */
  waiting(): WaitingUnit[] {
    const { blocked } = this.emitOrder();
    return this.sortedPending().map((u) => ({
      unit: spec(u),
      blocking: blocked !== undefined && u.order >= blocked,
      vxid: this.txs.get(u.tx)?.vxid ?? '',
    }));
  }

  snapshot(): JudgeSnapshot {
    return {
      nextOrder: this.nextOrder,
      nextTx: this.nextTx,
      sessions: [...this.sessions.values()].filter((s) => !isIdle(s)),
      txs: [...this.txs.values()],
      pending: this.sortedPending(),
      prepared: Object.fromEntries(this.prepared),
    };
  }

  // --- reading records ---------------------------------------------------------------------------

  private onStatement(r: StatementRecord, file: FileRef): void {
    const session = this.session(r.sessionId);
    this.moveOn(session, r.vxid, true);
    let tx = this.current(session, r.vxid);
    const textHash = hashText(r.text);
    if (r.commandTag.startsWith('idle in transaction')) {
      tx.explicit = true;
      // A block that logged an error and goes on (not "aborted"): a ROLLBACK TO SAVEPOINT the log
      // does not show recovered it. The statement that failed is undone; what else the savepoint
      // undid cannot be seen.
      if (tx.status === 'aborted' && r.commandTag === 'idle in transaction') this.recoverUnseen(tx);
    }
    const { parts, parsed } = analyze(r.text);
    if (!parsed && parts.some((p) => p.kind !== 'other')) this.counts.unparsed++;
    let unit: PendingUnit | null = null;
    for (const [index, part] of parts.entries()) {
      switch (part.kind) {
        case 'other':
          this.counts.notDdl++;
          break;
        case 'ddl': {
          const sent = this.temporaryEffect(tx, part);
          if (sent === 'none') {
            this.counts.temporary++;
            break;
          }
          if (!unit || unit.tx !== tx.id) unit = this.newUnit(r, file, index, tx, textHash);
          unit.parts.push(index);
          if (sent !== 'all') unit.rewrites = { ...unit.rewrites, [index]: sent.rewrite };
          unit.runsAlone ||= part.runsAlone;
          unit.actsOnDatabase ||= part.actsOnDatabase;
          for (const name of part.executes) {
            const prepared = session.prepared[name];
            if (prepared && !unit.prepares?.includes(prepared)) unit.prepares = [...(unit.prepares ?? []), prepared];
          }
          // A body checked against the session's temporary objects cannot be checked on a target, which
          // has none; the primary checked it.
          if (part.routine && tx.view.temp.length > 0 && !unit.settings.includes(NO_BODY_CHECK)) unit.settings = [...unit.settings, NO_BODY_CHECK];
          break;
        }
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
          this.applySetting(tx, part.change);
          // Between statements of the same unit, a carried SET is sent where it stood (as SET LOCAL).
          if (unit && unit.tx === tx.id && part.change.kind === 'set' && isCarried(part.change.name)) unit.parts.push(index);
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
          tx = this.onTransactionVerb(session, tx, part, index < parts.length - 1, textHash);
          unit = null;
          break;
      }
    }
    // Outside a block, a statement (or a multi-statement string) is its own transaction: it commits
    // as it ends. Whether it did is known once the session moves on.
    if (!tx.explicit && tx.status === 'running') tx.status = 'committing';
  }

  private applySetting(tx: Tx, change: SettingChange): void {
    if (change.kind !== 'discard' && change.local) {
      tx.local = applyChange(tx.local, change);
      return;
    }
    tx.view = { ...tx.view, settings: applyChange(tx.view.settings, change) };
    if (change.kind === 'reset-all') tx.local = applyChange(tx.local, change);
  }

  /** An aborted block under `log_statement = 'ddl'` goes on: drop the statement that failed. */
  private recoverUnseen(tx: Tx): void {
    const failedHash = tx.abortedBy;
    for (const order of tx.units) {
      const u = this.pending.get(order);
      if (u && u.textHash === failedHash) u.dropped = true;
    }
    tx.status = 'running';
    tx.abortedBy = undefined;
    this.counts.recoveredUnseen++;
  }

  /** @returns the session's current transaction after the verb */
  private onTransactionVerb(session: Session, tx: Tx, part: Extract<Part, { kind: 'transaction' }>, more: boolean, textHash: string): Tx {
    switch (part.verb) {
      case 'begin':
        tx.explicit = true;
        tx.beginSeen = true;
        return tx;
      case 'commit':
        // COMMIT of an aborted block rolls it back.
        if (tx.status === 'aborted') this.decide(tx, 'failed');
        else tx.status = 'committing';
        return part.chain || more ? this.continuation(session, tx, part.chain, textHash) : tx;
      case 'rollback':
        this.decide(tx, 'failed');
        return part.chain || more ? this.continuation(session, tx, part.chain, textHash) : tx;
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
        this.rollbackTo(tx, part.name ?? '');
        if (tx.status === 'aborted') {
          tx.status = 'running';
          tx.abortedBy = undefined;
        }
        return tx;
      case 'prepare transaction':
        // The transaction leaves the session; a COMMIT PREPARED, in any session, decides it later.
        if (tx.status === 'aborted') {
          this.decide(tx, 'failed');
        } else {
          tx.status = 'prepared';
          tx.gid = part.name;
          if (part.name !== undefined) this.prepared.set(part.name, tx.id);
          session.txs = session.txs.filter((id) => id !== tx.id);
        }
        return this.continuation(session, tx, false, textHash);
      case 'commit prepared':
      case 'rollback prepared': {
        const prepared = this.txs.get(this.prepared.get(part.name ?? '') ?? -1);
        if (prepared && part.verb === 'rollback prepared') this.decide(prepared, 'failed');
        else if (prepared) prepared.commitBy = tx.id;
        return tx;
      }
    }
  }

  private rollbackTo(tx: Tx, name: string): void {
    const at = tx.savepoints.map((s) => s.name).lastIndexOf(name);
    const mark: Savepoint =
      at >= 0 ? tx.savepoints[at] : { name, units: 0, parts: 0, view: tx.before, local: {} };
    // A savepoint set before the judge's first record: everything seen of the block is after it.
    for (const order of tx.units.slice(mark.units)) {
      const u = this.pending.get(order);
      if (u) u.dropped = true;
    }
    const partial = this.pending.get(tx.units[mark.units - 1]);
    if (partial && mark.units > 0) partial.parts.length = mark.parts;
    tx.view = mark.view;
    tx.local = mark.local;
    if (at >= 0) tx.savepoints.length = at + 1;
  }

  private onFailure(sessionId: string, vxid: string, severity: Exclude<Severity, 'PANIC'>, queryHash: string): void {
    const session = this.sessions.get(sessionId);
    if (!session) return;
    const open = session.txs.map((id) => this.txs.get(id)!);
    let failing = open.find((t) => t.vxid === vxid && vxid !== '');
    const last = open[open.length - 1];
    if (!failing && last && last.vxid === '' && last.startedIn === queryHash) {
      // Raised in the string that started this transaction after its own COMMIT.
      last.vxid = vxid;
      failing = last;
    }
    if (failing) {
      if (severity !== 'ERROR' || !failing.explicit || (failing.status !== 'running' && failing.status !== 'aborted')) {
        this.decide(failing, 'failed');
      } else if (failing.status === 'running') {
        // Later errors in the aborted block ("current transaction is aborted") change nothing.
        failing.status = 'aborted';
        failing.abortedBy = queryHash;
      }
    }
    if (severity === 'FATAL') this.endSession(sessionId, vxid);
    else this.moveOn(session, vxid, true);
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
      } else if (tx.status === 'committing' || vxid !== null) {
        // A FATAL names the transaction it hit (failed above); any other had ended before it.
        this.decide(tx, 'committed');
      } else if (tx.status === 'running') {
        // Disconnected in its block: a logged BEGIN without COMMIT rolled back with the session. Under
        // log_statement = 'ddl' the block's end is not logged; it is taken as committed.
        this.decide(tx, session.exact && tx.beginSeen ? 'failed' : 'committed');
      }
    }
    this.sessions.delete(sessionId);
  }

  /** Every session's open transactions ended with the server. Prepared transactions survive. */
  private onServerRestart(): void {
    for (const session of this.sessions.values()) {
      for (const id of session.txs) {
        const tx = this.txs.get(id)!;
        if (!isUndecided(tx)) continue;
        if (tx.status === 'committing') {
          tx.ambiguous = true;
          for (const order of tx.units) {
            const u = this.pending.get(order);
            if (u && !u.dropped) this.crashDrops.push({ unit: spec(u), vxid: tx.vxid });
          }
        }
        this.decide(tx, 'failed');
      }
    }
    this.sessions.clear();
  }

  /** A record that is neither a statement nor a failure: it shows only which transaction is on. */
  private observe(sessionId: string, vxid: string): void {
    const session = this.sessions.get(sessionId);
    const last = session && this.txs.get(session.txs[session.txs.length - 1]);
    // A transaction a string started after its COMMIT may be the one this record comes from: it
    // proves nothing about it.
    if (!session || !last || last.vxid === '') return;
    this.moveOn(session, vxid, false);
  }

  /**
   * The session shows virtual xid `vxid`: its other transactions ended, and without an error they
   * committed (an aborted block failed). A new statement, or an error raised outside it, also ends
   * a transaction a string started after its own COMMIT.
   */
  private moveOn(session: Session | undefined, vxid: string, newStatement: boolean): void {
    if (!session || vxid === '') return;
    for (const id of [...session.txs]) {
      const tx = this.txs.get(id)!;
      if (tx.vxid === '' && newStatement && tx.beginSeen) {
        // The block a COMMIT AND CHAIN opened goes on in the session's next statements.
        tx.vxid = vxid;
        continue;
      }
      if (tx.vxid === vxid || (tx.vxid === '' && !newStatement)) continue;
      if (tx.status === 'aborted') this.decide(tx, 'failed');
      else if (tx.status === 'running' || tx.status === 'committing') this.decide(tx, 'committed');
    }
  }

  private current(session: Session, vxid: string): Tx {
    const last = this.txs.get(session.txs[session.txs.length - 1]);
    if (last && last.vxid === vxid) return last;
    return this.newTx(session, vxid, false, this.viewAfter(session));
  }

  /** The transaction a string goes on in after its own COMMIT, ROLLBACK or PREPARE (or AND CHAIN). */
  private continuation(session: Session, ended: Tx, chained: boolean, textHash: string): Tx {
    const view = ended.status === 'failed' ? ended.before : ended.view;
    const tx = this.newTx(session, '', chained, view, chained);
    tx.startedIn = textHash;
    return tx;
  }

  private newTx(session: Session, vxid: string, explicit: boolean, view: SessionView, beginSeen = false): Tx {
    const tx: Tx = {
      id: this.nextTx++,
      session: session.id,
      vxid,
      explicit,
      beginSeen,
      status: 'running',
      view,
      before: view,
      local: {},
      savepoints: [],
      units: [],
    };
    this.txs.set(tx.id, tx);
    session.txs.push(tx.id);
    return tx;
  }

  /** Settings and temporary objects the session's next transaction starts with. */
  private viewAfter(session: Session): SessionView {
    const last = this.txs.get(session.txs[session.txs.length - 1]);
    if (!last) return session.view;
    return last.status === 'failed' ? last.before : last.view;
  }

  private session(id: string): Session {
    let s = this.sessions.get(id);
    if (!s) {
      s = { id, exact: false, txs: [], view: EMPTY_VIEW, prepared: {} };
      this.sessions.set(id, s);
    }
    return s;
  }

  private newUnit(r: StatementRecord, file: FileRef, firstPart: number, tx: Tx, textHash: string): PendingUnit {
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
      runsAlone: false,
      actsOnDatabase: false,
      order: this.nextOrder++,
      tx: tx.id,
      dropped: false,
      textHash,
    };
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
      return rest.length === 0 ? 'none' : { rewrite: dropStatement(drop, rest) };
    }
    const onTemp = refs.some((r) => temp.includes(r));
    if (creates.length === 0 && !onTemp) return 'all';
    setTemp([...temp.filter((t) => !drops.includes(t)), ...creates, ...(onTemp && dependent ? [dependent] : [])]);
    return 'none';
  }

  // --- deciding and emitting -----------------------------------------------------------------------

  private decide(tx: Tx, outcome: 'committed' | 'failed'): void {
    if (tx.status === 'committed' || tx.status === 'failed') return;
    if (tx.status === 'prepared' && outcome === 'committed') return; // decided by COMMIT PREPARED only
    tx.status = outcome;
    const session = this.sessions.get(tx.session);
    if (session) {
      if (outcome === 'committed') session.view = tx.view;
      session.txs = session.txs.filter((id) => id !== tx.id);
      if (session.txs.length === 0 && outcome === 'failed') session.view = tx.before;
    }
    if (tx.gid !== undefined && this.prepared.get(tx.gid) === tx.id) this.prepared.delete(tx.gid);
    // A COMMIT PREPARED that committed commits the prepared transaction; one that failed leaves it.
    for (const p of this.txs.values()) {
      if (p.commitBy !== tx.id) continue;
      if (outcome === 'committed') {
        p.status = 'committed';
        if (p.gid !== undefined) this.prepared.delete(p.gid);
      } else {
        p.commitBy = undefined;
      }
    }
  }

  /** Walks pending units in log order: which go now, which are dropped, where the first one waits. */
  private emitOrder(): { ready: PendingUnit[]; dropped: PendingUnit[]; blocked?: number } {
    const ready: PendingUnit[] = [];
    const dropped: PendingUnit[] = [];
    for (const u of this.sortedPending()) {
      const tx = this.txs.get(u.tx);
      const status = tx?.status ?? 'failed';
      if (status === 'failed' || (status === 'committed' && (u.dropped || u.parts.length === 0))) dropped.push(u);
      else if (status === 'committed') ready.push(u);
      else if (tx && this.isPassedOver(tx)) continue;
      else return { ready, dropped, blocked: u.order };
    }
    return { ready, dropped };
  }

  /** A transaction still running, which later units cannot depend on (see the module comment). */
  private isPassedOver(tx: Tx): boolean {
    if (tx.status === 'prepared') return tx.commitBy === undefined;
    if (tx.knownRunning) return true;
    return (tx.status === 'running' || tx.status === 'aborted') && tx.beginSeen && this.sessions.get(tx.session)?.exact === true;
  }

  private release(u: PendingUnit): void {
    this.pending.delete(u.order);
    const tx = this.txs.get(u.tx);
    if (tx) tx.units = tx.units.filter((o) => o !== u.order);
  }

  /** Decided transactions with nothing pending are of no more use. */
  private forgetDecided(): void {
    for (const [id, tx] of this.txs) {
      if ((tx.status === 'committed' || tx.status === 'failed') && tx.units.length === 0) this.txs.delete(id);
    }
    // A session with nothing pending and nothing set is learnt again from its next records.
    for (const [id, s] of this.sessions) if (isIdle(s)) this.sessions.delete(id);
  }

  private sortedPending(): PendingUnit[] {
    return [...this.pending.values()].sort((a, b) => a.order - b.order);
  }
}

function isUndecided(tx: Tx): boolean {
  return tx.status === 'running' || tx.status === 'aborted' || tx.status === 'committing';
}

/**
 * A short hash of a statement text, enough to tell texts apart. Taken of the redacted text, so the
 * state holds nothing to guess a password against.
 */
function hashText(text: string): string {
  return createHash('sha256').update(redact(text)).digest('base64').slice(0, 16);
}

/** A session with nothing undecided and nothing set: learnt again from its next records if it has any. */
function isIdle(s: Session): boolean {
  return s.txs.length === 0 && Object.keys(s.view.settings).length === 0 && s.view.temp.length === 0 && Object.keys(s.prepared).length === 0;
}

function spec(u: PendingUnit): UnitSpec {
  const { order: _o, tx: _t, dropped: _d, textHash: _h, ...rest } = u;
  return rest;
}
