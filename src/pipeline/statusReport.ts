/**
 * Where each target stands, from the state file and the log directory, without connecting to anything:
 * what `status` shows, and what a run's metrics file is written from. Its JSON form (`status --json`)
 * is documented in the README and kept stable for monitoring.
 */
import { logTimeMs, oldestHeldBack } from '../core/heldBack';
import * as fs from 'node:fs';
import { NestedDdl } from '../core/captureUse';
import type { CaptureDatabase } from '../io/captureHelper';
import { Judge } from '../core/judge';
import { UsageError } from '../errors';
import { loadParser } from '../core/parser';
import { LogFile, listLogFiles } from '../io/logFiles';
import { readStarts, unreadBytes } from '../io/fileMarks';
import { lockHolder } from '../io/lock';
import { readResidentMark } from '../io/residentMark';
import { JournalEntry, State, TargetFailure, loadState } from '../io/state';
import { withUnitTexts } from '../io/unitText';
import { Settings } from '../io/settings';
import { UnknownOutcome, unknownOutcomes } from './report';
import { head } from './apply';

export const STATUS_VERSION = 1;

export interface TargetStatus {
  name: string;
  /**
   * caught-up: nothing pending; behind: statements pending; stuck: stopped at a statement;
   * waiting-for-lock: stopped at a statement that gave way on a lock held there; timed-out: stopped
   * at a statement the statement timeout cut off, or that the target did not answer in time;
   * unreachable: the last run could not connect to it (down, login or password refused), so it stands
   * at no statement (`failure.statement` is empty; `error` says why, `since` since when); new: never run.
   */
  state: 'caught-up' | 'behind' | 'stuck' | 'waiting-for-lock' | 'timed-out' | 'unreachable' | 'new';
  /** In the configuration (false: only in the state file). */
  configured: boolean;
  /** Journal entries the primary committed that the target has not taken yet. */
  pending: number;
  /** Log bytes from the target's next statement (or from where the log was read) to the log's end. */
  behindBytes: number;
  /** Log files after the one that holds its next statement. */
  behindFiles: number;
  /**
   * Seconds from the primary's log time of the oldest statement the target has yet to take to now
   * (0: none pending).
   */
  lagSeconds: number;
  lastApplied: { at: string; loggedAt: string } | null;
  lastSuccess: string | null;
  failure: { statement: string; database: string; at: string; sqlState: string | null; error: string; since: string } | null;
}

export interface WaitingStatus {
  at: string;
  database: string;
  session: string;
  vxid: string;
  /** True when later statements wait behind it; false when they were passed over to. */
  holdsBack: boolean;
  loggedAt: string;
  /** Redacted. */
  sql: string;
}

export interface Status {
  version: typeof STATUS_VERSION;
  checkedAt: string;
  stateFile: string;
  /** How far the log was read and judged (its newest file), and what it has grown by since. */
  log: { file: string | null; offset: number; unreadBytes: number; lastRun: string | null };
  /** Records that went from the log before they were read, until acknowledged (`skip --gaps`). */
  gaps: { file: string; offset: number; size: number; problem: string; foundAt: string }[];
  waiting: WaitingStatus[];
  /** Statements a crash of the primary left undecided: held back, with all after them, until resolved. */
  unknown: UnknownOutcome[];
  /**
   * The oldest statement holding later ones back, its transaction's end unknown, and how long since
   * it was logged; null when none does. A run exits 1 once it is older than --max-held-back.
   */
  oldestHeldBack: { at: string; loggedAt: string; ageSeconds: number; sql: string } | null;
  /**
   * DDL that ran inside functions, procedures or DO blocks on the primary (seen through the capture
   * helper), not sent and not handled yet; a run exits 1 while there is any.
   */
  nested: NestedDdl[];
  /** The run holding the state file's lock right now (pid, since when), or null. */
  running: { pid: number; since: string } | null;
  targets: TargetStatus[];
  /**
   * The resident run (`run --interval`) of this state file, if one started and did not end cleanly:
   * its pid, since when, its last beat; running false when its process is gone.
   */
  resident: { pid: number; since: string; lastBeat: string; intervalSeconds: number; running: boolean } | null;
  /**
   * The capture helper in each database of the primary, when `status` knows the primary (--source,
   * or --data-dir of a running one); `error` when it could not ask it; null when it does not know it.
   */
  capture: { databases: CaptureDatabase[] } | { error: string } | null;
}

/**
 * Reads the state and the log directory into a Status.
 * @param withText read the waiting statements' text from the log (false: leave `sql` empty)
 */
