/**
 * What a pg-ddl-sync applied on an instance shows in that instance's log like any other DDL. Sent on,
 * it would come back: instances that sync each other (a mesh) would echo each other's statements
 * forever. So the statements the tool ran are known by the application_name it sets on every
 * connection, which the csvlog keeps with each statement whatever role the statement ran as (SET ROLE
 * changes neither that nor the record's user_name, the role the session logged in as).
 */
import type { RawRecord } from './csvRecord';
import { COL, StatementRecord } from './logRecord';

/** The application_name of every connection the tool makes. */
export const APPLICATION_NAME = 'pg-ddl-sync';

/** Tells a statement never to send on, from the record or from its bytes before it is decoded. */
export interface EchoFilter {
  record(r: Pick<StatementRecord, 'userName' | 'applicationName'>): boolean;
  raw(raw: RawRecord): boolean;
}

/**
 * A statement never to send on: one a pg-ddl-sync ran, or one run by a role given to ignore (another
 * tool's, or the sync role where a pooler drops application_name).
 */
export function echoFilter(ignoreUsers: readonly string[]): EchoFilter {
  const users = new Set(ignoreUsers);
  // As csvlog writes them: quoted, quotes doubled.
  const quoted = (s: string): Buffer => Buffer.from(`"${s.replace(/"/g, '""')}"`);
  const app = quoted(APPLICATION_NAME);
  const userFields = ignoreUsers.map(quoted);
  return {
    record: (r) => r.applicationName === APPLICATION_NAME || users.has(r.userName),
    raw: ({ buf, fields }) => {
      if (fieldIs(buf, fields, COL.applicationName, app)) return true;
      for (const user of userFields) if (fieldIs(buf, fields, COL.userName, user)) return true;
      return false;
    },
  };
}

function fieldIs(buf: Buffer, fields: Int32Array, col: number, bytes: Buffer): boolean {
  const s = fields[2 * col];
  return fields[2 * col + 1] - s === bytes.length && buf.compare(bytes, 0, bytes.length, s, s + bytes.length) === 0;
}
