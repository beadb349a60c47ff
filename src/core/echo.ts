/**
 * What a pg-ddl-sync applied on an instance shows in that instance's log like any other DDL. Sent on,
 * it would come back: instances that sync each other (a mesh) would echo each other's statements
 * forever. Two marks tell the tools' statements:
 *
 * - the application_name the tool sets on every connection, which the csvlog keeps with each
 *   statement: it names the statements of any pg-ddl-sync, whatever role it connects as. It is the
 *   only mark by default, so a DBA who runs DDL as the very role the tool connects as (one superuser
 *   for everything, a common set-up) loses none of it. Any session may set that name; one that does
 *   hides its own DDL from the tool, and nothing else: it cannot make the tool send what it did not
 *   run, nor hide another session's statements;
 * - the role, when asked for (--ignore-sync-users, --ignore-user): the csvlog's user_name is the role
 *   a session logged in as (SET ROLE changes it not), so every statement a tool ran names the role it
 *   connects as. A mesh whose tools have a role of their own may leave those roles out too.
 *
 * A role left out for the second reason loses every DDL statement it runs, the tool's or not: what no
 * pg-ddl-sync sent under it (a DBA's, an application's) is counted, so that runs and `check` say so.
 */
import type { StatementRecord } from './logRecord';

/** The application_name of every connection the tool makes. */
export const APPLICATION_NAME = 'pg-ddl-sync';

/** The columns of a statement record that tell whose it was. */
export type Whose = Pick<StatementRecord, 'userName' | 'applicationName'>;

/**
 * Tells a statement never to send. The judge asks it once for each statement that holds DDL
 * (JudgeOptions.isOwn), so what it counts are DDL statements.
 */
export interface EchoFilter {
  (r: Whose): boolean;
  /** DDL statements left out by their role although no pg-ddl-sync sent them, by role. */
  readonly strays: ReadonlyMap<string, number>;
}

/**
 * A statement never to send on: one a pg-ddl-sync ran, or one an ignored role ran.
 * @param ignoredRoles roles whose statements are never sent: the sync roles and those given to ignore
 */
export function echoFilter(ignoredRoles: readonly string[]): EchoFilter {
  const users = new Set(ignoredRoles);
  const strays = new Map<string, number>();
  const filter = (r: Whose): boolean => {
    const echo = echoOf(r, users, users);
    if (echo === 'stray') strays.set(r.userName, (strays.get(r.userName) ?? 0) + 1);
    return echo !== 'sent';
  };
  return Object.assign(filter, { strays: strays as ReadonlyMap<string, number> });
}

/** Why a statement of a log is or is not left out, as `check` tells it. */
export type Echo =
  /** A pg-ddl-sync's, under a role it is known by: left out, as it must be. */
  | 'tool'
  /** An ignored role's, that no pg-ddl-sync sent: left out, and never propagated. */
  | 'stray'
  /** Marked as a pg-ddl-sync's, under a role neither connected as nor ignored: left out by its mark alone. */
  | 'unknown-tool'
  /** Anyone else's: sent. */
  | 'sent';

/**
 * How a statement's DDL is dealt with, and whether its mark agrees with its role.
 * @param r the statement's record
 * @param ignoredRoles the roles left out (sync roles, when ignored, and those given)
 * @param knownRoles the roles a pg-ddl-sync is expected to run as: the sync roles and those given
 */
export function echoOf(r: Whose, ignoredRoles: ReadonlySet<string>, knownRoles: ReadonlySet<string>): Echo {
  const tool = r.applicationName === APPLICATION_NAME;
  if (ignoredRoles.has(r.userName)) return tool ? 'tool' : 'stray';
  if (!tool) return 'sent';
  return knownRoles.has(r.userName) ? 'tool' : 'unknown-tool';
}

/**
 * Why a role's statements are left out, and what to do about a person's DDL under it, for messages.
 * @param role the role
 * @param syncRoles the roles the tool connects to its targets as
 */
export function whyLeftOut(role: string, syncRoles: readonly string[]): string {
  return syncRoles.includes(role)
    ? `${role} is a role this tool connects as: give the tool a role of its own, see README`
    : `${role} is given with --ignore-user: give whoever else runs DDL as ${role} a role of their own, see README`;
}