export async function statusReport(settings: Settings, now = new Date(), withText = true): Promise<Status> {
  // Without one there is nothing to tell: an empty table and exit 0 would keep a check that forgot
  // its -c green for ever.
  if (!fs.existsSync(settings.stateFile)) {
    throw new UsageError(`state file ${settings.stateFile} does not exist: no run has written it yet; give the run's config (-c FILE) or --state-file FILE`);
  }
  const state = loadState(settings.stateFile);
  const files = settings.csvlogDir ? listLogFiles(settings.csvlogDir) : [];
  const { starts } = readStarts(files, state.log?.files);
  const unread = unreadBytes(files, starts);
  const newest = state.log?.files[state.log.files.length - 1];
  const firstSeq = state.journal.entries[0]?.seq ?? state.journal.nextSeq;
  const names = [...new Set([...settings.targets.map((t) => t.name), ...Object.keys(state.targets)])];
  const targets = names.map((name) => targetStatus(name, state, files, unread, firstSeq, settings.targets.some((t) => t.name === name), now));
  const holder = lockHolder(`${settings.stateFile}.lock`);
  const judge = new Judge(state.log?.judge);
  const waitingUnits = judge.waiting();
  const unknownUnits = judge.unknown().length;
  if ((withText && waitingUnits.length > 0) || unknownUnits > 0) await loadParser();
  const { waiting, unknown } = withUnitTexts(files, (texts) => ({
    waiting: waitingUnits.map((w) => {
      const text = withText ? texts.get(w.unit) : ({ kind: 'gone' } as const);
      return {
        at: `${w.unit.file.name}:${w.unit.offset}`,
        database: w.unit.database,
        session: w.unit.sessionId,
        vxid: w.vxid,
        holdsBack: w.blocking,
        loggedAt: w.unit.logTime,
        sql: text.kind === 'ok' ? head(text.text.shown) : '',
      };
    }),
    // Few, and rare: their text is shown even without withText.
    unknown: unknownUnits === 0 ? [] : unknownOutcomes(judge, texts),
  }));
  const held = oldestHeldBack(waitingUnits, now);
  const heldAt = held && `${held.waiting.unit.file.name}:${held.waiting.unit.offset}`;
  return {
    version: STATUS_VERSION,
    checkedAt: now.toISOString(),
    stateFile: settings.stateFile,
    log: { file: newest?.name ?? null, offset: newest?.offset ?? 0, unreadBytes: unread, lastRun: state.lastRun ?? null },
    gaps: (state.gaps ?? []).map((g) => ({ file: g.file, offset: g.offset, size: g.size, problem: g.problem, foundAt: g.foundAt })),
    waiting,
    unknown,
    oldestHeldBack: held
      ? { at: heldAt!, loggedAt: held.waiting.unit.logTime, ageSeconds: Math.floor(held.ageMs / 1000), sql: waiting.find((w) => w.at === heldAt)?.sql ?? '' }
      : null,
    nested: judge.unhandledNested(),
    running: holder ? { pid: holder.pid, since: holder.since.toISOString() } : null,
    targets,
    resident: residentOf(settings.stateFile),
    capture: null,
  };
}

function residentOf(stateFile: string): Status['resident'] {
  const mark = readResidentMark(stateFile);
  return mark ? { pid: mark.pid, since: mark.since, lastBeat: mark.lastBeat, intervalSeconds: mark.intervalMs / 1000, running: mark.alive } : null;
}

function targetStatus(name: string, state: State, files: LogFile[], unread: number, firstSeq: number, configured: boolean, now: Date): TargetStatus {
  const t = state.targets[name];
  const next = t?.next ?? firstSeq;
  const pendingEntries = state.journal.entries.filter((e) => e.seq >= next);
  const first = pendingEntries[0];
  const from = first ? positionOf(files, first) : null;
  const behindBytes = from ? bytesFrom(files, from) : unread;
  const behindFiles = from ? files.length - 1 - from.file : 0;
  const f = t?.failure;
  return {
    name,
    state: !t ? 'new' : f ? stopState(f) : pendingEntries.length > 0 ? 'behind' : 'caught-up',
    configured,
    pending: pendingEntries.length,
    behindBytes,
    behindFiles,
    lagSeconds: first ? Math.max(0, Math.floor((now.getTime() - logTimeMs(first.logTime)) / 1000)) : 0,
    lastApplied: t?.lastApplied ? { at: t.lastApplied.at, loggedAt: t.lastApplied.logTime } : null,
    lastSuccess: t?.lastSuccess ?? null,
    failure: f ? { statement: f.statement, database: f.database, at: f.at, sqlState: f.sqlState ?? null, error: f.message, since: f.since } : null,
  };
}

/** What a target stopped at a statement is stopped by. */
function stopState(f: TargetFailure): 'stuck' | 'waiting-for-lock' | 'timed-out' | 'unreachable' {
  if (f.unreachable) return 'unreachable';
  if (f.lockWait) return 'waiting-for-lock';
  return f.timedOut ? 'timed-out' : 'stuck';
}

/** A place in this run's files: which file, what offset. */
interface RunPosition {
  file: number;
  offset: number;
}

function positionOf(files: LogFile[], entry: JournalEntry): RunPosition | null {
  const index = files.findIndex((f) => f.fingerprint === entry.file.key);
  return index < 0 ? null : { file: index, offset: entry.offset };
}

/** Bytes of the log from a position to its end. */
function bytesFrom(files: LogFile[], from: RunPosition): number {
  return files.slice(from.file).reduce((n, f, i) => n + f.size - (i === 0 ? from.offset : 0), 0);
}
