/**
 * What a pg-ddl-sync applied on an instance shows in that instance's log like any other DDL. Sent on,
 * it would come back: instances that sync each other (a mesh) would echo each other's statements
 * forever. So the statements the tool ran are known by the application_name it sets on every
 * connection, which the csvlog keeps with each statement whatever role the statement ran as (SET ROLE
 * changes neither that nor the record's user_name, the role the session logged in as).
 */
import type { StatementRecord } from './logRecord';

/** The application_name of every connection the tool makes. */
export const APPLICATION_NAME = 'pg-ddl-sync';

/**
 * A statement never to send on: one a pg-ddl-sync ran, or one run by a role given to ignore (another
 * tool's, or the sync role where a pooler drops application_name).
 */
export function echoFilter(ignoreUsers: readonly string[]): (r: Pick<StatementRecord, 'userName' | 'applicationName'>) => boolean {
  const users = new Set(ignoreUsers);
  return (r) => r.applicationName === APPLICATION_NAME || users.has(r.userName);
}
