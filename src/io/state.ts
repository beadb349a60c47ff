/**
 * The state file: how far the primary's log was read and what the judge knew there, the journal of
 * committed DDL units in the order targets apply them, and where each target stands in the journal.
 *
 * The journal holds positions, never statement texts: those stay in the log files, where passwords
 * are, and are read again when a unit is applied or listed.
 */
import * as fs from 'node:fs';
import type { UnitSpec } from '../core/judge';
import { JudgeSnapshot, STATE_FORMAT_VERSION, SavedUnit, unitFromSaved, unitToSaved } from '../core/stateFormat';
import { StateError } from '../errors';
import { previousOf, unsafeFileProblem, writeFileAtomic } from './atomicFile';
import { migrateV1 } from './stateMigration';
import { checkStateShape, isObject } from './stateShape';
import { FileMark, Gap } from './fileMarks';
import type { PrimaryId } from './primaryId';

/** The version this pg-ddl-sync writes; it reads version 1 too (see stateMigration). */
export const STATE_VERSION = STATE_FORMAT_VERSION;

/** A committed unit, numbered in the order every target applies it. */
export interface JournalEntry extends UnitSpec {
  seq: number;
}

export interface RecordedGap extends Gap {
  /** ISO time of the run that found it. */
  foundAt: string;
}

export interface TargetFailure {
  /** The journal entry the target stopped at. */
  seq: number;
  /** The statement, redacted. */
  statement: string;
  /** `file:offset` of its record. */
  at: string;
  database: string;
  sqlState?: string;
  message: string;
  /** ISO time of the first failure at this entry. */
  since: string;
  /** It gave way on a lock held on the target, every time it was tried. */
  lockWait?: boolean;
  /** The statement timeout cut it off, or the target did not answer in time. */
  timedOut?: boolean;
  /**
   * No connection could be made: the target is down, or refused the login or the password. The
   * target stands at no statement (`statement` is empty); `since` is when it first could not be reached.
   */
  unreachable?: boolean;
}

export interface TargetState {
  /** The journal entry to apply next: everything before it is applied (or was found applied). */
  next: number;
  /** ISO time of the last run that left this target caught up. */
  lastSuccess?: string;
  /** The last entry applied: where it is in the log, and when the primary logged it. */
  lastApplied?: { seq: number; at: string; logTime: string };
  failure?: TargetFailure;
  /** Counts since the target was first synced, for metrics. */
  totals?: TargetTotals;
}

export interface TargetTotals {
  applied: number;
  filtered: number;
  /** Runs that ended with this target stopped at a statement. */
  failedRuns: number;
  skipped: number;
}

export interface State {
  version: typeof STATE_VERSION;
  /** The primary whose log this file reads; absent in files written before it was kept. */
  primary?: PrimaryId;
  /** Absent until the first run read the log. */
  log?: {
    /** How far each file was read, oldest write first. */
    files: FileMark[];
    /** When the files were listed for that read. */
    listedAt?: string;
    judge: JudgeSnapshot;
  };
  /** Records lost from the log before they were read, until a person acknowledges them. */
  gaps?: RecordedGap[];
  journal: {
    nextSeq: number;
    entries: JournalEntry[];
  };
  targets: Record<string, TargetState>;
  /** ISO time of the last run that saved this file. */
  lastRun?: string;
}

export function emptyState(): State {
  return { version: STATE_VERSION, journal: { nextSeq: 0, entries: [] }, targets: {} };
}

