/**
 * `nested`: DDL that ran inside a function, a procedure or a DO block on the primary (seen through the
 * capture helper, never sent), and a person's way to deal with it. Without --at it lists it. With
 * `--at FILE:OFFSET --copy` it copies what the DDL made, as the primary has it now, to every target
 * (or drops there what it dropped), in one transaction per target recorded in the target's ledger;
 * with `--handled` the person did it by hand. Either way the DDL leaves the state (runs stop exiting 1
 * for it) and the decision is kept, as a skip is, in `STATE.skipped.jsonl` and in the log.
 */
import * as os from 'node:os';
import type { Client } from 'pg';
import { NestedDdl } from '../core/captureUse';
import { Judge } from '../core/judge';
import { madeByNested } from '../core/neverGot';
import { CopyStep, copySteps, dumpPattern, dumpSql } from '../core/nestedCopy';
import { TargetError, UsageError } from '../errors';
import { claimEntry } from '../io/ledger';
import { withLedger } from '../io/ledgerWrite';
import { Logger } from '../io/logger';
import { dumpRelations, primaryRelations } from '../io/primaryDump';
import { Settings, TargetSettings, connectOptions } from '../io/settings';
import { State, loadState, saveState } from '../io/state';
import { Locked, withRunLock } from '../pipeline/runLock';
import { recordDecisions } from '../io/decisionRecord';
import { databaseIncluded } from '../pipeline/apply';

/** What a copy would run: on which targets, in which of their databases, and the SQL. */
export interface CopyPlan {
  sql: string;
  targets: { target: string; database: string }[];
  /** Targets whose filters leave the DDL's database out: nothing is run there. */
  filteredOut: string[];
}

/** What copying did on one target. */
export interface CopyDone {
  target: string;
  database: string;
  /** `already`: the target's ledger says an earlier copy of the same DDL committed there. */
  outcome: 'copied' | 'already';
}

export type NestedResult =
  | { kind: 'copied'; nested: NestedDdl; plan: CopyPlan; done: CopyDone[]; record: string }
  | { kind: 'handled'; nested: NestedDdl; record: string }
  | { kind: 'declined'; nested: NestedDdl }
  | Locked;

export interface NestedOptions {
  how: 'copy' | 'handled';
  yes: boolean;
  reason?: string;
  /** Shows the DDL (and, to copy, what would run where) and asks; resolves true to go on. Without it, --yes is required. */
  confirm?: (nested: NestedDdl, plan?: CopyPlan) => Promise<boolean>;
  log: Logger;
  now?: () => Date;
  /** The pg_dump program. */
  pgDump?: string;
}

/** The nested DDL not handled yet, as the state file keeps it, in log order. */
export function listNested(settings: Settings): NestedDdl[] {
  return new Judge(loadState(settings.stateFile).log?.judge).unhandledNested();
}

/**
 * Deals with the nested DDL at `at`: copies it to the targets, or takes the person's word that it is
 * done; then records the decision and takes it out of the state.
 * @param at `file:offset`, as run, status and `nested` show it
 */
export async function handleNested(settings: Settings, at: string, opts: NestedOptions): Promise<NestedResult> {
  return withRunLock(settings.stateFile, opts.log, async () => {
    const state = loadState(settings.stateFile);
    const judge = new Judge(state.log?.judge);
    const nested = judge.unhandledNested().find((n) => n.at === at);
    if (!nested) {
      const open = judge.unhandledNested();
      throw new UsageError(
        open.length === 0
          ? `the state file ${settings.stateFile} holds no nested DDL left to handle`
          : `no nested DDL left to handle at ${at}; it is at: ${open.map((n) => n.at).join(', ')}`,
      );
    }
    const plan = opts.how === 'copy' ? await copyPlan(settings, state, nested, opts.pgDump) : undefined;
    if (!opts.yes) {
      if (!opts.confirm) throw new UsageError('nested asks before it acts: run it at a terminal, or give --yes');
      if (!(await opts.confirm(nested, plan))) return { kind: 'declined' as const, nested };
    }
    const done = plan ? await copyToTargets(settings, nested, plan) : [];
    const now = (opts.now ?? (() => new Date()))().toISOString();
    const record = {
      handledAt: now,
      handled: plan ? 'copied' : 'by hand',
      ...nested,
      ...(plan && { targets: done, sql: plan.sql, filteredOut: plan.filteredOut }),
      reason: opts.reason ?? null,
      by: os.userInfo().username,
    };
    const file = recordDecisions(settings.stateFile, 'the handled nested DDL', [record]);
    judge.markNestedHandled(at);
    // The copy gave the targets what the DDL made: a later DROP of it must run there, not pass.
    if (plan) judge.forgetNeverGot(madeByNested(nested));
    if (state.log) saveState(settings.stateFile, { ...state, log: { ...state.log, judge: judge.snapshot() } });
    opts.log.warn(plan ? 'nested DDL copied to the targets' : 'nested DDL marked handled by hand', {
      at,
      database: nested.database,
      targets: done.map((d) => `${d.target}:${d.outcome}`).join(',') || undefined,
      reason: opts.reason,
      sql: nested.statement,
    });
    return plan ? { kind: 'copied' as const, nested, plan, done, record: file } : { kind: 'handled' as const, nested, record: file };
  });
}

