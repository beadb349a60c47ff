/**
 * Target servers as libpq names them: a URI, `PG*` environment variables for what it leaves out.
 * How the tool connects to them is in connect.ts.
 */
import * as os from 'node:os';
import { parse as parseUri } from 'pg-connection-string';
import { maskInString } from '../core/redact';
import { UsageError } from '../errors';

export interface TargetSpec {
  name: string;
  url: string;
}


/**
 * Parses `[NAME=]URL`.
 * @param arg a --target value or a config entry
 */
export function parseTarget(arg: string): TargetSpec {
  const named = /^([^=:/]+)=(postgres(?:ql)?:\/\/.*)$/.exec(arg);
  const url = named ? named[2] : arg;
  // The argument may hold a password: it never shows in a message.
  const shown = maskInString(arg);
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new UsageError(`target "${shown}": expected [NAME=]postgresql://[user@]host[:port][/database]`);
  }
  let parts: ReturnType<typeof parseUri>;
  try {
    parts = parseUri(url);
  } catch (err) {
    throw new UsageError(`target "${shown}": ${maskInString((err as Error).message)}`);
  }
  const host = parts.host || process.env.PGHOST || 'localhost';
  const port = parts.port || process.env.PGPORT || '5432';
  return { name: named ? named[1] : `${host}:${port}`, url };
}

export interface ConnectOptions {
  connectTimeoutMs: number;
  /**
   * Session limits for what the tool runs on a target: how long a statement may wait for a lock, and
   * run (0: no limit). A replayed ALTER TABLE then never stalls a busy target's other sessions for
   * longer than the lock timeout; it fails and is retried next run.
   */
  lockTimeoutMs?: number;
  statementTimeoutMs?: number;
  /**
   * Leave the session's search_path as the target sets it (the server's, database's or role's
   * default): for a connection that also runs the primary's DDL, which must resolve its names as it
   * would there. Every other connection pins it (see PINNED_SEARCH_PATH).
   */
  keepSearchPath?: boolean;
}

/** The database a URI names, or PGDATABASE, as libpq reads them; undefined when neither does. */
export function namedDatabase(spec: TargetSpec): string | undefined {
  return parseUri(spec.url).database || process.env.PGDATABASE || undefined;
}

/**
 * The role a connection to a target logs in as, as libpq picks it: the URI's user, else PGUSER, else
 * the name of the OS user the process runs as.
 * @param spec the target
 */
export function connectionUser(spec: TargetSpec): string {
  return uriUser(spec.url) || process.env.PGUSER || osUser();
}

/** The role a libpq URI names, if it names one. */
export function uriUser(url: string): string | undefined {
  return parseUri(url).user || undefined;
}

function osUser(): string {
  try {
    // libpq takes the effective user's name from the password database, not from $USER.
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? process.env.LOGNAME ?? 'postgres';
  }
}
