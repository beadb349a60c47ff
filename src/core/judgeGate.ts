/**
 * Which csvlog records the judge must see. Under `log_statement = 'all'` nearly every record is a query
 * or DML of a session that runs no DDL: judged, it would teach the judge a session, open and close a
 * transaction in it, and be forgotten. The gate tells those records from their bytes (nothing of them
 * decoded) and passes them over, so that reading a busy log costs little more than scanning it.
 *
 * A record is passed over only where judging it could change nothing the judge decides, now or later:
 * - a plain statement (plainText: DML, or a bare BEGIN/COMMIT/ROLLBACK) of a session in which the
 *   judge holds no undecided transaction: DML changes no setting, temporary object or prepared
 *   statement, and a transaction of DML alone holds nothing to send;
 * - a record that is neither a statement nor a failure, of such a session: the judge only learns from
 *   it that the session moved on, which matters only to undecided transactions; the server's restart,
 *   a known session's disconnection and a capture record (core/capture) always go to the judge.
 * A bare BEGIN is held back rather than passed over, since what the block holds is not known yet: if
 * anything of it reaches the judge (a DDL, a SET, an error), the BEGIN goes first; if the block ends
 * plainly, it is let go. What is still held when the read ends goes to the judge then (`release`), so
 * that the judge keeps, and saves, what it would know had it read every record.
 *
 * The gate reads what the scan wrote of each record (recordClass): its class, plain kind, and session
 * (pid and start time); a record whose session id is not of the server's form always goes to the judge.

 */
import { CLASS_SLOT, FIELD_ROOM, PID_SLOT, PLAIN_SLOT, RawRecord, VXID_BACKEND_SLOT, VXID_LOCAL_SLOT } from './csvRecord';
import type { Judge } from './judge';
import { COL, LogRecord, eventOf } from './logRecord';
import { BAD_VXID, CAPTURE, NO_VXID, NOT_LOG, OTHER_LOG, PLAIN_CODES, sessionInto, sessionTime } from './recordClass';

/**
 * What the gate knows of a session: whether some record of it went to the judge (which may hold
 * something of it since), and the bare BEGIN held back, if any: where it is, and its transaction.
 */
interface SessionMark {
  /** Its start time: with the pid (the map's key), the session's id. */
  time: number;
  judged: boolean;
  holding: boolean;
  file: number;
  offset: number;
  end: number;
  /** The held block's virtual xid (VXID_BACKEND_SLOT, VXID_LOCAL_SLOT). */
  backend: number;
  local: number;
  /** Another session of the same pid (one that ended, or that the log shows out of order). */
  other: SessionMark | null;
}

// Where a field's bounds are in RawRecord.fields.
const SESSION = 2 * COL.sessionId;

export class JudgeGate {
  /** Sessions the gate knows something of, by pid: a map keyed by a number needs no string per record. */
  private readonly marks = new Map<number, SessionMark>();

  /**
   * @param judge the judge the records go to
   * @param toJudge hands a record of file `file` to the judge (the caller's way, with its file names)
   * @param recordAt reads a record again, to hand a BEGIN held back to the judge
   */
  constructor(
    private readonly judge: Judge,
    private readonly toJudge: (record: LogRecord, file: number) => void,
    private readonly recordAt: (file: number, offset: number, end: number) => LogRecord,
  ) {
    const session = new Int32Array(FIELD_ROOM);
    for (const id of judge.sessionIds()) {
      sessionInto(Buffer.from(id, 'latin1'), 0, id.length, session);
      if (session[PID_SLOT] < 0) continue;
      this.mark(session[PID_SLOT], sessionTime(session)).judged = true;
    }
  }

