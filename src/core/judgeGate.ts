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
 *   it that the session moved on, which matters only to undecided transactions; the server's restart
 *   and a known session's disconnection always go to the judge.
 * A bare BEGIN is held back rather than passed over, since what the block holds is not known yet: if
 * anything of it reaches the judge (a DDL, a SET, an error), the BEGIN goes first; if the block ends
 * plainly, it is let go. What is still held when the read ends goes to the judge then (`release`), so
 * that the judge keeps, and saves, what it would know had it read every record.
 *
 * Sessions are told apart by a number made of their id (`start time.pid`, both hex); a record whose
 * session id does not make one always goes to the judge.
 */
import { RawRecord } from './csvRecord';
import type { Judge } from './judge';
import { COL, LogRecord, eventOf, statementTextStart } from './logRecord';
import { plainKind } from './plainText';

export interface GateOptions {
  /** Statements never to judge, told from their bytes (see core/echo); they are counted. */
  ignored?: (raw: RawRecord) => boolean;
}

/**
 * What the gate knows of a session: whether some record of it went to the judge (which may hold
 * something of it since), and the bare BEGIN held back, if any: where it is, and its transaction.
 */
interface SessionMark {
  pid: number;
  /** Its start time: with the pid, the session's id. */
  time: number;
  judged: boolean;
  holding: boolean;
  file: number;
  offset: number;
  end: number;
  vxid: string;
  /** Another session of the same pid (one that ended, or that the log shows out of order). */
  other: SessionMark | null;
}

// Where a field's bounds are in RawRecord.fields.
const SESSION = 2 * COL.sessionId;
const VXID = 2 * COL.vxid;
const SEVERITY = 2 * COL.severity;
const MESSAGE = 2 * COL.message;

export class JudgeGate {
  /** Statements passed over as their own or an ignored role's (see GateOptions.ignored). */
  ignoredCount = 0;
  /** Sessions the gate knows something of, by pid: a map keyed by a number needs no string per record. */
  private readonly marks = new Map<number, SessionMark>();
  /** The start time of the record's session, as sessionPid found it. */
  private readonly time = new Float64Array(1);

  /**
   * @param judge the judge the records go to
   * @param toJudge hands a record of file `file` to the judge (the caller's way, with its file names)
   * @param recordAt reads a record again, to hand a BEGIN held back to the judge
   */
  constructor(
    private readonly judge: Judge,
    private readonly toJudge: (record: LogRecord, file: number) => void,
    private readonly recordAt: (file: number, offset: number, end: number) => LogRecord,
    private readonly opts: GateOptions = {},
  ) {
    for (const id of judge.sessionIds()) {
      const pid = sessionPid(Buffer.from(id, 'latin1'), 0, id.length, this.time);
      if (pid >= 0) this.mark(pid, this.time[0]).judged = true;
    }
  }

  /** Whether the judge must see this record now (the reader then builds it and hands it on). */
  admit(raw: RawRecord, file: number): boolean {
    const { buf, fields } = raw;
    const pid = sessionPid(buf, fields[SESSION], fields[SESSION + 1], this.time);
    if (pid < 0) return true;
    const time = this.time[0];
    let mark = this.marks.get(pid) ?? null;
    while (mark !== null && mark.time !== time) mark = mark.other;
    if (mark && mark.judged) {
      const id = buf.toString('latin1', fields[SESSION], fields[SESSION + 1]);
      if (this.judge.hasOpenTransaction(id)) return this.admitFor(mark);
      // A session the judge holds settings of (or nothing): its plain records change nothing, its
      // disconnection lets the judge forget it.
      if (!this.judge.hasSession(id)) mark.judged = false;
      else if (!isLog(buf, fields) || eventOf(buf, raw) !== undefined) return this.admitFor(mark);
    }
    if (!isLog(buf, fields)) return this.admitFor(mark ?? this.mark(pid, time));
    const text = statementTextStart(buf, raw);
    if (text < 0) {
      const event = eventOf(buf, raw);
      if (event === 'server-restart') {
        // Every session ended with the server: the blocks held back with them.
        for (const first of this.marks.values()) for (let m: SessionMark | null = first; m; m = m.other) m.holding = false;
        return true;
      }
      // Disconnected in a block: it rolled back. Another transaction: the block ended, plainly.
      if (mark && mark.holding && (event === 'disconnection' || !sameVxid(buf, fields, mark.vxid))) mark.holding = false;
      return false;
    }
    if (this.opts.ignored?.(raw)) {
      this.ignoredCount++;
      return false;
    }
    const kind = plainKind(buf, text, fields[MESSAGE + 1] - 1);
    if (kind === null) return this.admitFor(mark ?? this.mark(pid, time));
    // A block held back ends, plainly, where the session shows another transaction.
    if (mark && mark.holding && !sameVxid(buf, fields, mark.vxid)) mark.holding = false;
    if (kind === 'dml') {
      this.judge.counts.notDdl++;
      return false;
    }
    if (kind === 'begin') {
      mark ??= this.mark(pid, time);
      if (mark.holding) return this.admitFor(mark);
      mark.holding = true;
      mark.file = file;
      mark.offset = raw.base + raw.start;
      mark.end = raw.base + raw.end;
      if (!sameVxid(buf, fields, mark.vxid)) mark.vxid = buf.toString('latin1', fields[VXID], fields[VXID + 1]);
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
    const mark: SessionMark = { pid, time, judged: false, holding: false, file: 0, offset: 0, end: 0, vxid: '', other: kept };
    this.marks.set(pid, mark);
    return mark;
  }
}

/** The severity is LOG (statements and the server's own messages; not a failure). */
function isLog(buf: Buffer, fields: Int32Array): boolean {
  const s = fields[SEVERITY];
  return fields[SEVERITY + 1] - s === 3 && buf[s] === 0x4c && buf[s + 1] === 0x4f && buf[s + 2] === 0x47;
}

/** The record's virtual xid is `vxid`. */
function sameVxid(buf: Buffer, fields: Int32Array, vxid: string): boolean {
  const s = fields[VXID];
  if (fields[VXID + 1] - s !== vxid.length) return false;
  for (let k = 0; k < vxid.length; k++) if (buf[s + k] !== vxid.charCodeAt(k)) return false;
  return true;
}

/** Linux's pid_max is at most 2^22: a larger number is no pid. */
const PID_LIMIT = 2 ** 22;

/**
 * The pid of a session id `%lx.%x` (start time, pid), with its start time written to time[0]; -1
 * where the id is not of that form.
 */
export function sessionPid(buf: Uint8Array, start: number, end: number, time: Float64Array): number {
  let t = 0;
  let i = start;
  for (; i < end && buf[i] !== 0x2e; i++) {
    const d = hexDigit(buf[i]);
    if (d < 0 || t >= 2 ** 40) return -1;
    t = t * 16 + d;
  }
  if (i === start || i >= end - 1) return -1;
  let pid = 0;
  for (i++; i < end; i++) {
    const d = hexDigit(buf[i]);
    if (d < 0) return -1;
    pid = pid * 16 + d;
    if (pid >= PID_LIMIT) return -1;
  }
  time[0] = t;
  return pid;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}
