/**
 * Target servers and the connections to them, following libpq's conventions: a URI, `PG*`
 * environment variables for what it leaves out, passwords from the URI, `PGPASSWORD`, or
 * `.pgpass`/`PGPASSFILE`.
 */
import * as os from 'node:os';
import { parse as parseUri } from 'pg-connection-string';
import type { Client, ClientConfig, QueryConfig } from 'pg';
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
  /**
   * Leave the session's search_path as the target sets it (the server's, database's or role's
   * default): for a connection that also runs the primary's DDL, which must resolve its names as it
   * would there. Every other connection pins it (see PINNED_SEARCH_PATH).
   */
  keepSearchPath?: boolean;
}

/**
 * The search_path of the tool's own sessions. Names of functions, operators and types that a query
 * leaves unqualified are looked up along search_path, and a role that can create in a schema on it
 * (public, or its own "$user") could otherwise put there a function that wins the lookup and runs as
 * the sync user. pg_catalog first: only a superuser creates there; pg_temp last, and it is the
 * session's own, never searched for functions or operators.
 */
export const PINNED_SEARCH_PATH = 'pg_catalog,pg_temp';

/**
 * How much longer than the statement timeout the tool waits for a server's answer. The server cuts a
 * statement off itself and says so; a server that says nothing past this (a session that stopped, a
 * host that went) is given up on.
 */
const ANSWER_GRACE_MS = 5000;

/** The longest a Node timer counts; a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * How long the tool waits for the answer to a query of `statements` statements (0: as long as it
 * takes, as with no statement timeout). The server times each statement of a query on its own.
 * @param opts the connection's options (its statement timeout)
 * @param statements how many statements the query holds that may each run the whole statement timeout
 */
export function answerTimeoutMs(opts: ConnectOptions, statements = 1): number {
  if (!opts.statementTimeoutMs) return 0;
  return Math.min(MAX_TIMER_MS, opts.statementTimeoutMs * Math.max(1, statements) + ANSWER_GRACE_MS);
}

/**
 * A query of several statements, given as long for its answer as they may take together.
 * @param statements how many of its statements may each run the whole statement timeout
 */
export function queryOf(text: string, opts: ConnectOptions, statements: number): QueryConfig & { query_timeout?: number } {
  // pg reads query_timeout from a query's config too; its types leave it out.
  return { text, query_timeout: answerTimeoutMs(opts, statements) || undefined };
}

/**
 * Makes the server check, while a statement runs, that the client is still there (PostgreSQL 14 and
 * later, on platforms that can tell): the session of a run killed mid-statement ends within seconds,
 * letting go of its ledger rows, not when the statement would have. Older servers and other
 * platforms refuse the setting, which then is simply not made.
 */
export const WATCH_CLIENT = `DO $pgds$ BEGIN PERFORM pg_catalog.set_config('client_connection_check_interval', '2000', false); EXCEPTION WHEN OTHERS THEN NULL; END $pgds$`;

/** The error a query gets when the server did not answer within answerTimeoutMs (pg's query_timeout). */
export function isNoAnswer(err: unknown): boolean {
  return (err as Error | undefined)?.message === 'Query read timeout';
}

/**
 * Session settings of every connection of the tool's. A session left idle in a transaction (its run
 * killed, or stopped, between two queries) ends within this, letting go of the ledger rows it holds.
 * The server's TCP keepalives notice a client host that is gone in some 25 s (10 s idle, then 3
 * probes 5 s apart), where the system's defaults take over two hours.
 */
const SESSION_LIMITS = [
  '-c idle_in_transaction_session_timeout=60000',
  '-c tcp_keepalives_idle=10',
  '-c tcp_keepalives_interval=5',
  '-c tcp_keepalives_count=3',
];

/** The database a URI names, or PGDATABASE, as libpq reads them; undefined when neither does. */
export function namedDatabase(spec: TargetSpec): string | undefined {
  return parseUri(spec.url).database || process.env.PGDATABASE || undefined;
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
    ...SESSION_LIMITS,
    // After the URI's options too, so that no URI can undo it.
    ...(opts.keepSearchPath ? [] : [`-c search_path=${PINNED_SEARCH_PATH}`]),
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
    // The client's own bound: a server that stops answering (a stopped session, a host gone without a
    // word) cannot hold a run for longer than its statements may take. Node sets only the idle time
    // of the client's keepalives, not how often or how many times they probe: this bound is the one
    // that counts.
    query_timeout: answerTimeoutMs(opts) || undefined,
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
  dropOnNoAnswer(client);
  try {
    await client.connect();
  } catch (err) {
    // pg leaves the socket of a failed login open (a password it could not find fails before the
    // client answers the server's challenge): the server would hold it, and the process, until its
    // authentication_timeout.
    await disconnect(client);
    throw err;
  }
  return client;
}

/**
 * pg's query_timeout answers the caller but leaves the query on the wire: every query after it (a
 * ROLLBACK, a RESET) would wait behind it for as long again. A query with no answer in time ends the
 * connection (pg drops the socket of a client with a query under way), so the queries after it fail at
 * once.
 */
function dropOnNoAnswer(client: Client): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as { query: unknown }).query = (...args: unknown[]): unknown => {
    const res = query(...args);
    if (res instanceof Promise) {
      res.catch((err: unknown) => {
        if (isNoAnswer(err)) client.end().catch(() => undefined);
      });
    }
    return res;
  };
}

/** How long a connection's goodbye may take before its socket is dropped. */
const END_WAIT_MS = 2000;

/**
 * Ends a connection; one whose server does not close its end (a stopped session) is dropped after a
 * moment rather than waited for.
 */
export async function disconnect(client: Client): Promise<void> {
  const timer = setTimeout(() => client.connection.stream.destroy(), END_WAIT_MS);
  try {
    await client.end();
  } catch {
    // Gone already.
  } finally {
    clearTimeout(timer);
  }
}