/**
 * What copying the nested DDL runs, and where; a UsageError saying what cannot be copied (then the
 * person does it by hand and uses --handled).
 */
async function copyPlan(settings: Settings, state: State, nested: NestedDdl, pgDump: string | undefined): Promise<CopyPlan> {
  const byHand = `; do it on the targets by hand, then: pg-ddl-sync nested --at ${nested.at} --handled`;
  const steps = copySteps(nested);
  const cannot = steps.flatMap((s) => (s.kind === 'cannot' ? [s.why] : []));
  if (cannot.length > 0) throw new UsageError(`cannot copy the nested DDL at ${nested.at}: ${cannot.join('; ')}${byHand}`);
  const targets = copyTargets(settings, state, nested);
  if (!settings.source) throw new UsageError(`copying reads the objects from the primary: give --source URL or --data-dir DIR`);
  const dumped = await dumpedSql(settings, nested, steps, pgDump, byHand);
  const drops = steps.flatMap((s) => (s.kind === 'drop' ? [`${s.sql};`] : []));
  return { sql: [...drops, dumped].filter((s) => s !== '').join('\n'), ...targets };
}

/** The configured targets that take the DDL's database, and those that do not; every target the state knows must be given. */
function copyTargets(settings: Settings, state: State, nested: NestedDdl): Pick<CopyPlan, 'targets' | 'filteredOut'> {
  const missing = Object.keys(state.targets).filter((name) => !settings.targets.some((t) => t.name === name));
  if (missing.length > 0) throw new UsageError(`copying must reach every target, and ${missing.join(', ')} is not given (--target NAME=URL, or -c CONFIG)`);
  if (settings.targets.length === 0) throw new UsageError('copying needs the targets: --target NAME=URL, or -c CONFIG');
  const takes = (t: TargetSettings): boolean => databaseIncluded(t.filters, nested.database);
  // The copy is the object as the primary has it now: it fits a target that has taken what the log
  // holds before the nested DDL, not one that would still replay that part of the log after it.
  const behind = settings.targets.filter(takes).flatMap((t) => {
    const stands = standsBefore(state, t.name, nested);
    return stands ? [`${t.name} (it stands at ${stands})`] : [];
  });
  if (behind.length > 0) {
    throw new UsageError(`not every target has reached the nested DDL at ${nested.at}: ${behind.join(', ')}; run pg-ddl-sync run until they have, then copy`);
  }
  return {
    targets: settings.targets.filter(takes).map((t) => ({ target: t.name, database: t.filters.databaseMap[nested.database] ?? nested.database })),
    filteredOut: settings.targets.filter((t) => !takes(t)).map((t) => t.name),
  };
}

