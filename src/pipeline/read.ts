/**
 * Reading and judging, shared by `run` and `replay`: the log from where the judge stopped, through the
 * judge, into newly committed units; with `--source`, the primary asked about what the log leaves
 * undecided.
 */
import { FileRef, Judge, JudgeOptions, JudgeSnapshot, LaterFailure, UnitSpec, hashText } from '../core/judge';
import type { LogRecord } from '../core/logRecord';
import { JudgeGate } from '../core/judgeGate';
import { StatementTooLarge, analyze } from '../core/statements';
import { loadParser } from '../core/parser';
import { ConnectionError, LogDataError, StateError, UsageError } from '../errors';
import { EchoFilter, echoFilter } from '../core/echo';
import * as fs from 'node:fs';
import { LogFile, listLogFilesSettled, noCsvlogError, readHead } from '../io/logFiles';
import { PrimaryId, identifyPrimary, primaryMismatch } from '../io/primaryId';
import { State } from '../io/state';
import { Damage, ReadOptions, ReadResult, RecordsAt, Skipped, readRecords } from '../io/logReader';
import { Logger } from '../io/logger';
import { Gap, readStarts, unreadBytes } from '../io/fileMarks';
import { SourceAnswer, askSource, readCaptureKey } from '../io/source';
import { Settings } from '../io/settings';

export interface Plan {
  files: LogFile[];
  judge: Judge;
  /** Units found committed by this read, in the order targets apply them. */
  units: UnitSpec[];
  /** Just past the last record judged in each file: where the next read starts. */
  ends: number[];
  recordsRead: number;
  bytesRead: number;
  /** Where reading stopped at a record that is not csvlog: what came before it is in the plan. */
  damage?: Damage;
  /** Damage passed over (--skip-malformed). */
  skipped: Skipped[];
  /** DDL statements left out as a pg-ddl-sync's own, or an ignored role's (see core/echo). */
  ignored: number;
  /** Why the primary could not settle what the log left undecided, when it was to be asked and could not. */
  sourceProblem?: string;
}

export interface PlanOptions {
  /** Asks the primary about undecided transactions, and the status of these xids (see io/source). */
  askSource?: (xids: string[]) => Promise<SourceAnswer>;
  /** Reads the primary's capture key (io/source's readCaptureKey); none: there is no source. */
  captureKey?: () => Promise<string | null>;
  log: Logger;
  /** How long to wait for a marker to reach the log. */
  markerTimeoutMs?: number;
  /** Pass over damage to the next record instead of stopping there. */
  skipMalformed?: boolean;
  /** Files the server came back to (see fileMarks): merged by log_time. */
  returned?: readonly boolean[];
  /** DDL never to send: what a pg-ddl-sync ran on this instance, or an ignored role (see core/echo). */
  ignore?: JudgeOptions['isOwn'];
  /** Send instance-level DDL too (see core/instanceCommands). */
  sendInstanceCommands?: boolean;
}

/**
 * How a read asks the primary (--source, or the socket of --data-dir): about undecided transactions
 * and capture records. Nothing without a source.
 */
export function primaryQuestions(settings: Settings): Pick<PlanOptions, 'askSource' | 'captureKey'> {
  const source = settings.source;
  if (!source) return {};
  // Bounded in time as a target's answers are.
  const opts = { connectTimeoutMs: settings.connectTimeoutMs, statementTimeoutMs: settings.statementTimeoutMs };
  return { askSource: (xids) => askSource(source, opts, xids), captureKey: () => readCaptureKey(source, opts) };
}

/**
 * Reads the log from where each file was read to, with the judge's knowledge of what came before,
 * and takes out the units that committed.
 * @param files the log files, oldest write first
 * @param starts where reading starts in each file
 * @param snapshot what the judge knew there
 */
