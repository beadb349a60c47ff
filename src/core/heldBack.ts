/**
 * Statements held back: their transaction's end is not in the log yet, and every later statement
 * waits behind them (see Judge.waiting). A held-back statement is expected to go within a run or two,
 * once its session logs again, disconnects (log_disconnections) or the primary is asked (--source);
 * one held back for long means none of that happens, and a run says so instead of waiting in silence.
 */
import type { WaitingUnit } from './judge';

/** The oldest statement held back, and how long it has been. */
export interface HeldBack {
  waiting: WaitingUnit;
  /** Since its record was logged, in milliseconds. */
  ageMs: number;
}

/**
 * The oldest of the statements holding others back, with its age; undefined when none does.
 * @param waiting the judge's waiting units
 * @param now the current time
 * @param localOffsetMs the offset from UTC of a time in this machine's zone (see logTimeMs)
 */
export function oldestHeldBack(waiting: readonly WaitingUnit[], now: Date, localOffsetMs?: (at: number) => number): HeldBack | undefined {
  let oldest: HeldBack | undefined;
  for (const w of waiting) {
    if (!w.blocking) continue;
    const at = logTimeMs(w.unit.logTime, localOffsetMs);
    if (Number.isNaN(at)) continue;
    const ageMs = Math.max(0, now.getTime() - at);
    if (!oldest || ageMs > oldest.ageMs) oldest = { waiting: w, ageMs };
  }
  return oldest;
}

/** The offset from UTC of this machine's zone at a moment, in milliseconds. */
function machineOffsetMs(at: number): number {
  return -new Date(at).getTimezoneOffset() * 60_000;
}

/**
 * A csvlog log_time (`2026-12-06 10:00:00.123 UTC`) as milliseconds since the epoch. Its zone is the
 * server's log_timezone: a numeric offset or UTC/GMT is read exactly; a name (`CET`, `CST`) is
 * ambiguous, and is taken as this machine's zone, which is the primary's own where the tool runs on
 * the primary's host (log_timezone defaults to the system's zone).
 * @param time the log_time text
 * @param offsetMs the offset of the machine's zone at a moment (a parameter for tests)
 */
export function logTimeMs(time: string, offsetMs: (at: number) => number = machineOffsetMs): number {
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)(?: (\S+))?$/.exec(time.trim());
  if (!m) return NaN;
  const asUtc = Date.parse(`${m[1]}T${m[2]}Z`);
  const zone = m[3] ?? 'UTC';
  if (/^(UTC|GMT|Z|UCT)$/i.test(zone)) return asUtc;
  const numeric = /^([+-])(\d\d):?(\d\d)?$/.exec(zone);
  if (numeric) {
    const minutes = Number(numeric[2]) * 60 + Number(numeric[3] ?? 0);
    return asUtc - (numeric[1] === '-' ? -1 : 1) * minutes * 60_000;
  }
  // The machine's offset at that wall time: taken twice, so that a time next to a change of offset
  // (daylight saving) is read with the offset in force then.
  const first = asUtc - offsetMs(asUtc);
  return asUtc - offsetMs(first);
}

/** A duration for people: `12 minutes`, `3 hours`, `45 seconds`. */
export function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 120) return `${s} seconds`;
  if (s < 7200) return `${Math.floor(s / 60)} minutes`;
  return `${Math.floor(s / 3600)} hours`;
}
