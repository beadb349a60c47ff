/**
 * The one door to a server: every connection of the tool's is opened here, with the session it always
 * gets (search_path pinned, timeouts, keepalives, application_name), following libpq's conventions for
 * passwords (the URI, `PGPASSWORD`, or `.pgpass`/`PGPASSFILE`), and ended on every path, a failed
 * login or set-up included.
 */
import type { Client, ClientConfig, QueryConfig } from 'pg';
import { parse as parseUri } from 'pg-connection-string';
import { APPLICATION_NAME } from '../core/echo';
import { ConnectOptions, TargetSpec, connectionUser } from './target';

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

/** Looks the password up in .pgpass (or PGPASSFILE) as libpq does; a socket host matches "localhost". */
async function pgpassPassword(host: string, port: number, database: string, user: string): Promise<string | undefined> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pgpass = require('pgpass') as (info: object, cb: (pass: string | undefined) => void) => void;
  const lookupHost = host.startsWith('/') ? 'localhost' : host;
  return new Promise((resolve) => pgpass({ host: lookupHost, port, database, user }, resolve));
}

/** How a connection is opened: openClient, or a test's own. */
export type Opener = (spec: TargetSpec, database: string | undefined, opts: ConnectOptions) => Promise<Client>;

/**
 * Opens a connection to one database of a target and readies it with `setup`: the first queries its
 * caller needs made before anyone uses it. Whatever fails on the way (the login, the set-up), the
 * connection is ended before the error is thrown: pg leaves the socket of a failed login open (a
 * password it could not find fails before the client answers the server's challenge), and the server
 * would hold it, and the process, until its authentication_timeout.
 * @param setup readies the connection; what it returns is the caller's, the connection with it
 */
export async function openSession<T>(spec: TargetSpec, database: string | undefined, opts: ConnectOptions, setup: (client: Client) => Promise<T>): Promise<T> {
  const { Client: PgClient } = await import('pg');
  const client = new PgClient(clientConfig(spec, database, opts));
  // A connection that dies between queries must not crash the process; the next query reports it.
  client.on('error', () => undefined);
  dropOnNoAnswer(client);
  try {
    await client.connect();
    return await setup(client);
  } catch (err) {
    await disconnect(client);
    throw err;
  }
}

/** Opens a connection to one database of a target; its caller ends it (disconnect). */
export const openClient: Opener = (spec, database, opts) => openSession(spec, database, opts, async (client) => client);

/**
 * Runs `fn` on a new connection to one database of a target, and ends the connection however fn ends.
 * A failure to connect is thrown as pg threw it.
 * @param open how the connection is opened (default: openClient)
 */
export async function withClient<T>(
  spec: TargetSpec,
  database: string | undefined,
  opts: ConnectOptions,
  fn: (client: Client) => Promise<T>,
  open: Opener = openClient,
): Promise<T> {
  const client = await open(spec, database, opts);
  try {
    return await fn(client);
  } finally {
    await disconnect(client);
  }
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
