/**
 * `run`: one pass. New csvlog records → judged → committed units into the journal → every target
 * applies the journal from where it stands → state saved.
 */
import { echoFilter } from '../core/echo';
import { loadParser } from '../core/parser';
import { LogDataError, StateError, UsageError } from '../errors';
import { listLogFilesSettled, noCsvlogError } from '../io/logFiles';
import { Logger } from '../io/logger';
import { Gap, marksAfter, readStarts } from '../io/fileMarks';
import { State, TargetState, loadState, saveState } from '../io/state';
import { UnitTexts } from '../io/unitText';
import { Settings, connectOptions } from '../io/settings';
import { Plan, damageError, makePlan, primaryQuestions } from '../pipeline/read';
import { writeMetrics } from '../io/metrics';
import { unsafeFileProblem } from '../io/atomicFile';
import { identifyPrimary, primaryMismatch, primaryToSave } from '../io/primaryId';
import { duration, oldestHeldBack } from '../core/heldBack';
import { nestedLines } from '../core/captureUse';
import { UnknownOutcome, reportPlan, reportStrays, unknownOutcomes } from '../pipeline/report';
import { Locked, withRunLock } from '../pipeline/runLock';
import { sourceEncodings } from '../pipeline/primary';
import { statusReport } from '../pipeline/statusReport';
import { KeptAppliers, Listing, TargetOutcome, applyToTarget, entriesFrom, head, listEntries, numbered } from '../pipeline/apply';

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

/** Runs one pass (or, with dryRun, lists what it would send). */
export async function run(settings: Settings, dryRun: boolean, deps: RunDeps, skipMalformed = false): Promise<RunResult> {
  const started = Date.now();
  const now = deps.now ?? (() => new Date());
  const { log } = deps;
  if (!settings.csvlogDir) throw new UsageError('no csvlog directory: give --csvlog-dir DIR (or "csvlogDir" in the config file)');
  if (!dryRun && settings.targets.length === 0) {
    throw new UsageError('no target: give --target [NAME=]URL (or "targets" in the config file), or use --dry-run');
  }
  const unsafeMetrics = settings.metricsFile && !dryRun ? unsafeFileProblem(settings.metricsFile) : null;
  if (unsafeMetrics) throw new UsageError(`--metrics-file ${settings.metricsFile}: ${unsafeMetrics}`);
  const csvlogDir = settings.csvlogDir;
  const pass = () => runPass(settings, csvlogDir, dryRun, skipMalformed, log, started, now);
  return dryRun ? pass() : withRunLock(settings.stateFile, log, pass);
}

/** What run() checks of the settings before it takes the lock; the csvlog directory. */
export function checkRunSettings(settings: Settings): string {
  if (!settings.csvlogDir) throw new UsageError('no csvlog directory: give --csvlog-dir DIR (or "csvlogDir" in the config file)');
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
  const res = await runPass(settings, csvlogDir, false, skipMalformed, deps.log, Date.now(), deps.now ?? (() => new Date()), beat);
  if (res.kind !== 'applied') throw new Error('a pass that applies returned a listing');
  return res;
}