export async function makePlan(files: LogFile[], starts: readonly number[], snapshot: JudgeSnapshot | undefined, opts: PlanOptions): Promise<Plan> {
  let key: CaptureKey = { kind: 'no-source' };
  const judge = new Judge(snapshot, { isOwn: opts.ignore, sendInstanceCommands: opts.sendInstanceCommands, captureKey: () => captureKeyOf(key) });
  const refs = new FileRefs(files);
  // The parser is loaded only when there are records to judge: an idle run never pays for it. The
  // newest file is read up to its size now, so that what it gains meanwhile waits for the next run
  // rather than being judged without the parser.
  const newest = files.length - 1;
  if (newest >= 0) files[newest].size = currentSize(files[newest]);
  const unread = unreadBytes(files, starts) > 0;
  if (unread || (opts.askSource && judge.hasBlocked())) {
    await loadParser();
    if (opts.captureKey) key = await readKey(opts.captureKey);
  }
  let recordsRead = 0;
  const skipped: Skipped[] = [];
  const onSkip = opts.skipMalformed ? skipsInto(skipped, files, opts.log) : undefined;
  const toJudge = (record: LogRecord, file: number): void => {
    try {
      judge.add(record, refs.get(file));
    } catch (err) {
      // Neither sent nor dropped: the read stops there, for a person.
      if (err instanceof StatementTooLarge) throw new LogDataError(files[file].path, record.offset, `${err.message}; it is not sent, and nothing after it is read`);
      throw err;
    }
  };
  // A BEGIN the gate held back is read again where the read may have moved on from its chunk.
  const recordsAt = new RecordsAt();
  const recordAt = (file: number, offset: number, end: number): LogRecord => {
    const record = recordsAt.record(files[file], offset, end);
    if (!record) throw new LogDataError(files[file].path, offset, 'the file changed while it was read (a record read moments ago is no longer there); run again');
    return record;
  };
  const gate = new JudgeGate(judge, toJudge, recordAt);
  let read: ReadResult;
  try {
    read = readRecords(
      files,
      starts,
      (record, file) => {
        recordsRead++;
        toJudge(record, file);
      },
      {
        onSkip,
        returned: opts.returned,
        newestLimit: newest >= 0 ? files[newest].size : undefined,
        prefilter: (raw, file) => gate.admit(raw, file),
      },
    );
    gate.release();
  } finally {
    recordsAt.close();
  }
  recordsRead += read.passedOver;
  const plan: Plan = { files, judge, units: [], ends: read.ends, recordsRead, bytesRead: read.bytesRead, damage: read.damage, skipped, ignored: 0 };
  // Reading on to the primary's markers passes damage over and merges files as the read above did.
  if (!read.damage && opts.askSource && judge.hasBlocked()) await settleFromSource(plan, toJudge, opts, { onSkip, returned: opts.returned });
  logForgeries(judge, opts.log);
  plan.ignored = judge.counts.own;
  plan.units = judge.emit();
  // A file listed before its first line was whole has one now: its identity, for what follows.
  for (const [i, f] of files.entries()) if (f.fingerprint === null && plan.ends[i] > 0) refs.identify(i);
  return plan;
}

/** With --skip-malformed: each stretch passed over, kept and logged (where only: the bytes may hold a password). */
function skipsInto(skipped: Skipped[], files: LogFile[], log: Logger): (s: Skipped) => void {
  return (s) => {
    skipped.push(s);
    log.warn('skipped a malformed stretch of the csvlog (--skip-malformed); a statement or an error there is lost', {
      file: files[s.file].path,
      offset: s.offset,
      bytes: s.end - s.offset,
      problem: s.problem,
    });
  };
}

/** Records written to look like capture records: a security event each, and nothing trusted of them. */
function logForgeries(judge: Judge, log: Logger): void {
  for (const f of judge.forgeries.splice(0)) {
    log.error('security: a record written to look like a capture record, not trusted: the statement it would describe is judged as if it had none', {
      event: 'security',
      at: `${f.file.name}:${f.offset}`,
      database: f.database,
      role: f.user,
      reason: f.why,
    });
  }
}

/** What a read knows of the primary's capture key. */
type CaptureKey = { kind: 'no-source' } | { kind: 'failed'; message: string } | { kind: 'key'; key: string | null };

