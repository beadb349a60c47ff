/**
 * The journal: the committed units a pass adds, numbered in the order every target applies them, and
 * where each target stands in it.
 */
import { JournalEntry, State } from '../io/state';
import type { LogFile } from '../io/logFiles';
import type { Plan } from './read';

/** The journal after a read, and where targets start in it. */
export interface JournalView {
  entries: JournalEntry[];
  /** The first entry still kept. */
  firstSeq: number;
  /** Where a target new to the state starts: the first entry whose log file is still here. */
  startSeq: number;
  /** The fingerprints of the log files still in the directory. */
  present: Set<string | null>;
  /** The entry a target applies next. */
  nextOf(name: string): number;
}

/** The state's journal with the plan's units added, and where each target stands. */
export function journalAfter(state: State, plan: Plan, files: LogFile[]): JournalView {
  const entries = [...state.journal.entries, ...numbered(plan, state.journal.nextSeq)];
  const end = state.journal.nextSeq + plan.units.length;
  const firstSeq = entries[0]?.seq ?? end;
  // A new target starts at the first entry whose log file is still here: what came before is gone.
  const present = new Set(files.map((f) => f.fingerprint));
  const startSeq = entries.find((e) => present.has(e.file.key))?.seq ?? end;
  return { entries, firstSeq, startSeq, present, nextOf: (name) => state.targets[name]?.next ?? startSeq };
}

export function whereIs(entry: JournalEntry): string {
  return `${entry.file.name}:${entry.offset}`;
}

/** The plan's units as journal entries, numbered on from `nextSeq`. */
export function numbered(plan: Plan, nextSeq: number): JournalEntry[] {
  return plan.units.map((u, i) => ({ ...u, seq: nextSeq + i }));
}

/** The entries a target applies next, in order. */
export function entriesFrom(entries: JournalEntry[], next: number): JournalEntry[] {
  return entries.filter((e) => e.seq >= next);
}

/** Where a dry run with no target lists from: the least advanced target, or the first entry. */
export function lowestNext(state: State, firstSeq: number): number {
  const nexts = Object.values(state.targets).map((t) => t.next);
  return Math.max(firstSeq, nexts.length > 0 ? Math.min(...nexts) : firstSeq);
}


/**
 * The journal without the entries every configured target is past and whose log file is gone. Only a
 * run of them from the start goes: a gap would let a target that comes back skip an entry unseen.
 */
export function pruned(state: State, present: ReadonlySet<string | null>, names: string[]): State {
  const passed = Math.min(...names.map((n) => state.targets[n]?.next ?? 0));
  const entries = state.journal.entries;
  let keepFrom = 0;
  while (keepFrom < entries.length && entries[keepFrom].seq < passed && !present.has(entries[keepFrom].file.key)) keepFrom++;
  return keepFrom === 0 ? state : { ...state, journal: { ...state.journal, entries: entries.slice(keepFrom) } };
}