async function runPass(
  settings: Settings,
  csvlogDir: string,
  dryRun: boolean,
  skipMalformed: boolean,
  log: Logger,
  started: number,
  now: () => Date,
  beat: PassOptions = {},
): Promise<RunResult> {
  const state = loadState(settings.stateFile);
  const primary = identifyPrimary(csvlogDir, settings.dataDir?.dir);
  const otherPrimary = primaryMismatch(state.primary, primary);
  if (otherPrimary) throw new StateError(settings.stateFile, otherPrimary);
  const listedAt = now();
  const files = listLogFilesSettled(csvlogDir);
  // A server that logs in csvlog always has the file it writes: none at all is a wrong directory or
  // a wrong log_destination, not a quiet log.
  if (files.length === 0) throw noCsvlogError(csvlogDir);
  const markedAt = state.log?.listedAt ?? state.lastRun;
  const { starts, returned, kept, gaps } = readStarts(files, state.log?.files, { markedAt: markedAt ? new Date(markedAt) : undefined, now: listedAt });
  const source = settings.source;
  const echo = echoFilter(settings.ignoredRoles);
  const plan = await makePlan(files, starts, state.log?.judge, {
    log,
    ...primaryQuestions(settings),
    skipMalformed,
    returned,
    ignore: echo,
    sendInstanceCommands: settings.sendInstanceCommands,
  });
  // Damage ends the read there: what came before it is sent, then the run exits for a person.
  const damage = damageError(plan);
  if (damage) log.error('the csvlog holds a malformed record; reading stops there until it is looked at', { file: damage.file, offset: damage.offset });
  const entries = [...state.journal.entries, ...numbered(plan, state.journal.nextSeq)];
  const firstSeq = entries[0]?.seq ?? state.journal.nextSeq + plan.units.length;
  // A new target starts at the first entry whose log file is still here: what came before is gone.
  const present = new Set(files.map((f) => f.fingerprint));
  const startSeq = entries.find((e) => present.has(e.file.key))?.seq ?? state.journal.nextSeq + plan.units.length;
  const nextOf = (name: string): number => state.targets[name]?.next ?? startSeq;
  // Statement texts are read (and parsed) again only where something is to be applied, listed or
  // reported: an idle run does without.
  const texts = new UnitTexts(files);
  const work = settings.targets.some((t) => entriesFrom(entries, nextOf(t.name)).length > 0);
  if (work || dryRun || plan.judge.unknown().length > 0 || plan.judge.waiting().length > 0) await loadParser();
  const unjudged = unjudgedWarnings(plan, texts);
  for (const line of unjudged.lines) log.warn(line);
  reportPlan(plan, texts, log);
  const nested = nestedNotices(plan, log);
  // A crash left these undecided: the run says so each time (exit 1) until a person resolves them.
  const unknown = unknownOutcomes(plan.judge, texts);
  const notices: RunNotices = {
    warnings: [...(plan.sourceProblem ? [sourceWarning(plan.sourceProblem)] : []), ...reportStrays(echo.strays, settings, log), ...unjudged.lines, ...nested.lines],
    heldBack: heldBackLine(plan, texts, settings, now()),
    nested: nested.exitLine,
  };
  if (notices.heldBack) log.error(notices.heldBack);
  const summary = summarize(plan, started);
  if (dryRun) {
    const listings =
      settings.targets.length === 0
        ? [listEntries(entriesFrom(entries, lowestNext(state, startSeq)), texts, undefined, settings.applyAs)]
        : settings.targets.map((t) => listEntries(entriesFrom(entries, nextOf(t.name)), texts, t, settings.applyAs));
    return { kind: 'dry-run', listings: markUnjudged(listings, unjudged.at), summary, unknown, damage, ...notices };
  }
  for (const t of settings.targets) {
    if (!state.targets[t.name] && startSeq > firstSeq) {
      log.warn('new target: it starts at the first statement whose log file is still in the directory', { target: t.name, skipped: startSeq - firstSeq });
    }
  }
  // What was read is saved first, then the targets' places as they finish: a target that hangs
  // holds back no other's progress, and a run killed meanwhile loses nothing the next run cannot
  // find again (the ledgers keep what was applied). Targets that finish close together are saved
  // together, a moment after the first of them (a save writes the whole journal, and fsyncs); the
  // last one is saved with the run's end.
  let current: State = { ...state, primary: primaryToSave(state.primary, primary), log: { files: marksAfter(files, plan.ends, kept, listedAt), listedAt: listedAt.toISOString(), judge: plan.judge.snapshot() } };
  current = { ...current, journal: { nextSeq: state.journal.nextSeq + plan.units.length, entries }, lastRun: now().toISOString() };
  if (gaps.length > 0) {
    for (const g of gaps) log.error('a csvlog file went, or was emptied, with records the runs may not have read: they may never reach the targets', { ...g });
    const foundAt = now().toISOString();
    current = { ...current, gaps: [...(state.gaps ?? []), ...gaps.map((g) => ({ ...g, foundAt }))] };
  }
  save(settings.stateFile, current);
  const primaryEncodings = work && source ? await sourceEncodings(source, settings, log) : undefined;
  const ctx = { texts, source: settings.sourceName, connect: connectOptions(settings), log, primaryEncodings, applyAs: settings.applyAs, lockRetries: settings.lockRetries, kept: beat.kept, stopping: beat.stopping };
  const progress = new CoalescedSave(() => save(settings.stateFile, current), SAVE_DELAY_MS);
  let running = settings.targets.length;
  let outcomes: TargetOutcome[];
  try {
    outcomes = await Promise.all(
      settings.targets.map(async (t) => {
        if (beat.holdOff?.(t.name)) return heldOff(t.name, nextOf(t.name));
        const outcome =
          nextOf(t.name) < firstSeq
            ? await missedEntries(t.name, nextOf(t.name), firstSeq, log)
            : await applyToTarget(ctx, t, entriesFrom(entries, nextOf(t.name)), nextOf(t.name));
        current = withOutcome(current, outcome, now());
        if (--running > 0) progress.soon();
        return outcome;
      }),
    );
  } finally {
    // No save after the run has ended, whichever way: not after its lock is let go.
    progress.stop();
  }
  progress.rethrow();
  const next = pruned(current, present, settings.targets.map((t) => t.name));
  save(settings.stateFile, next);
  summary.ms = Date.now() - started;
  if (settings.metricsFile && beat.metrics !== false) await saveMetrics(settings, settings.metricsFile, next, summary, log);
  // A run that found nothing to do says so at debug only: a log read by people shows what happened,
  // not a line a minute (status and the metrics file tell when the last run was).
  const quiet =
    gaps.length === 0 &&
    !damage &&
    unknown.length === 0 &&
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
    ...(unknown.length > 0 ? { outcome_unknown: unknown.length } : {}),
    ...(summary.ignored > 0 ? { not_sent_own: summary.ignored } : {}),
    ...(summary.ledgerSchema > 0 ? { not_sent_ledger_schema: summary.ledgerSchema } : {}),
    ...(summary.instance > 0 ? { not_sent_instance: summary.instance } : {}),
    ...Object.fromEntries(outcomes.map((o) => [`applied[${o.name}]`, o.applied])),
    ...Object.fromEntries(outcomes.filter((o) => o.filtered > 0).map((o) => [`filtered[${o.name}]`, o.filtered])),
    ms: summary.ms,
  });
  return { kind: 'applied', targets: outcomes, summary, gaps, unknown, damage, ...notices };
}

