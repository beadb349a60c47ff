/**
 * One pass: new csvlog records are read and judged (read), the judge's decisions told (report),
 * committed units go into the journal (journal), every target applies the journal from where it
 * stands (apply), and the state is saved as targets finish (save).
 */
import { loadParser } from '../core/parser';
import { LogDataError, UsageError } from '../errors';
import { unsafeFileProblem } from '../io/atomicFile';
import { Gap } from '../io/fileMarks';
import { Logger } from '../io/logger';
import { Settings, connectOptions } from '../io/settings';
import { State, loadState } from '../io/state';
import { UnitTexts } from '../io/unitText';
import { ApplyContext, KeptAppliers, Listing, TargetOutcome, applyToTarget, listEntries } from './apply';
import { JournalView, entriesFrom, journalAfter, lowestNext, pruned } from './journal';
import { sourceEncodings } from './primary';
import type { Locked } from './runLock';
import { Plan, readNew } from './read';
import { UnknownOutcome, markUnjudged, tellJudged } from './report';
import { CoalescedSave, SAVE_DELAY_MS, save, saveMetrics, stateAfterRead, withOutcome } from './save';

export interface RunSummary {
  recordsRead: number;
  bytesRead: number;
  droppedFailed: number;
  waiting: number;
  notDdl: number;
  inExplicitBlock: number;
  /** Statements a pg-ddl-sync ran on this instance (or an ignored role did): never sent on. */
  ignored: number;
  /** DDL statements that name the ledger's schema: never sent (see core/ledgerSchema). */
  ledgerSchema: number;
  /** Instance-level DDL (ALTER SYSTEM, tablespaces, subscriptions) left out (see core/instanceCommands). */
  instance: number;
  ms: number;
}

/** What a run tells the person who runs it, besides its own log: each is a line for stderr. */
export interface RunNotices {
  /** Warnings: the primary could not be asked, DDL left out by role, DDL sent that the log cannot judge. */
  warnings: string[];
  /** A statement held back longer than --max-held-back: the run exits 1 with this line. */
  heldBack?: string;
  /** DDL run inside functions or DO blocks, not handled yet: the run exits 1 with this line. */
  nested?: string;
}

export type RunResult =
  | Locked
  | ({ kind: 'dry-run'; listings: Listing[]; summary: RunSummary; unknown: UnknownOutcome[]; damage?: LogDataError } & RunNotices)
  | ({ kind: 'applied'; targets: TargetOutcome[]; summary: RunSummary; gaps: Gap[]; unknown: UnknownOutcome[]; damage?: LogDataError } & RunNotices);

export interface RunDeps {
  log: Logger;
  now?: () => Date;
}

/** What a resident run gives each of its passes. */
export interface PassOptions {
  /** Target connections kept from one pass to the next. */
  kept?: KeptAppliers;
  /** True once the process is asked to stop: targets stop after the statement under way. */
  stopping?: () => boolean;
  /** Targets not tried in this pass (a resident run waits longer between tries of a stopped one). */
  holdOff?: (target: string) => boolean;
  /** Whether the metrics file is written after this pass (default: yes). */
  metrics?: boolean;
}

export type AppliedResult = Extract<RunResult, { kind: 'applied' }>;

/** What run() checks of the settings before it takes the lock; the csvlog directory. */
export function checkRunSettings(settings: Settings, dryRun = false): string {
  if (!settings.csvlogDir) throw new UsageError('no csvlog directory: give --csvlog-dir DIR (or "csvlogDir" in the config file)');
  // A dry run lists what any target would take, and writes no metrics.
  if (dryRun) return settings.csvlogDir;
  if (settings.targets.length === 0) throw new UsageError('no target: give --target [NAME=]URL (or "targets" in the config file), or use --dry-run');
  const unsafeMetrics = settings.metricsFile ? unsafeFileProblem(settings.metricsFile) : null;
  if (unsafeMetrics) throw new UsageError(`--metrics-file ${settings.metricsFile}: ${unsafeMetrics}`);
  return settings.csvlogDir;
}

/**
 * One pass of a resident run, which holds the lock already: as run() makes it, with the resident
 * run's kept connections and stop request.
 */