/** The capture key, read once a run, before any record is judged; its failure is told only if a capture record needs it. */
async function readKey(read: () => Promise<string | null>): Promise<CaptureKey> {
  try {
    return { kind: 'key', key: await read() };
  } catch (err) {
    return { kind: 'failed', message: (err as Error).message };
  }
}

/** The key for the judge, as a capture record is read: it stops the read where it cannot be had. */
function captureKeyOf(key: CaptureKey): string | null {
  if (key.kind === 'key') return key.key;
  if (key.kind === 'failed') {
    throw new ConnectionError('the primary (--source)', `cannot read its capture key (ddl_sync_capture.key), which the capture records in the csvlog are checked with: ${key.message}`);
  }
  throw new UsageError('the csvlog holds capture records (pg-ddl-sync capture install): they are checked and judged with the primary\'s help; give --source URL or --data-dir DIR');
}

/** A file's size now; its listed size if it is gone meanwhile (reading it then says so). */
function currentSize(file: LogFile): number {
  try {
    return Math.max(file.size, fs.statSync(file.path).size);
  } catch {
    return file.size;
  }
}

/**
 * The damage the read stopped at, as the error the run ends with once the records before it were
 * dealt with: a person looks, then resumes past it with --skip-malformed.
 */
export function damageError(plan: Plan): LogDataError | undefined {
  if (!plan.damage) return undefined;
  const { file, offset, problem } = plan.damage;
  return new LogDataError(plan.files[file].path, offset, `${problem}; what came before it was read, nothing after it; once it is looked at, --skip-malformed goes on at the next log file`);
}

/**
 * Reads on to the first marker (judging), then to the second (only looking for the failures of the
 * transactions the primary no longer runs), and hands the judge the primary's answer.
 */
async function settleFromSource(plan: Plan, judgeRecord: (record: LogRecord, file: number) => void, opts: PlanOptions, readOpts: ReadOptions): Promise<void> {
  const { judge } = plan;
  const { log } = opts;
  let answer: SourceAnswer;
  try {
    answer = await opts.askSource!(judge.captureQuestions());
  } catch (err) {
    // The primary being unreachable is no reason to stop: what waits goes on waiting.
    log.warn('cannot ask the primary (--source) about undecided transactions; they stay undecided', { error: (err as Error).message });
    plan.sourceProblem = `cannot ask the primary (--source, or the socket of --data-dir): ${(err as Error).message}`;
    return;
  }
  const before = Buffer.from(answer.before);
  const reached = await readUntil(plan, before, opts.markerTimeoutMs ?? 10_000, readOpts, judgeRecord);
  if (!reached) {
    log.warn('the marker written through --source never reached the csvlog: is --source the server whose log --csvlog-dir holds, with log_min_messages at warning or lower? Undecided transactions stay undecided', {
      marker: answer.before,
    });
    plan.sourceProblem = 'the marker written through --source never reached the csvlog: is --source the server whose log --csvlog-dir holds?';
    return;
  }
  // Up to the second marker, only the failures: the judge goes on from the first next run.
  const later: LaterFailure[] = [];
  const scan = { ...plan, ends: [...plan.ends] };
  const after = Buffer.from(answer.after);
  // Damage here is passed over quietly (when --skip-malformed is given): the next run reads it again, and logs it.
  const quiet: ReadOptions = { ...readOpts, onSkip: readOpts.onSkip && ((): void => undefined) };
  const complete = await readUntil(scan, after, opts.markerTimeoutMs ?? 10_000, quiet, (record) => {
    if (record.kind === 'failure') later.push({ sessionId: record.sessionId, vxid: record.vxid, queryHash: hashText(record.query), query: record.query });
    else if (record.kind === 'statement' && isRollback(record.text)) later.push({ sessionId: record.sessionId, vxid: record.vxid, queryHash: '' });
  });
  if (!complete) {
    log.warn('the second marker written through --source did not reach the csvlog in time; undecided transactions stay undecided', { marker: answer.after });
    plan.sourceProblem = 'the second marker written through --source did not reach the csvlog in time';
    return;
  }
  judge.settleFromSource(answer.running, answer.busy, later, answer.statuses);
}