/**
 * DDL the log shows no statement of (run inside a function, a procedure, a DO block), as the capture
 * helper told it: each object once, the run that read it, on stderr; then, every run until a person
 * handles it, the line the run exits 1 with. The targets go on: nothing of it was sent.
 */
function nestedNotices(plan: Plan, log: Logger): { lines: string[]; exitLine?: string } {
  const lines: string[] = [];
  for (const n of plan.judge.nestedFound.splice(0)) {
    for (const line of nestedLines(n)) {
      log.error(line, { event: 'nested-ddl', at: n.at, database: n.database, session: n.sessionId });
      lines.push(line);
    }
  }
  const open = plan.judge.unhandledNested();
  if (open.length === 0) return { lines };
  const exitLine = `${open.length} DDL command(s) ran inside functions, procedures or DO blocks on the primary and were not sent (the first at ${open[0].at}); copy what they did to the targets, or do it by hand: pg-ddl-sync nested`;
  return { lines, exitLine };
}

function sourceWarning(problem: string): string {
  return `${problem}; statements whose transaction's end the log does not show stay held back (set log_disconnections = on on the primary)`;
}

/**
 * One warning per statement sent from a block whose end the log cannot show (see Judge.unjudged), and
 * where each is, for the dry run's listing. The judge's list is emptied.
 */
