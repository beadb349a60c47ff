/**
 * The state file: how far the primary's log was read and what the judge knew there, the journal of
 * committed DDL units in the order targets apply them, and where each target stands in the journal.
 *
 * The journal holds positions, never statement texts: those stay in the log files, where passwords
 * are, and are read again when a unit is applied or listed.
 */
import * as fs from 'node:fs';
import type { JudgeSnapshot, UnitSpec } from '../core/judge';
import { StateError } from '../errors';
import { writeFileAtomic } from './atomicFile';
import { FileMark, Gap } from './fileMarks';

export const STATE_VERSION = 1;

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
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
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
      `not valid JSON (${text.length} bytes); restore it from a backup or, to start over, see README "State file"`,
    );
  }
  return validate(file, data);
}

export function saveState(file: string, state: State): void {
  writeFileAtomic(file, `${JSON.stringify(state)}\n`);
}

function validate(file: string, data: unknown): State {
  if (!isObject(data)) throw new StateError(file, 'not a pg-ddl-sync state (expected a JSON object)');
  if (data.version !== STATE_VERSION) {
    throw new StateError(
      file,
      `format version ${JSON.stringify(data.version)} is not one this pg-ddl-sync reads (${STATE_VERSION}); ` +
        'was it written by another version?',
    );
  }
  const journal = data.journal;
  if (!isObject(journal) || !isCount(journal.nextSeq) || !Array.isArray(journal.entries)) {
    throw new StateError(file, 'key "journal" must hold "nextSeq" and "entries"');
  }
  journal.entries.forEach((e, i) => {
    if (!isObject(e) || !isCount(e.seq) || !isCount(e.offset) || !isObject(e.file) || !Array.isArray(e.parts)) {
      throw new StateError(file, `key "journal.entries[${i}]" is not a journal entry`);
    }
  });
  if (data.log !== undefined) {
    const listedAt = isObject(data.log) ? data.log.listedAt : undefined;
    if (
      !isObject(data.log) ||
      !Array.isArray(data.log.files) ||
      !data.log.files.every(isMark) ||
      !isObject(data.log.judge) ||
      (listedAt !== undefined && (typeof listedAt !== 'string' || Number.isNaN(Date.parse(listedAt))))
    ) {
      throw new StateError(file, 'key "log" must hold the "files" read and the "judge"');
    }
  }
  if (data.gaps !== undefined && !Array.isArray(data.gaps)) throw new StateError(file, 'key "gaps" must be an array');
  if (!isObject(data.targets)) throw new StateError(file, 'key "targets" must be an object');
  for (const [name, t] of Object.entries(data.targets)) {
    if (!isObject(t) || !isCount(t.next)) throw new StateError(file, `key "targets.${name}.next" must be a journal sequence number`);
  }
  return data as unknown as State;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

function isMark(v: unknown): v is FileMark {
  return (
    isObject(v) &&
    typeof v.name === 'string' &&
    typeof v.ino === 'number' &&
    (typeof v.fingerprint === 'string' || v.fingerprint === null) &&
    (typeof v.firstLogTime === 'string' || v.firstLogTime === null) &&
    isCount(v.offset) &&
    isCount(v.size) &&
    (v.partial === undefined || (isObject(v.partial) && isCount(v.partial.length) && typeof v.partial.hash === 'string')) &&
    (v.markedAt === undefined || (typeof v.markedAt === 'string' && !Number.isNaN(Date.parse(v.markedAt))))
  );
}