export async function residentPass(settings: Settings, deps: RunDeps, beat: PassOptions, skipMalformed = false): Promise<AppliedResult> {
  const csvlogDir = checkRunSettings(settings);
  const res = await runPass(settings, csvlogDir, { dryRun: false, skipMalformed, log: deps.log, started: Date.now(), now: deps.now ?? (() => new Date()), beat });
  if (res.kind !== 'applied') throw new Error('a pass that applies returned a listing');
  return res;
}

/** How a pass is run: by `run` (once, or a dry run) or by a resident run's beat. */
interface PassRun {
  dryRun: boolean;
  skipMalformed: boolean;
  log: Logger;
  started: number;
  now: () => Date;
  beat: PassOptions;
}

/** One pass: read → report → journal → (list, for a dry run) apply → save. */
export async function runPass(settings: Settings, csvlogDir: string, how: PassRun): Promise<RunResult> {
  const { log, now } = how;
  const state = loadState(settings.stateFile);
  const read = await readNew(settings, csvlogDir, state, { skipMalformed: how.skipMalformed, log, now });
  const journal = journalAfter(state, read.plan, read.files);
  // Statement texts are read (and parsed) again only where something is to be applied, listed or
  // reported: an idle run does without.
  const texts = new UnitTexts(read.files, read.plan.judge.analyses);
  try {
    const work = settings.targets.some((t) => entriesFrom(journal.entries, journal.nextOf(t.name)).length > 0);
    if (work || how.dryRun || read.plan.judge.unknown().length > 0 || read.plan.judge.waiting().length > 0) await loadParser();
    const judged = tellJudged(read.plan, texts, settings, read.echo, log, now());
    const summary = summarize(read.plan, how.started);
    const common = { summary, unknown: judged.unknown, damage: read.damage, ...judged.notices };
    if (how.dryRun) return { kind: 'dry-run', listings: markUnjudged(dryRunListings(settings, state, journal, texts), judged.unjudgedAt), ...common };
    warnNewTargets(settings, state, journal, log);
    let current = stateAfterRead(state, read, journal, now, log);
    save(settings.stateFile, current);
    const primaryEncodings = work && settings.source ? await sourceEncodings(settings.source, settings, log) : undefined;
    const ctx: ApplyContext = { texts, source: settings.sourceName, connect: connectOptions(settings), log, primaryEncodings, applyAs: settings.applyAs, lockRetries: settings.lockRetries, neverGot: read.plan.judge.neverGotObjects(), kept: how.beat.kept, stopping: how.beat.stopping };
    const targets = await applyAll(settings, journal, ctx, how, () => current, (o) => (current = withOutcome(current, o, now())));
    const next = pruned(current, journal.present, settings.targets.map((t) => t.name));
    save(settings.stateFile, next);
    summary.ms = Date.now() - how.started;
    if (settings.metricsFile && how.beat.metrics !== false) await saveMetrics(settings, settings.metricsFile, next, summary, log);
    logFinished(summary, targets, read.gaps.length > 0 || read.damage !== undefined || judged.unknown.length > 0, judged.unknown.length, log);
    return { kind: 'applied', targets, gaps: read.gaps, ...common };
  } finally {
    texts.close();
  }
}

/** What a dry run lists: each target's next entries (its filters applied), or, with none, everyone's. */
function dryRunListings(settings: Settings, state: State, journal: JournalView, texts: UnitTexts): Listing[] {
  const { entries, nextOf } = journal;
  if (settings.targets.length === 0) return [listEntries(entriesFrom(entries, lowestNext(state, journal.startSeq)), texts, undefined, settings.applyAs)];
  return settings.targets.map((t) => listEntries(entriesFrom(entries, nextOf(t.name)), texts, t, settings.applyAs));
}

function warnNewTargets(settings: Settings, state: State, journal: JournalView, log: Logger): void {
  for (const t of settings.targets) {
    if (!state.targets[t.name] && journal.startSeq > journal.firstSeq) {
      log.warn('new target: it starts at the first statement whose log file is still in the directory', { target: t.name, skipped: journal.startSeq - journal.firstSeq });
    }
  }
}

/**
 * Every target applies the journal from where it stands, all at once. Each target's place is saved
 * as it finishes: a target that hangs holds back no other's progress. Targets that finish close
 * together are saved together, a moment after the first of them (a save writes the whole journal,
 * and fsyncs); the last one is saved with the run's end.
 */
