/**
 * What a read of the log tells the DBA, in the tool's own log: statements waiting for their
 * transaction, statements a crash left undecided (they may have committed), DDL that names the
 * ledger's schema (never sent), what the log cannot show under `log_statement = 'ddl'`, and DDL left
 * out by its role that no pg-ddl-sync sent.
 */
import { EchoFilter, whyLeftOut } from '../core/echo';
import { Judge, UnitSpec } from '../core/judge';
import { LEDGER_SCHEMA } from '../core/ledgerSchema';
import { Logger } from '../io/logger';
import { UnitTexts } from '../io/unitText';
import { Settings } from '../io/settings';
import { Plan } from './read';
import { Listing, head } from './apply';
import type { RunNotices } from './pass';
import { duration, oldestHeldBack } from '../core/heldBack';
import { nestedLines } from '../core/captureUse';

function sqlOf(texts: UnitTexts, unit: UnitSpec): string {
  const text = texts.get(unit);
  return text.kind === 'ok' ? head(text.text.shown) : '';
}

/** A statement a crash of the primary left undecided, as run, status and resolve show it. */
export interface UnknownOutcome {
  /** `file:offset` of its record: what `resolve --at` takes. */
  at: string;
  database: string;
  role: string;
  session: string;
  vxid: string;
  loggedAt: string;
  /** The log_time of the crash (or restart) that left it so. */
  crashedAt: string;
  /** Redacted, the first line; '' when its file is gone. */
  sql: string;
}

/** The statements whose outcome a crash left unknown, in log order. */
export function unknownOutcomes(judge: Judge, texts: UnitTexts): UnknownOutcome[] {
  return judge.unknown().map(({ unit, vxid, crashedAt }) => ({
    at: `${unit.file.name}:${unit.offset}`,
    database: unit.database,
    role: unit.user,
    session: unit.sessionId,
    vxid,
    loggedAt: unit.logTime,
    crashedAt,
    sql: sqlOf(texts, unit),
  }));
}

export function reportPlan(plan: Plan, texts: UnitTexts, log: Logger): void {
  const { judge } = plan;
  for (const u of unknownOutcomes(judge, texts)) {
    log.error("outcome unknown after the primary's crash: not sent, and later statements wait behind it until resolved", {
      at: u.at,
      database: u.database,
      role: u.role,
      session: u.session,
      vxid: u.vxid,
      crashed_at: u.crashedAt,
      sql: u.sql,
    });
  }
  for (const { file, offset, database, tag } of judge.ledgerSchemaDrops.splice(0)) {
    log.warn(`not sent: this ${tag} names schema ${LEDGER_SCHEMA}, where pg-ddl-sync keeps its ledger on every target`, {
      database,
      at: `${file.name}:${offset}`,
    });
  }
  for (const { file, offset, database, tag } of judge.instanceDrops.splice(0)) {
    log.info(`not sent: ${tag} acts on the server instance, not on a schema (--send-instance-commands sends it)`, {
      database,
      at: `${file.name}:${offset}`,
    });
  }
  const waiting = judge.waiting();
  const blocking = waiting.filter((w) => w.blocking);
  const first = blocking[0] ?? waiting[0];
  if (first) {
    log.info('waiting for transactions still open on the primary (or whose end is not logged yet)', {
      count: waiting.length,
      held_back: blocking.length,
      first: `${first.unit.file.name}:${first.unit.offset}`,
      session: first.unit.sessionId,
      vxid: first.vxid,
      sql: sqlOf(texts, first.unit),
    });
  }
  const { counts } = judge;
  if (counts.inExplicitBlock > 0) {
    log.warn('DDL logged inside explicit transaction blocks: under log_statement = ddl their ROLLBACK is not logged', {
      count: counts.inExplicitBlock,
    });
  }
  if (counts.recoveredUnseen > 0) {
    log.warn('blocks went on after an error (a ROLLBACK TO SAVEPOINT that log_statement = ddl does not log): what the savepoint undid besides the failed statement cannot be seen', {
      count: counts.recoveredUnseen,
    });
  }
  if (counts.temporary > 0) log.info('statements on temporary objects, not sent', { count: counts.temporary });
  if (counts.unparsed > 0) log.debug('statements the parser did not read, read by their leading words', { count: counts.unparsed });
}

/**
 * DDL that a sync role or an ignored role ran and that no pg-ddl-sync sent: left out like the tools'
 * own, it reaches no other instance. Said at warn, once a role a run, since by default the role the
 * tool connects as is left out, and a sync user that DBAs or applications share loses their DDL.
 * @param strays DDL statements left out, by role, that no pg-ddl-sync sent (EchoFilter.strays)
 * @returns the lines logged, for the run to say on stderr too
 */
export function reportStrays(strays: EchoFilter['strays'], settings: Pick<Settings, 'syncUsers'>, log: Logger): string[] {
  const lines: string[] = [];
  for (const [role, count] of strays) {
    const line = `left out ${count} DDL statement(s) that role ${role} ran, which no pg-ddl-sync sent: they are never propagated (${whyLeftOut(role, settings.syncUsers)})`;
    log.warn(line);
    lines.push(line);
  }
  return lines;
}

/** What a pass tells of what the judge decided, besides its log: lines for stderr, exit reasons. */
export interface Judged {
  notices: RunNotices;
  /** Statements a crash left undecided: the run says so each time (exit 1) until a person resolves them. */
  unknown: UnknownOutcome[];
  /** Where the statements sent without proof are (see unjudgedWarnings), for the dry run's listing. */
  unjudgedAt: Set<string>;
}

/** Everything a pass reports of its plan: the log lines, and what the person who runs it is told. */
export function tellJudged(plan: Plan, texts: UnitTexts, settings: Settings, echo: EchoFilter, log: Logger, now: Date): Judged {
  const unjudged = unjudgedWarnings(plan, texts);
  for (const line of unjudged.lines) log.warn(line);
  reportPlan(plan, texts, log);
  const nested = nestedNotices(plan, log);
  const unknown = unknownOutcomes(plan.judge, texts);
  const notices: RunNotices = {
    warnings: [...(plan.sourceProblem ? [sourceWarning(plan.sourceProblem)] : []), ...reportStrays(echo.strays, settings, log), ...unjudged.lines, ...nested.lines],
    heldBack: heldBackLine(plan, texts, settings, now),
    nested: nested.exitLine,
  };
  if (notices.heldBack) log.error(notices.heldBack);
  return { notices, unknown, unjudgedAt: unjudged.at };
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
export function markUnjudged(listings: Listing[], at: ReadonlySet<string>): Listing[] {
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