/** A ROLLBACK or ABORT (of a whole block) anywhere in a logged text. */
function isRollback(text: string): boolean {
  return analyze(text).parts.some((p) => p.kind === 'transaction' && p.verb === 'rollback');
}

/**
 * Reads from `plan.ends` until a record holding `marker`, waiting for the log to grow; moves
 * `plan.ends` past it. False when it did not come in time.
 */
async function readUntil(
  plan: Pick<Plan, 'files' | 'ends' | 'recordsRead' | 'bytesRead' | 'damage'>,
  marker: Buffer,
  timeoutMs: number,
  readOpts: ReadOptions,
  onRecord: (record: Parameters<Parameters<typeof readRecords>[2]>[0], file: number) => void,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const read = readRecords(
      plan.files,
      plan.ends,
      (record, file, raw) => {
        plan.recordsRead++;
        onRecord(record, file);
        return raw.includes(marker) ? 'stop' : undefined;
      },
      readOpts,
    );
    plan.ends = read.ends;
    plan.bytesRead += read.bytesRead;
    if (read.stopped) return true;
    if (read.damage) {
      plan.damage = read.damage;
      return false;
    }
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Each file's identity for the judge; a file's fingerprint is taken once it has a first line. */
class FileRefs {
  private readonly refs = new Map<number, FileRef>();

  constructor(private readonly files: LogFile[]) {}

  get(index: number): FileRef {
    let ref = this.refs.get(index);
    if (!ref) {
      const f = this.identify(index);
      ref = { key: f.fingerprint ?? `ino-${f.ino}`, name: f.name, ino: f.ino };
      this.refs.set(index, ref);
    }
    return ref;
  }

  /** The file, with its identity taken if the listing found no first line yet. */
  identify(index: number): LogFile {
    const f = this.files[index];
    if (f.fingerprint === null) {
      const head = readHead(f.path);
      if (head) Object.assign(f, head);
    }
    return f;
  }
}

/** What a pass read of the log: the files, where it started, what it lost, and the judged plan. */
export interface NewRecords {
  files: LogFile[];
  /** When the files were listed: the marks are as of then. */
  listedAt: Date;
  /** The primary the log is of, as the state file keeps it. */
  primary: PrimaryId;
  kept: ReturnType<typeof readStarts>['kept'];
  gaps: Gap[];
  echo: EchoFilter;
  plan: Plan;
  /** Damage the read stopped at: what came before it is sent, then the run exits for a person. */
  damage?: LogDataError;
}

/**
 * Reads what the log gained since the state's marks, through the judge: the first stage of a pass.
 * Refuses a log of another primary than the state's, and a directory with no csvlog at all.
 */
export async function readNew(settings: Settings, csvlogDir: string, state: State, opts: { skipMalformed: boolean; log: Logger; now: () => Date }): Promise<NewRecords> {
  const primary = identifyPrimary(csvlogDir, settings.dataDir?.dir);
  const otherPrimary = primaryMismatch(state.primary, primary);
  if (otherPrimary) throw new StateError(settings.stateFile, otherPrimary);
  const listedAt = opts.now();
  const files = listLogFilesSettled(csvlogDir);
  // A server that logs in csvlog always has the file it writes: none at all is a wrong directory or
  // a wrong log_destination, not a quiet log.
  if (files.length === 0) throw noCsvlogError(csvlogDir);
  const markedAt = state.log?.listedAt ?? state.lastRun;
  const { starts, returned, kept, gaps } = readStarts(files, state.log?.files, { markedAt: markedAt ? new Date(markedAt) : undefined, now: listedAt });
  const echo = echoFilter(settings.ignoredRoles);
  const plan = await makePlan(files, starts, state.log?.judge, {
    log: opts.log,
    ...primaryQuestions(settings),
    skipMalformed: opts.skipMalformed,
    returned,
    ignore: echo,
    sendInstanceCommands: settings.sendInstanceCommands,
  });
  const damage = damageError(plan);
  if (damage) opts.log.error('the csvlog holds a malformed record; reading stops there until it is looked at', { file: damage.file, offset: damage.offset });
  return { files, listedAt, primary, kept, gaps, echo, plan, damage };
}