/** pg_dump's script of the relations the DDL created, as the primary has them now ('' when none). */
async function dumpedSql(settings: Settings, nested: NestedDdl, steps: CopyStep[], pgDump: string | undefined, byHand: string): Promise<string> {
  const wanted = steps.flatMap((s) => (s.kind === 'dump' || s.kind === 'withRelation' ? [s] : []));
  if (wanted.length === 0) return '';
  const source = settings.source!;
  const opts = connectOptions(settings);
  const found = await primaryRelations(source, nested.database, opts, wanted.map((s) => s.identity)).catch((err: Error) => {
    throw new UsageError(`cannot read the primary's database ${nested.database}: ${err.message}`);
  });
  const patterns = new Set<string>();
  for (const s of wanted.filter((w) => w.kind === 'dump')) {
    const rel = found.find((r) => r.identity === s.identity);
    if (!rel) {
      // Dropped since by a logged statement (which a target then stops at, the object not being there),
      // or renamed: either way what to copy is not known.
      throw new UsageError(
        `cannot copy the nested DDL at ${nested.at}: ${s.type} ${s.identity} no longer exists on the primary (dropped or renamed since), so there is nothing to copy; ` +
          `if a later statement dropped it, mark it handled (pg-ddl-sync nested --at ${nested.at} --handled): a target passes a logged DROP of only such objects by itself`,
      );
    }
    patterns.add(dumpPattern(rel.schema, rel.name));
  }
  for (const s of wanted.filter((w) => w.kind === 'withRelation')) {
    const rel = found.find((r) => r.identity === s.identity);
    if (!rel || !patterns.has(dumpPattern(rel.dumpedWith.schema, rel.dumpedWith.name))) {
      throw new UsageError(`cannot copy the nested DDL at ${nested.at}: ${s.type} ${s.identity} is not part of a relation it created${byHand}`);
    }
  }
  const text = await dumpRelations(source, nested.database, opts, [...patterns], pgDump).catch((err: Error) => {
    throw new UsageError(`cannot read the definitions from the primary: ${err.message}`);
  });
  const sql = dumpSql(text);
  if ('problem' in sql) throw new UsageError(`cannot copy the nested DDL at ${nested.at}: ${sql.problem}${byHand}`);
  return sql.sql;
}

/**
 * Runs the copy on each target, in one transaction with its ledger row: keyed by the capture
 * record's place in the log, so a copy that committed on a target is never run there again (a copy
 * that stopped at a later target is simply given again).
 */
async function copyToTargets(settings: Settings, nested: NestedDdl, plan: CopyPlan): Promise<CopyDone[]> {
  const cut = nested.at.lastIndexOf(':');
  const logFile = nested.at.slice(0, cut);
  const key = { source: settings.sourceName, fileKey: nested.fileKey, offset: Number(nested.at.slice(cut + 1)) };
  const shown = `-- nested DDL at ${nested.at} ("${nested.statement}"), copied from the primary\n${plan.sql}`;
  const done: CopyDone[] = [];
  for (const { target, database } of plan.targets) {
    const spec = settings.targets.find((t) => t.name === target)!;
    const outcome = await withLedger(spec, database, connectOptions(settings), (client) => copyOnce(client, target, database, key, logFile, shown, plan.sql));
    done.push({ target, database, outcome });
  }
  return done;
}

async function copyOnce(client: Client, target: string, database: string, key: Parameters<typeof claimEntry>[1], logFile: string, shown: string, sql: string): Promise<CopyDone['outcome']> {
  try {
    await client.query('BEGIN');
    if (!(await claimEntry(client, key, logFile, 'done', shown))) {
      await client.query('ROLLBACK');
      return 'already';
    }
    // pg_dump's script sets its own search_path; it runs as the sync user and gives each object
    // to its owner on the primary (its ALTER … OWNER TO).
    await client.query(sql);
    await client.query('COMMIT');
    return 'copied';
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw new TargetError(target, `database ${database}: the copy failed and was rolled back: ${(err as Error).message}`);
  }
}

/**
 * Where a target stands when that is before the nested DDL's place in the log (its next journal
 * entry was logged before it); undefined once it has taken everything before it.
 */
function standsBefore(state: State, name: string, nested: NestedDdl): string | undefined {
  const next = state.targets[name]?.next;
  const entry = next === undefined ? state.journal.entries[0] : state.journal.entries.find((e) => e.seq === next);
  if (!entry) return undefined;
  const offset = Number(nested.at.slice(nested.at.lastIndexOf(':') + 1));
  const before = entry.file.key === nested.fileKey ? entry.offset < offset : entry.logTime < nested.logTime;
  return before ? `${entry.file.name}:${entry.offset}` : undefined;
}
