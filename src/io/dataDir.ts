/**
 * What a primary's data directory tells (`--data-dir`): its settings, as postgresql.conf and
 * postgresql.auto.conf set them; the csvlog file it writes (`current_logfiles`); and, while it runs,
 * its port and socket directory (`postmaster.pid`). So the least config is a data directory and the
 * targets.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfLine, parseConf } from '../core/pgConf';
import { UsageError } from '../errors';

export interface DataDirFacts {
  dir: string;
  /** Settings from the configuration files, later files and lines winning; names lower-case. */
  settings: Record<string, string>;
  /** Where each setting was set: `file:line`. */
  setAt: Record<string, string>;
  /** The csvlog directory: that of the file being written, else `log_directory`. */
  csvlogDir: string;
  /** The running server's socket directory and port, when it runs. */
  socket?: { dir: string; port: number };
}

/** Reads a data directory; one that is not a PostgreSQL data directory is a usage error. */
export function readDataDir(dir: string): DataDirFacts {
  const abs = path.resolve(dir);
  const main = path.join(abs, 'postgresql.conf');
  try {
    fs.accessSync(path.join(abs, 'PG_VERSION'), fs.constants.R_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // initdb makes the data directory 0700: a user outside the server's OS user cannot even look in.
    if (code === 'EACCES') {
      throw new UsageError(`--data-dir ${abs}: permission denied (EACCES) to this user; see README "Reading the primary's log" for the group access it needs`);
    }
    if (code === 'ENOENT') throw new UsageError(`--data-dir ${abs}: not a PostgreSQL data directory (no PG_VERSION)`);
    throw new UsageError(`--data-dir ${abs}: ${(err as Error).message}`);
  }
  const settings: Record<string, string> = {};
  const setAt: Record<string, string> = {};
  // Debian keeps postgresql.conf in /etc; the data directory then has none, and only auto.conf counts.
  for (const file of [main, path.join(abs, 'postgresql.auto.conf')]) readConf(file, settings, setAt, 0);
  return { dir: abs, settings, setAt, csvlogDir: csvlogDir(abs, settings), socket: socketOf(abs) };
}

function readConf(file: string, settings: Record<string, string>, setAt: Record<string, string>, depth: number): void {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return;
  }
  for (const line of parseConf(text) as ConfLine[]) {
    if (line.kind === 'setting') {
      settings[line.name] = line.value;
      setAt[line.name] = `${file}:${line.line}`;
    } else if (depth < 10) {
      const target = path.resolve(path.dirname(file), line.path);
      if (line.how === 'include_dir') {
        const names = fs.existsSync(target) ? fs.readdirSync(target).filter((n) => n.endsWith('.conf')).sort() : [];
        for (const n of names) readConf(path.join(target, n), settings, setAt, depth + 1);
      } else {
        readConf(target, settings, setAt, depth + 1);
      }
    }
  }
}

function csvlogDir(dir: string, settings: Record<string, string>): string {
  try {
    const current = fs.readFileSync(path.join(dir, 'current_logfiles'), 'utf8');
    const csv = /^csvlog (.+)$/m.exec(current);
    if (csv) return path.dirname(path.resolve(dir, csv[1].trim()));
  } catch {
    // Not running, or not logging through the collector: the configured directory.
  }
  return path.resolve(dir, settings.log_directory ?? 'log');
}

/** postmaster.pid: line 4 is the port, line 5 the socket directory (empty when none). */
function socketOf(dir: string): DataDirFacts['socket'] {
  try {
    const lines = fs.readFileSync(path.join(dir, 'postmaster.pid'), 'utf8').split('\n');
    const port = Number(lines[3]);
    const socketDir = lines[4]?.trim();
    if (!Number.isInteger(port) || !socketDir) return undefined;
    return { dir: socketDir, port };
  } catch {
    return undefined;
  }
}

/**
 * A libpq URI for the server through its socket, as a role:
 * `postgresql://postgres@%2Fvar%2Frun%2Fpostgresql:5432/postgres`.
 */
export function socketUri(socket: NonNullable<DataDirFacts['socket']>, user: string): string {
  return `postgresql://${encodeURIComponent(user)}@${encodeURIComponent(socket.dir)}:${socket.port}/postgres`;
}

/** Where the role to ask the primary as comes from, in the order tried (see socketUser). */
export interface SocketUserHints {
  /** PGUSER, as libpq reads it. */
  pgUser?: string;
  /** The OS user this process runs as. */
  osUser?: string;
  /** The roles named in the targets' URIs. */
  targetUsers: string[];
  /** The name of the OS user owning the data directory. */
  dataDirOwner?: string;
}

/**
 * The role to ask the primary as through its socket, when no --source names one. libpq's rules
 * first: PGUSER, else the OS user's name, except root's: PostgreSQL refuses to run as root, so no
 * instance's own user is root, and cron often runs as root. Then the role the targets are reached as,
 * where their URIs name it (one role throughout is the common set-up); then the data directory's
 * owner, whose name initdb gives the bootstrap superuser unless told otherwise.
 */
export function socketUser(hints: SocketUserHints): string {
  if (hints.pgUser) return hints.pgUser;
  if (hints.osUser && hints.osUser !== 'root') return hints.osUser;
  return hints.targetUsers[0] ?? hints.dataDirOwner ?? 'postgres';
}

/** The name of the OS user owning a file, from /etc/passwd; undefined when it cannot be told. */
export function ownerName(file: string, passwd = '/etc/passwd'): string | undefined {
  try {
    const uid = fs.statSync(file).uid;
    const line = fs.readFileSync(passwd, 'utf8').split('\n').find((l) => l.split(':')[2] === String(uid));
    return line?.split(':')[0] || undefined;
  } catch {
    return undefined;
  }
}
