/**
 * Target servers and the connections to them, following libpq's conventions: a URI, `PG*`
 * environment variables for what it leaves out, passwords from the URI, `PGPASSWORD`, or
 * `.pgpass`/`PGPASSFILE`.
 */
import * as os from 'node:os';
import { parse as parseUri } from 'pg-connection-string';
import type { Client, ClientConfig } from 'pg';
import { APPLICATION_NAME } from '../core/echo';
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
}

/** The client settings to reach `database` on a target (the URI's own database is only a default). */
export function clientConfig(spec: TargetSpec, database: string | undefined, opts: ConnectOptions): ClientConfig {
  const parts = parseUri(spec.url);
  const nonEmpty = (v: string | null | undefined): string | undefined => (v ? v : undefined);
  const host = nonEmpty(parts.host) ?? process.env.PGHOST ?? 'localhost';
  const port = Number(nonEmpty(parts.port) ?? process.env.PGPORT ?? 5432);
  const user = connectionUser(spec);
  const db = database ?? nonEmpty(parts.database) ?? process.env.PGDATABASE ?? user;
  const uriPassword = nonEmpty(parts.password);
  // As options, not pg's lock_timeout and statement_timeout, which it leaves out when 0: the server's
  // own setting would apply instead of no limit. After the URI's options, so they win, as pg's do.
  const limits = [
    ...(opts.lockTimeoutMs !== undefined ? [`-c lock_timeout=${Math.round(opts.lockTimeoutMs)}`] : []),
    ...(opts.statementTimeoutMs !== undefined ? [`-c statement_timeout=${Math.round(opts.statementTimeoutMs)}`] : []),
  ];
  return {
    host,
    port,
    user,
    database: db,
    ssl: parts.ssl as ClientConfig['ssl'],
    options: nonEmpty([nonEmpty(parts.options), ...limits].filter(Boolean).join(' ')),
    application_name: APPLICATION_NAME,
    connectionTimeoutMillis: opts.connectTimeoutMs,
    // A host that vanishes mid-statement is noticed instead of hanging a cron run.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    // pg treats undefined as "no password"; the types say string, so the cast is the honest one.
    password: (async () => uriPassword ?? process.env.PGPASSWORD ?? (await pgpassPassword(host, port, db, user))) as () => Promise<string>,
  };
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

/** Looks the password up in .pgpass (or PGPASSFILE) as libpq does; a socket host matches "localhost". */
async function pgpassPassword(host: string, port: number, database: string, user: string): Promise<string | undefined> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pgpass = require('pgpass') as (info: object, cb: (pass: string | undefined) => void) => void;
  const lookupHost = host.startsWith('/') ? 'localhost' : host;
  return new Promise((resolve) => pgpass({ host: lookupHost, port, database, user }, resolve));
}

/** Opens a connection to one database of a target. */
export async function connect(spec: TargetSpec, database: string | undefined, opts: ConnectOptions): Promise<Client> {
  const { Client: PgClient } = await import('pg');
  const client = new PgClient(clientConfig(spec, database, opts));
  // A connection that dies between queries must not crash the process; the next query reports it.
  client.on('error', () => undefined);
  await client.connect();
  return client;
}