/** Reads the state file; a missing file is a first run, anything unreadable stops the run. */
export function loadState(file: string): State {
  // A state file others could have planted or swapped would have the run replay what they chose.
  const unsafe = unsafeFileProblem(file);
  if (unsafe) throw new StateError(file, unsafe);
  let text: string;
  try {
    // Never through a link put there after the check above.
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      text = fs.readFileSync(fd, 'utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
    throw new StateError(file, `cannot read it: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new StateError(
      file,
      `not valid JSON (${text.length} bytes); ${restoreHint(file)}`,
    );
  }
  return validate(file, data);
}

/** Saves the state; the one it replaces is kept as `FILE.prev` (see restoreHint). */
export function saveState(file: string, state: State): void {
  writeFileAtomic(file, `${JSON.stringify(toFile(state))}\n`, 0o600, true);
}

/** A journal entry as the file holds it. */
type SavedEntry = SavedUnit & { seq: number };

/**
 * The state as the file holds it. The judge's part is in the file's format already (the judge
 * writes it); the journal's units are the judge's UnitSpec, written through the format's converter.
 */
function toFile(state: State): Omit<State, 'journal'> & { journal: { nextSeq: number; entries: SavedEntry[] } } {
  const entries = state.journal.entries.map((e) => ({ seq: e.seq, ...unitToSaved(e) }));
  return { ...state, journal: { nextSeq: state.journal.nextSeq, entries } };
}

function fromFile(data: Record<string, unknown>): State {
  const state = data as unknown as Omit<State, 'journal'> & { journal: { nextSeq: number; entries: SavedEntry[] } };
  const entries = state.journal.entries.map((e) => ({ seq: e.seq, ...unitFromSaved(e) }));
  return { ...state, journal: { nextSeq: state.journal.nextSeq, entries } };
}

/**
 * What a person can do with a state file that cannot be read: the generation before it, when there
 * is one, or starting over, which the targets' ledgers make safe (they hold what was applied, skipped
 * and adopted there).
 */
function restoreHint(file: string): string {
  const prev = previousOf(file);
  const back = fs.existsSync(prev) ? `restore the one saved before it (cp ${prev} ${file}), or start over` : 'start over';
  return `${back}: move it away and run again, and each target's ledger skips what was applied, skipped or adopted there (README "State file")`;
}

function validate(file: string, data: unknown): State {
  if (!isObject(data)) throw new StateError(file, 'not a pg-ddl-sync state (expected a JSON object)');
  if (data.version !== 1 && data.version !== STATE_VERSION) {
    throw new StateError(
      file,
      `format version ${JSON.stringify(data.version)} is not one this pg-ddl-sync reads (1 or ${STATE_VERSION}); ` +
        'was it written by another version?',
    );
  }
  // A version-1 file is checked as it was written, so that a problem names its key there.
  const asWritten = checkStateShape(data, data.version);
  if (asWritten) throw new StateError(file, `${asWritten}; ${restoreHint(file)}`);
  const current = data.version === 1 ? migrateV1(data) : data;
  const state = fromFile(current);
  const problem = checkStateShape(current, STATE_VERSION) ?? checkPositions(state);
  if (problem) throw new StateError(file, `${problem}; ${restoreHint(file)}`);
  return state;
}

/**
 * What makes the saved positions disagree with each other, or null. A position past what was read
 * would skip, unseen, every record (or journal entry) up to it.
 */
function checkPositions(state: State): string | null {
  const { nextSeq, entries } = state.journal;
  const marks = state.log?.files ?? [];
  for (const [i, m] of marks.entries()) {
    if (m.offset > m.size) return `key "log.files[${i}].offset": offset ${m.offset} is past the end of ${m.name} (size ${m.size})`;
  }
  for (const [i, e] of entries.entries()) {
    const at = `key "journal.entries[${i}]`;
    if (i > 0 && e.seq <= entries[i - 1].seq) return `${at}.seq": ${e.seq} does not come after the entry before it (${entries[i - 1].seq})`;
    if (e.seq >= nextSeq) return `${at}.seq": ${e.seq} is not below "journal.nextSeq" (${nextSeq})`;
    if (e.end < e.offset) return `${at}.end": ${e.end} comes before its offset ${e.offset}`;
    const mark = marks.find((m) => m.fingerprint === e.file.key && m.ino === e.file.ino);
    if (mark && e.end > mark.offset) {
      return `${at}" ends at byte ${e.end} of ${e.file.name}, past where the log was read (offset ${mark.offset})`;
    }
  }
  for (const [name, t] of Object.entries(state.targets)) {
    if (t.next > nextSeq) {
      return `key "targets.${name}.next": ${t.next} is past the end of the journal ("journal.nextSeq" ${nextSeq}): the target would skip every new statement`;
    }
  }
  return null;
}
