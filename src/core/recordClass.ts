/**
 * What the gate before the judge needs of every record, told from its bytes as it is scanned: whether
 * it is a LOG, a statement, which of the plainest texts it holds, and whose session it is. The scan
 * (csvScan.ts) writes it beside the field bounds with classifyInto, the one place records are
 * classified, so that a record the gate passes over is never decoded at all.
 */
import { CLASS_SLOT, COUNT_SLOT, bytesStartWith, PID_SLOT, PLAIN_SLOT, TEXT_SLOT, TIME_HI_SLOT, TIME_LO_SLOT, VXID_BACKEND_SLOT, VXID_LOCAL_SLOT } from './csvRecord';
import { CAPTURE_PREFIX } from './capture';
import { COL, colonSpaceAt, fetchRepeat, loggedByServer, statementTextStart } from './logRecord';
import { FindByte, PlainKind, plainKind } from './plainText';

/** A record's class, in CLASS_SLOT. */
export const NOT_LOG = 0;
/** A LOG record that is a statement: its text starts at TEXT_SLOT, its plain kind is in PLAIN_SLOT. */
export const STATEMENT = 1;
/** A LOG record that is no statement (the server's own messages, disconnections). */
export const OTHER_LOG = 2;
/**
 * A LOG record whose message starts with CAPTURE_PREFIX: the capture helper's, or one written to look
 * like it. Never passed over: it may decide a statement's transaction, or tell of DDL no statement shows.
 */
export const CAPTURE = 3;

/** What PLAIN_SLOT holds, by PlainKind. */
export const PLAIN_CODES: (PlainKind | null)[] = [null, 'dml', 'begin', 'commit', 'rollback'];

/** VXID_BACKEND_SLOT of a record without a virtual xid. */
export const NO_VXID = -1;
/** VXID_BACKEND_SLOT of a virtual xid that is not `backend/local` in decimal. */
export const BAD_VXID = -2;

/**
 * Writes the class of the record whose bounds `fields` holds into its slots. The session's pid goes to
 * PID_SLOT (-1 where its id is not `%lx.%x`), its start time to TIME_LO_SLOT and TIME_HI_SLOT; the
 * virtual xid's two numbers to VXID_BACKEND_SLOT (or NO_VXID, BAD_VXID) and VXID_LOCAL_SLOT.
 */
export function classifyInto(buf: Uint8Array, fields: Int32Array, find?: FindByte): void {
  const s = fields[2 * COL.severity];
  const isLog = fields[2 * COL.severity + 1] - s === 3 && buf[s] === 0x4c && buf[s + 1] === 0x4f && buf[s + 2] === 0x47;
  let text = isLog && loggedByServer(buf, fields, fields[COUNT_SLOT]) ? statementTextStart(buf, fields) : -1;
  const end = fields[2 * COL.message + 1] - 1;
  let plain = text < 0 ? null : plainKind(buf, text, end, find);
  if (text >= 0 && buf[fields[2 * COL.message] + 1] === 0x65) {
    // An `execute` the gate may not pass over (logRecord's executeDoubt decides it): its name may end
    // at a later ": ", or its `fetch from` may be a name's and not a repeat.
    const fetch = fetchRepeat(buf, fields);
    if (colonSpaceAt(buf, text, end) >= 0) plain = null;
    else if (fetch && plain === 'dml') text = -1;
    else if (fetch) plain = null;
  }
  fields[CLASS_SLOT] = !isLog ? NOT_LOG : text >= 0 ? STATEMENT : isCapture(buf, fields) ? CAPTURE : OTHER_LOG;
  fields[TEXT_SLOT] = text;
  fields[PLAIN_SLOT] = text < 0 ? 0 : PLAIN_CODES.indexOf(plain);
  sessionInto(buf, fields[2 * COL.sessionId], fields[2 * COL.sessionId + 1], fields);
  vxidInto(buf, fields[2 * COL.vxid], fields[2 * COL.vxid + 1], fields);
}

/** The message, in its quotes, starts with CAPTURE_PREFIX (whoever wrote it: the judge checks its MAC). */
function isCapture(buf: Uint8Array, fields: Int32Array): boolean {
  const from = fields[2 * COL.message];
  const end = fields[2 * COL.message + 1];
  return end - from >= 2 && buf[from] === 0x22 && bytesStartWith(buf, from + 1, end - 1, CAPTURE_PREFIX);
}

/** The virtual xid at buf[start, end): `backend/local`, both decimal, local at most 32 bits. */
function vxidInto(buf: Uint8Array, start: number, end: number, fields: Int32Array): void {
  fields[VXID_LOCAL_SLOT] = 0;
  if (start === end) {
    fields[VXID_BACKEND_SLOT] = NO_VXID;
    return;
  }
  fields[VXID_BACKEND_SLOT] = BAD_VXID;
  let backend = 0;
  let i = start;
  for (; i < end && buf[i] !== 0x2f; i++) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9 || backend >= 2 ** 27) return;
    backend = backend * 10 + d;
  }
  if (i === start || i >= end - 1) return;
  let local = 0;
  for (i++; i < end; i++) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9) return;
    local = local * 10 + d;
    if (local >= 2 ** 32) return;
  }
  fields[VXID_BACKEND_SLOT] = backend;
  fields[VXID_LOCAL_SLOT] = local;
}

/** The session's start time of a classified record. */
export function sessionTime(fields: Int32Array): number {
  return timeOf(fields[TIME_LO_SLOT], fields[TIME_HI_SLOT]);
}

/** A session's start time from its low and high 32 bits, as the scan writes them. */
export function timeOf(lo: number, hi: number): number {
  return hi * 2 ** 32 + (lo >>> 0);
}

/** Linux's pid_max is at most 2^22: a larger number is no pid. */
const PID_LIMIT = 2 ** 22;

/**
 * The session id `%lx.%x` (start time, pid, in lower-case hex) at buf[start, end), into PID_SLOT (-1
 * where the id is not of that form), TIME_LO_SLOT and TIME_HI_SLOT of `out`.
 */
export function sessionInto(buf: Uint8Array, start: number, end: number, out: Int32Array): void {
  out[PID_SLOT] = -1;
  out[TIME_LO_SLOT] = 0;
  out[TIME_HI_SLOT] = 0;
  // The time in two 32-bit halves, so that every step of every record is integer arithmetic, which
  // costs less than a double's.
  let hi = 0;
  let lo = 0;
  let i = start;
  for (; i < end && buf[i] !== 0x2e; i++) {
    const d = hexDigit(buf[i]);
    if (d < 0 || hi >= 0x100) return;
    hi = (hi << 4) | (lo >>> 28);
    lo = (lo << 4) | d;
  }
  if (i === start || i >= end - 1) return;
  let pid = 0;
  for (i++; i < end; i++) {
    const d = hexDigit(buf[i]);
    if (d < 0) return;
    pid = (pid << 4) | d;
    if (pid >= PID_LIMIT) return;
  }
  out[PID_SLOT] = pid;
  out[TIME_LO_SLOT] = lo;
  out[TIME_HI_SLOT] = hi;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}
