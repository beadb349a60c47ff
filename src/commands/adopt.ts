/**
 * `adopt --target NAME --from now|FILE:OFFSET|TIME`: takes on a target whose schema already matches
 * the primary's at a point of its log (seeded from pg_dump or a base backup, or found the same by
 * `verify`). What the log holds before that point is not replayed there: the target's ledger, in each
 * of its databases, records that it counts as applied, and the state moves the target past it.
 */
import * as os from 'node:os';
import { UsageError } from '../errors';
import { recordDecisions } from '../io/decisionRecord';
import { recordAdoption } from '../io/ledger';
import { targetDatabases, withLedger } from '../io/ledgerWrite';
import { LogFile, listLogFiles } from '../io/logFiles';
import { Logger } from '../io/logger';
import { readRecords } from '../io/logReader';
import { JournalEntry, loadState, saveState } from '../io/state';
import { Settings, connectOptions } from '../io/settings';
import { makePlan, primaryQuestions } from '../pipeline/read';
import { Locked, withRunLock } from '../pipeline/runLock';

export type AdoptResult =
  | { kind: 'adopted'; target: string; at: string; databases: string[]; passedOver: number; record: string }
  | Locked;

export interface AdoptOptions {
  reason?: string;
  log: Logger;
  now?: () => Date;
}

/** A point of the log: the file (its index in the listing) and the byte offset in it. */
interface Point {
  file: number;
  offset: number;
}

/**
 * Adopts a target at a point of the log.
 * @param from `now` (the log's end), `FILE:OFFSET` (a record's place, as status and the log show
 *   them), or a time (the first record logged at or after it)
 */
export async function adopt(settings: Settings, target: string, from: string, opts: AdoptOptions): Promise<AdoptResult> {
  if (!settings.csvlogDir) throw new UsageError('adopt needs the log: give --csvlog-dir DIR (or "csvlogDir" in the config file)');
  const spec = settings.targets.find((t) => t.name === target);
  if (!spec) throw new UsageError(`adopt records the adoption in the ledger of target ${target}: give its URL (--target ${target}=URL, or -c CONFIG that names it)`);
  const csvlogDir = settings.csvlogDir;
  return withRunLock(settings.stateFile, opts.log, async () => {
    const state = loadState(settings.stateFile);
    const files = listLogFiles(csvlogDir).filter((f) => f.fingerprint !== null);
    if (files.length === 0) throw new UsageError(`the log directory ${csvlogDir} holds no csvlog record yet: there is nothing to adopt from`);
    const point = pointOf(files, from);
    const at = `${files[point.file].name}:${point.offset}`;
    const before = isBefore(files, point);
    // What is still open before the point, judged from the whole log as it is now: the state knows only
    // what earlier runs read, and a first adoption has no state at all.
    const judged = (await makePlan(files, files.map(() => 0), undefined, { log: opts.log, ...primaryQuestions(settings) })).judge;
    const undecided = judged.unknown().find((u) => before(u.unit));
    if (undecided) {
      throw new UsageError(
        `the outcome of a DDL transaction before ${at} is unknown after a crash of the primary (${undecided.unit.file.name}:${undecided.unit.offset}): resolve it first (status lists it)`,
      );
    }
    const open = judged.waiting().find((w) => before(w.unit));
    if (open) {
      throw new UsageError(
        `a DDL transaction was still open on the primary at ${at}: its statement at ${open.unit.file.name}:${open.unit.offset} (session ${open.unit.sessionId}) came before it and may commit later; adopt at a point after it ends (status lists what waits)`,
      );
    }
    // Every file up to the point's, each to its bound: a file is read in order, once.
    const bounds = files.slice(0, point.file + 1).map((f, i) => ({ fileKey: f.fingerprint!, logFile: f.name, bound: i === point.file ? point.offset : f.size }));
    const now = (opts.now ?? (() => new Date()))();
    const by = os.userInfo().username;
    const note = `adopted at ${at} by ${by} on ${now.toISOString()}: the statements logged before it count as applied here`;
    const databases = await targetDatabases(spec, connectOptions(settings));
    for (const db of databases) await withLedger(spec, db, connectOptions(settings), (client) => recordAdoption(client, settings.sourceName, bounds, note));
    const entries = state.journal.entries;
    const next = entries.find((e) => !before(e))?.seq ?? state.journal.nextSeq;
    const old = state.targets[target];
    const passedOver = entries.filter((e) => e.seq >= (old?.next ?? 0) && e.seq < next).length;
    const record = { adoptedAt: now.toISOString(), target, from, at, databases, passedOver, reason: opts.reason ?? null, by };
    const file = recordDecisions(settings.stateFile, 'the adoption', [record]);
    state.targets[target] = { ...old, next, failure: undefined };
    saveState(settings.stateFile, state);
    opts.log.warn('target adopted: what the log holds before the point counts as applied there', { target, at, databases: databases.join(','), reason: opts.reason });
    return { kind: 'adopted' as const, target, at, databases, passedOver, record: file };
  });
}

/** Whether a unit of the journal was logged before the point (a unit whose file is gone was). */
function isBefore(files: LogFile[], point: Point): (u: Pick<JournalEntry, 'file' | 'offset'>) => boolean {
  return (u) => {
    const i = files.findIndex((f) => f.fingerprint === u.file.key);
    return i < 0 || i < point.file || (i === point.file && u.offset < point.offset);
  };
}

/** The point `--from` names. */
function pointOf(files: LogFile[], from: string): Point {
  if (from === 'now') return { file: files.length - 1, offset: files[files.length - 1].size };
  const place = /^(.+\.csv):(\d+)$/.exec(from);
  if (place) {
    const file = files.findIndex((f) => f.name === place[1]);
    if (file < 0) throw new UsageError(`--from ${from}: no log file ${place[1]} in the log directory`);
    const offset = Number(place[2]);
    if (offset > files[file].size) throw new UsageError(`--from ${from}: past the end of ${place[1]} (size ${files[file].size})`);
    return { file, offset };
  }
  const time = Date.parse(from);
  if (Number.isNaN(time)) throw new UsageError(`--from "${from}": expected now, FILE:OFFSET or a time ('2026-12-06 10:00:00+00')`);
  return pointAtTime(files, time);
}

/** The place of the first record logged at or after a time; the log's end when none is. */
function pointAtTime(files: LogFile[], time: number): Point {
  // From the last file begun before it: the ones before it hold only older records.
  let first = 0;
  files.forEach((f, i) => {
    if (f.firstLogTime !== null && Date.parse(f.firstLogTime) <= time) first = i;
  });
  let found: Point | null = null;
  readRecords(files, files.map((f, i) => (i < first ? f.size : 0)), (record, file) => {
    if (Date.parse(record.logTime) < time) return undefined;
    found = { file, offset: record.offset };
    return 'stop';
  });
  return found ?? { file: files.length - 1, offset: files[files.length - 1].size };
}
