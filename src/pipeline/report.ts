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
import { head } from './apply';

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