async function applyAll(
  settings: Settings,
  journal: JournalView,
  ctx: ApplyContext,
  how: PassRun,
  current: () => State,
  finished: (o: TargetOutcome) => void,
): Promise<TargetOutcome[]> {
  const progress = new CoalescedSave(() => save(settings.stateFile, current()), SAVE_DELAY_MS);
  let running = settings.targets.length;
  try {
    // Every target ends before the pass does, also when one throws: none may go on applying, or
    // saving, after the lock is let go.
    const settled = await Promise.allSettled(
      settings.targets.map(async (t) => {
        const next = journal.nextOf(t.name);
        if (how.beat.holdOff?.(t.name)) return heldOff(t.name, next);
        const outcome = next < journal.firstSeq ? await missedEntries(t.name, next, journal.firstSeq, how.log) : await applyToTarget(ctx, t, entriesFrom(journal.entries, next), next);
        finished(outcome);
        if (--running > 0) progress.soon();
        return outcome;
      }),
    );
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    progress.rethrow();
    return settled.map((r) => (r as PromiseFulfilledResult<TargetOutcome>).value);
  } finally {
    // No save after the run has ended, whichever way: not after its lock is let go.
    progress.stop();
  }
}

/**
 * The pass's one line in the tool's log. A pass that found nothing to do says so at debug only: a log
 * read by people shows what happened, not a line a minute (status and the metrics file tell when the
 * last run was).
 */
function logFinished(summary: RunSummary, outcomes: TargetOutcome[], needsPerson: boolean, unknown: number, log: Logger): void {
  const quiet =
    !needsPerson &&
    summary.waiting === 0 &&
    summary.droppedFailed === 0 &&
    summary.ignored === 0 &&
    summary.ledgerSchema === 0 &&
    summary.instance === 0 &&
    outcomes.every((o) => o.applied === 0 && o.alreadyApplied === 0 && o.filtered === 0 && !o.failure);
  log[quiet ? 'debug' : 'info']('run finished', {
    records: summary.recordsRead,
    bytes: summary.bytesRead,
    dropped_failed: summary.droppedFailed,
    waiting: summary.waiting,
    ...(unknown > 0 ? { outcome_unknown: unknown } : {}),
    ...(summary.ignored > 0 ? { not_sent_own: summary.ignored } : {}),
    ...(summary.ledgerSchema > 0 ? { not_sent_ledger_schema: summary.ledgerSchema } : {}),
    ...(summary.instance > 0 ? { not_sent_instance: summary.instance } : {}),
    ...Object.fromEntries(outcomes.map((o) => [`applied[${o.name}]`, o.applied])),
    ...Object.fromEntries(outcomes.filter((o) => o.filtered > 0).map((o) => [`filtered[${o.name}]`, o.filtered])),
    ms: summary.ms,
  });
}

/**
 * A target whose next entries were dropped from the journal, their log files gone, while it was not
 * configured: it cannot be brought up from the log.
 */
async function missedEntries(name: string, next: number, firstSeq: number, log: Logger): Promise<TargetOutcome> {
  const message = `journal entries ${next} to ${firstSeq - 1} are gone with their log files; compare the target with the primary, then start it over (README, "State file")`;
  log.error('target is behind what the log directory still holds', { target: name, next, first: firstSeq });
  return { name, next, applied: 0, alreadyApplied: 0, filtered: 0, failure: { seq: next, database: '', at: '(gone)', shown: '', message } };
}

/** A target not tried in this pass: its place as it was, nothing done. */
function heldOff(name: string, next: number): TargetOutcome {
  return { name, next, applied: 0, alreadyApplied: 0, filtered: 0 };
}

function summarize(plan: Plan, started: number): RunSummary {
  const { counts } = plan.judge;
  return {
    recordsRead: plan.recordsRead,
    bytesRead: plan.bytesRead,
    droppedFailed: counts.failed,
    waiting: plan.judge.waiting().length,
    notDdl: counts.notDdl,
    inExplicitBlock: counts.inExplicitBlock,
    ignored: plan.ignored,
    ledgerSchema: counts.ledgerSchema,
    instance: counts.instance,
    ms: Date.now() - started,
  };
}