  /** Whether the judge must see this record now (the reader then builds it and hands it on). */
  admit(raw: RawRecord, file: number): boolean {
    const { buf, fields } = raw;
    const pid = fields[PID_SLOT];
    if (pid < 0) return true;
    const time = sessionTime(fields);
    let mark = this.marks.get(pid) ?? null;
    while (mark !== null && mark.time !== time) mark = mark.other;
    const type = fields[CLASS_SLOT];
    if (mark && mark.judged) {
      const id = buf.toString('latin1', fields[SESSION], fields[SESSION + 1]);
      if (this.judge.hasOpenTransaction(id)) return this.admitFor(mark);
      // A session the judge holds settings of (or nothing): its plain records change nothing, its
      // disconnection lets the judge forget it.
      if (!this.judge.hasSession(id)) mark.judged = false;
      else if (type === NOT_LOG || (type === OTHER_LOG && eventOf(buf, raw) !== undefined)) return this.admitFor(mark);
    }
    // A virtual xid not of the server's form cannot be compared: the judge reads the record. A capture
    // record may decide a statement, or tell of DDL no statement shows: never passed over.
    if (type === NOT_LOG || type === CAPTURE || fields[VXID_BACKEND_SLOT] === BAD_VXID) return this.admitFor(mark ?? this.mark(pid, time));
    if (type === OTHER_LOG) {
      const event = eventOf(buf, raw);
      if (event === 'server-restart' || event === 'server-stop') {
        // Every session ended with the server: the blocks held back with them.
        for (const first of this.marks.values()) for (let m: SessionMark | null = first; m; m = m.other) m.holding = false;
        return true;
      }
      // Disconnected in a block: it rolled back. Another transaction: the block ended, plainly.
      if (mark && mark.holding && (event === 'disconnection' || movedOn(fields, mark))) mark.holding = false;
      return false;
    }
    const kind = PLAIN_CODES[fields[PLAIN_SLOT]];
    if (kind === null) return this.admitFor(mark ?? this.mark(pid, time));
    // A block held back ends, plainly, where the session shows another transaction.
    if (mark && mark.holding && movedOn(fields, mark)) mark.holding = false;
    if (kind === 'dml') {
      this.judge.counts.notDdl++;
      return false;
    }
    if (kind === 'begin') {
      mark ??= this.mark(pid, time);
      if (mark.holding) return this.admitFor(mark);
      hold(mark, raw, file);
      return false;
    }
    // COMMIT or ROLLBACK of a block held back: it ends with nothing to send.
    if (mark && mark.holding) {
      mark.holding = false;
      return false;
    }
    return this.admitFor(mark ?? this.mark(pid, time));
  }

  /** Hands the judge every BEGIN still held back (at the end of a read, before the judge is saved). */
  release(): void {
    for (const first of this.marks.values()) for (let m: SessionMark | null = first; m; m = m.other) if (m.holding) this.releaseHeld(m);
  }

  private admitFor(mark: SessionMark): boolean {
    if (mark.holding) this.releaseHeld(mark);
    mark.judged = true;
    return true;
  }

  private releaseHeld(mark: SessionMark): void {
    mark.holding = false;
    mark.judged = true;
    this.toJudge(this.recordAt(mark.file, mark.offset, mark.end), mark.file);
  }

  /** A new mark for a session; the marks of its pid that know nothing any more are let go. */
  private mark(pid: number, time: number): SessionMark {
    let kept: SessionMark | null = null;
    for (let m = this.marks.get(pid) ?? null, next: SessionMark | null; m; m = next) {
      next = m.other;
      if (!m.judged && !m.holding) continue;
      m.other = kept;
      kept = m;
    }
    const mark: SessionMark = { time, judged: false, holding: false, file: 0, offset: 0, end: 0, backend: 0, local: 0, other: kept };
    this.marks.set(pid, mark);
    return mark;
  }
}

/**
 * The record shows another transaction of its session than the block held back: the block ended. A
 * record without a virtual xid shows none (the judge passes it over too).
 */
function movedOn(fields: Int32Array, held: SessionMark): boolean {
  const backend = fields[VXID_BACKEND_SLOT];
  return backend !== NO_VXID && (backend !== held.backend || fields[VXID_LOCAL_SLOT] !== held.local);
}

/**
 * Holds back the bare BEGIN in hand in its session's mark. In place, without an object of its place:
 * a busy log holds a BEGIN every few records.
 */
function hold(mark: SessionMark, raw: RawRecord, file: number): void {
  mark.holding = true;
  mark.file = file;
  mark.offset = raw.base + raw.start;
  mark.end = raw.base + raw.end;
  mark.backend = raw.fields[VXID_BACKEND_SLOT];
  mark.local = raw.fields[VXID_LOCAL_SLOT];
}