function unjudgedWarnings(plan: Plan, texts: UnitTexts): { lines: string[]; at: Set<string> } {
  const units = plan.judge.unjudged.splice(0);
  const at = new Set(units.map((u) => `${u.file.name}:${u.offset}`));
  const lines = units.map((u) => {
    const text = texts.get(u);
    const sql = text.kind === 'ok' ? head(text.text.shown) : '';
    return `sent as committed without proof: ${sql} (${u.file.name}:${u.offset}, database ${u.database}) ran inside a transaction block, and under log_statement = 'ddl' a ROLLBACK of it is not logged; check it on the primary, or set log_statement = 'all'`;
  });
  return { lines, at };
}

/** The dry run's listings with the statements the log cannot judge marked. */
function markUnjudged(listings: Listing[], at: ReadonlySet<string>): Listing[] {
  if (at.size === 0) return listings;
  const note = "sent as committed without proof: it ran inside a transaction block, whose ROLLBACK log_statement = 'ddl' does not log";
  return listings.map((l) => ({ ...l, statements: l.statements.map((s) => (at.has(s.at) ? { ...s, note } : s)) }));
}

/**
 * The line a run exits 1 with when a statement has been held back longer than --max-held-back: what
 * it is, where, why its end is unknown, and what makes it known.
 */
function heldBackLine(plan: Plan, texts: UnitTexts, settings: Settings, now: Date): string | undefined {
  const held = oldestHeldBack(plan.judge.waiting(), now);
  if (!held || held.ageMs <= settings.maxHeldBackMs) return undefined;
  const { unit } = held.waiting;
  const text = texts.get(unit);
  const sql = text.kind === 'ok' ? head(text.text.shown) : '(text not readable)';
  const why = !settings.source
    ? 'no later record of its session and no disconnection are logged, and there is no --source (or running --data-dir) to ask the primary'
    : plan.sourceProblem
      ? `no later record of its session and no disconnection are logged; ${plan.sourceProblem}`
      : "no later record of its session and no disconnection are logged, and the primary's answer did not settle it";
  return (
    `a statement has been held back for ${duration(held.ageMs)} (more than --max-held-back), and every later one waits behind it: ` +
    `${sql} (${unit.file.name}:${unit.offset}, database ${unit.database}, session ${unit.sessionId}); its transaction's end is unknown: ${why}; ` +
    'set log_disconnections = on on the primary, or give --source URL or --data-dir DIR with a role that can connect'
  );
}

/** Writes the metrics file from the state just saved; a failure to write it is only logged. */
async function saveMetrics(settings: Settings, file: string, state: State, summary: RunSummary, log: Logger): Promise<void> {
  try {
    const s = await statusReport(settings, new Date(), false);
    writeMetrics(file, {
      finishedAt: new Date(),
      durationMs: summary.ms,
      waiting: s.waiting.length,
      outcomeUnknown: s.unknown.length,
      oldestHeldBackSeconds: s.oldestHeldBack?.ageSeconds ?? 0,
      unreadBytes: s.log.unreadBytes,
      nestedDdl: s.nested.length,
      targets: s.targets
        .filter((t) => t.configured)
        .map((t) => {
          const totals = state.targets[t.name]?.totals;
          return {
            name: t.name,
            pending: t.pending,
            behindBytes: t.behindBytes,
            lagSeconds: t.lagSeconds,
            // A lock wait or a timeout is a stop too: an alert on stuck must not miss either.
            stuck: t.state === 'stuck' || t.state === 'waiting-for-lock' || t.state === 'timed-out' || t.state === 'unreachable',
            lockWait: t.state === 'waiting-for-lock',
            timedOut: t.state === 'timed-out',
            unreachable: t.state === 'unreachable',
            lastSuccess: t.lastSuccess,
            applied: totals?.applied ?? 0,
            filtered: totals?.filtered ?? 0,
            failedRuns: totals?.failedRuns ?? 0,
            skipped: totals?.skipped ?? 0,
          };
        }),
    });
  } catch (err) {
    log.warn('cannot write the metrics file', { file, error: (err as Error).message });
  }
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

function lowestNext(state: State, firstSeq: number): number {
  const nexts = Object.values(state.targets).map((t) => t.next);
  return Math.max(firstSeq, nexts.length > 0 ? Math.min(...nexts) : firstSeq);
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

/** A target's place after a pass. */
function withOutcome(state: State, o: TargetOutcome, now: Date): State {
  const before = state.targets[o.name];
  const totals = before?.totals ?? { applied: 0, filtered: 0, failedRuns: 0, skipped: 0 };
  const common = {
    next: o.next,
    lastApplied: o.lastApplied ?? before?.lastApplied,
    totals: { ...totals, applied: totals.applied + o.applied, filtered: totals.filtered + o.filtered, failedRuns: totals.failedRuns + (o.failure ? 1 : 0) },
  };
  let target: TargetState;
  if (o.failure) {
    // Out of reach since the first run that could not connect, whichever statement it stood at.
    const same = before?.failure?.seq === o.failure.seq || (before?.failure?.unreachable === true && o.failure.unreachable === true);
    target = {
      ...common,
      lastSuccess: before?.lastSuccess,
      failure: {
        seq: o.failure.seq,
        statement: o.failure.shown,
        at: o.failure.at,
        database: o.failure.database,
        sqlState: o.failure.sqlState,
        message: o.failure.message,
        since: same && before?.failure ? before.failure.since : now.toISOString(),
        ...(o.failure.lockWait ? { lockWait: true } : {}),
        ...(o.failure.timedOut ? { timedOut: true } : {}),
        ...(o.failure.unreachable ? { unreachable: true } : {}),
      },
    };
  } else {
    target = { ...common, lastSuccess: now.toISOString() };
  }
  return { ...state, targets: { ...state.targets, [o.name]: target } };
}

/**
 * The journal without the entries every configured target is past and whose log file is gone. Only a
 * run of them from the start goes: a gap would let a target that comes back skip an entry unseen.
 */
function pruned(state: State, present: ReadonlySet<string | null>, names: string[]): State {
  const passed = Math.min(...names.map((n) => state.targets[n]?.next ?? 0));
  const entries = state.journal.entries;
  let keepFrom = 0;
  while (keepFrom < entries.length && entries[keepFrom].seq < passed && !present.has(entries[keepFrom].file.key)) keepFrom++;
  return keepFrom === 0 ? state : { ...state, journal: { ...state.journal, entries: entries.slice(keepFrom) } };
}

/** How long after a target finishes its place is saved, with those of any finishing meanwhile. */
const SAVE_DELAY_MS = 500;

/**
 * A save asked for several times within a moment, made once. A failed save throws from rethrow(),
 * which the run calls (after stop()) before its own last save.
 */
export class CoalescedSave {
  private timer: NodeJS.Timeout | undefined;
  private error: unknown;

  constructor(
    private readonly saveNow: () => void,
    private readonly delayMs: number,
  ) {}

  soon(): void {
    if (this.timer || this.error) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      try {
        this.saveNow();
      } catch (err) {
        this.error = err;
      }
    }, this.delayMs);
  }

  /** Drops a save not made yet: the caller makes a later one, or the run ends without it. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Throws the error of a save that failed. */
  rethrow(): void {
    if (this.error) throw this.error;
  }
}

function save(file: string, state: State): void {
  try {
    saveState(file, state);
  } catch (err) {
    // What the targets applied is in their ledgers: the next run skips it, whatever this file says.
    throw new StateError(file, `cannot write it: ${(err as Error).message}; the targets' ledgers hold what this run applied`);
  }
}
