/**
 * One settings step: command-line flags, the JSON config file and defaults merge into one validated
 * `Settings` before any command runs. A flag beats the file; an unknown key or a bad value is an error
 * naming the key.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UsageError } from './errors';
import { DataDirFacts, ownerName, readDataDir, socketUri, socketUser } from './io/dataDir';
import { LOG_LEVELS, LogFormat, LogLevel } from './io/logger';
import { ConnectOptions, TargetSpec, connectionUser, parseTarget, uriUser } from './io/target';

/** What of the primary's DDL a target takes, and under which database names. */
export interface Filters {
  /** When not empty, only these databases (the primary's names). */
  includeDatabases: string[];
  excludeDatabases: string[];
  /** Command tags (`CREATE ROLE`, `GRANT`), upper case. When `includeCommands` is not empty, only those. */
  includeCommands: string[];
  excludeCommands: string[];
  /** Statements matching any of these are left out. */
  excludeMatching: RegExp[];
  /** A primary database name → the name it has on the target. */
  databaseMap: Record<string, string>;
}

export interface TargetSettings extends TargetSpec {
  filters: Filters;
}

export interface Settings {
  csvlogDir?: string;
  /** The primary's data directory, when given, and what it tells. */
  dataDir?: DataDirFacts;
  targets: TargetSettings[];
  stateFile: string;
  logDir?: string;
  logPrefix: string;
  logLevel: LogLevel;
  logFormat: LogFormat;
  /** A Prometheus text file written after each run (node_exporter's textfile collector). */
  metricsFile?: string;
  /** Names this primary in the targets' ledgers. */
  sourceName: string;
  /** The primary itself, asked about transactions its log leaves undecided. */
  source?: TargetSpec;
  connectTimeoutMs: number;
  /** On targets: how long a statement may wait for a lock (0: as long as it takes), and run. */
  lockTimeoutMs: number;
  statementTimeoutMs: number;
  /** How many more times a statement that timed out on a lock is tried, within a run. */
  lockRetries: number;
  /** Whose role a statement runs as on the targets: the role that ran it on the primary, or the sync user. */
  applyAs: ApplyAs;
  /** Roles given to ignore (--ignore-user): their statements are never sent. */
  ignoreUsers: string[];
  /** The roles the tool connects to its targets as (the sync roles), each once. */
  syncUsers: string[];
  /**
   * Whether the sync roles' statements are never sent either (--ignore-sync-users; off by default: what
   * a DBA runs as the role the tool connects as is sent, and the tool's own are told by their mark).
   */
  ignoreSyncUsers: boolean;
  /**
   * Every role whose statements are never sent: those given, and the sync roles when ignoreSyncUsers
   * is on. (What any pg-ddl-sync ran is never sent, whatever its role: core/echo.)
   */
  ignoredRoles: string[];
  /** How long a statement may be held back, its transaction's end unknown, before a run exits 1. */
  maxHeldBackMs: number;
  /** Send instance-level DDL (ALTER SYSTEM, tablespaces, subscriptions) too; off by default. */
  sendInstanceCommands: boolean;
  /** The tool's own log files of logDir older than this many days are deleted (0: kept). */
  logKeepDays: number;
  /**
   * `run` stays resident and makes a pass every this often, holding the lock (0: one pass, then exit),
   * as the system it replaces kept an execution interval in its config.
   */
  intervalMs: number;
}

export type ApplyAs = 'original' | 'sync';

type FilterKeys = 'includeDatabases' | 'excludeDatabases' | 'includeCommands' | 'excludeCommands' | 'excludeMatching';

/** A target in the config file: a `[NAME=]URL` string, or an object with its own filters. */
export type RawTarget = string | ({ name?: string; url: string; databaseMap?: Record<string, string> } & Partial<Record<FilterKeys, string[]>>);

/** What flags and the config file may set; every key is optional until defaults fill it. */
export interface RawSettings extends Partial<Record<FilterKeys, string[]>> {
  csvlogDir?: string;
  dataDir?: string;
  targets?: RawTarget[];
  stateFile?: string;
  logDir?: string;
  logPrefix?: string;
  logLevel?: string;
  logFormat?: string;
  metricsFile?: string;
  sourceName?: string;
  source?: string;
  connectTimeout?: number | string;
  lockTimeout?: number | string;
  statementTimeout?: number | string;
  lockRetries?: number | string;
  applyAs?: string;
  ignoreUsers?: string[];
  ignoreSyncUsers?: boolean;
  maxHeldBack?: number | string;
  sendInstanceCommands?: boolean;
  logKeepDays?: number | string;
  interval?: number | string;
  databaseMap?: Record<string, string>;
}

type KeyType = 'string' | 'string[]' | 'number' | 'boolean' | 'map' | 'targets';

/** The filters, which a target may have of its own too. */
const FILTER_KEYS: Record<FilterKeys | 'databaseMap', KeyType> = {
  includeDatabases: 'string[]',
  excludeDatabases: 'string[]',
  includeCommands: 'string[]',
  excludeCommands: 'string[]',
  excludeMatching: 'string[]',
  databaseMap: 'map',
};

const CONFIG_KEYS: Record<keyof RawSettings, KeyType> = {
  csvlogDir: 'string',
  dataDir: 'string',
  targets: 'targets',
  stateFile: 'string',
  logDir: 'string',
  logPrefix: 'string',
  logLevel: 'string',
  logFormat: 'string',
  metricsFile: 'string',
  sourceName: 'string',
  source: 'string',
  connectTimeout: 'number',
  lockTimeout: 'number',
  statementTimeout: 'number',
  lockRetries: 'number',
  applyAs: 'string',
  ignoreUsers: 'string[]',
  ignoreSyncUsers: 'boolean',
  maxHeldBack: 'number',
  sendInstanceCommands: 'boolean',
  logKeepDays: 'number',
  interval: 'number',
  ...FILTER_KEYS,
};

const TARGET_KEYS: Record<string, KeyType> = { name: 'string', url: 'string', ...FILTER_KEYS };

const TYPE_NAMES: Record<KeyType, string> = {
  string: 'a string',
  'string[]': 'an array of strings',
  number: 'a number',
  boolean: 'true or false',
  map: 'an object of strings',
  targets: 'an array of "[NAME=]URL" strings or {"url": …} objects',
};

function isType(value: unknown, type: KeyType): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'string[]':
      return Array.isArray(value) && value.every((v) => typeof v === 'string');
    case 'map':
      return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');
    case 'targets':
      return Array.isArray(value) && value.every((v) => typeof v === 'string' || (typeof v === 'object' && v !== null && !Array.isArray(v)));
  }
}

/** Checks an object's keys against a table; names the file and the key path on the first bad one. */
function checkKeys(file: string, prefix: string, data: Record<string, unknown>, keys: Record<string, KeyType>): void {
  for (const [key, value] of Object.entries(data)) {
    if (key.startsWith('//') || key === '$comment') continue;
    const type = keys[key];
    if (!type) throw new UsageError(`config file ${file}: unknown key "${prefix}${key}" (known: ${Object.keys(keys).join(', ')})`);
    if (!isType(value, type)) throw new UsageError(`config file ${file}: key "${prefix}${key}" must be ${TYPE_NAMES[type]}`);
  }
}

/** Reads a JSON config file; its relative paths are taken from the file's own directory. */
export function readConfigFile(file: string): RawSettings {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`config file ${file}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`config file ${file}: not valid JSON (${(err as Error).message})`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new UsageError(`config file ${file}: expected a JSON object`);
  }
  const raw = data as Record<string, unknown>;
  checkKeys(file, '', raw, CONFIG_KEYS);
  ((raw.targets as RawTarget[] | undefined) ?? []).forEach((t, i) => {
    if (typeof t === 'string') return;
    checkKeys(file, `targets[${i}].`, t as Record<string, unknown>, TARGET_KEYS);
    if (typeof t.url !== 'string') throw new UsageError(`config file ${file}: key "targets[${i}].url" is missing`);
  });
  const dir = path.dirname(path.resolve(file));
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) if (!key.startsWith('//') && key !== '$comment') out[key] = value;
  for (const key of ['csvlogDir', 'dataDir', 'stateFile', 'logDir', 'metricsFile'] as const) {
    if (typeof out[key] === 'string') out[key] = path.resolve(dir, out[key] as string);
  }
  return out as RawSettings;
}

/** The most each duration may be, in seconds: beyond it a value is a typo, not a wish. */
const MAX_SECONDS = { connectTimeout: 600, lockTimeout: 3600, statementTimeout: 86400, maxHeldBack: 7 * 86400, interval: 3600 } as const;
const MAX_LOCK_RETRIES = 100;

/** A month of the tool's own daily log files: enough to look back on, not a disk filled over years. */
const DEFAULT_LOG_KEEP_DAYS = 30;

/**
 * A number option, from a flag (a string) or the config file (a number): plain decimal digits only
 * (no exponent, sign, hex or blank, which Number() would take), within [0, max]; a duration that is
 * not 0 is at least a millisecond, since 0 means no limit.
 * @param key the option's settings key, named in the error
 */
function boundedNumber(key: string, raw: string | number | undefined, fallback: number, opts: { max: number; zeroOk: boolean; whole: boolean }): number {
  const what = key.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`);
  const unit = opts.whole ? 'a whole number' : 'a number of seconds';
  const fail = (why: string): never => {
    throw new UsageError(`${what} "${raw}" must be ${why}`);
  };
  if (raw === undefined) return fallback;
  const text = String(raw);
  if (!(opts.whole ? /^\d{1,9}$/ : /^\d{1,9}(\.\d{1,9})?$/).test(text)) fail(`${unit}, written with digits${opts.whole ? '' : ' and a decimal point'} only`);
  const v = Number(text);
  if (v > opts.max) fail(`${unit} of at most ${opts.max}`);
  if (v === 0 && !opts.zeroOk) fail(`${unit} above 0`);
  if (!opts.whole && v > 0 && v < 0.001) fail(`${unit} of at least 0.001 (0: no limit)`);
  return v;
}

/**
 * Merges flags over the config file and fills the defaults.
 * @param flags values given on the command line (undefined where not given)
 * @param file values from the config file, if any
 */
export function resolveSettings(flags: RawSettings, file: RawSettings = {}): Settings {
  const pick = <K extends keyof RawSettings>(k: K): RawSettings[K] => (flags[k] !== undefined ? flags[k] : file[k]);
  const list = (k: FilterKeys): string[] => (flags[k] && flags[k]!.length > 0 ? flags[k]! : (file[k] ?? []));
  const dataDir = pick('dataDir') ? readDataDir(pick('dataDir') as string) : undefined;
  const csvlogDir = pick('csvlogDir') ? path.resolve(pick('csvlogDir') as string) : dataDir?.csvlogDir;
  const global: Filters = filtersOf(
    { includeDatabases: list('includeDatabases'), excludeDatabases: list('excludeDatabases'), includeCommands: list('includeCommands'), excludeCommands: list('excludeCommands'), excludeMatching: list('excludeMatching') },
    { ...file.databaseMap, ...flags.databaseMap },
  );
  const targetArgs = flags.targets && flags.targets.length > 0 ? flags.targets : (file.targets ?? []);
  const targets = targetArgs.map((t) => targetSettings(t, global));
  const names = new Set<string>();
  for (const t of targets) {
    if (names.has(t.name)) throw new UsageError(`target name "${t.name}" is given twice; name them (NAME=URL)`);
    names.add(t.name);
  }
  const logLevel = pick('logLevel') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel as LogLevel)) {
    throw new UsageError(`log level "${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`);
  }
  const logFormat = pick('logFormat') ?? 'text';
  if (logFormat !== 'text' && logFormat !== 'json') throw new UsageError(`log format "${logFormat}" is not one of text, json`);
  const seconds = (key: keyof typeof MAX_SECONDS, fallback: number, zeroOk: boolean): number =>
    Math.round(boundedNumber(key, pick(key), fallback, { max: MAX_SECONDS[key], zeroOk, whole: false }) * 1000);
  const lockRetries = boundedNumber('lockRetries', pick('lockRetries'), 3, { max: MAX_LOCK_RETRIES, zeroOk: true, whole: true });
  const applyAs = pick('applyAs') ?? 'original';
  if (applyAs !== 'original' && applyAs !== 'sync') throw new UsageError(`apply as "${applyAs}" is not one of original, sync`);
  const ignoreUsers = flags.ignoreUsers && flags.ignoreUsers.length > 0 ? flags.ignoreUsers : (file.ignoreUsers ?? []);
  // What the tool applies on an instance is logged there under the role it connects as: in a mesh,
  // that instance's own tool must not send it back (see core/echo).
  const syncUsers = [...new Set(targets.map(connectionUser))];
  // Off by default: the tool's own statements carry its application_name (core/echo), so the role a
  // DBA shares with the tool loses nothing. A mesh whose tools must also be told by role turns it on.
  const ignoreSyncUsers = pick('ignoreSyncUsers') ?? false;
  const sourceUrl = pick('source') ?? (dataDir?.socket ? socketUri(dataDir.socket, sourceUser(targets, dataDir.dir)) : undefined);
  return {
    csvlogDir,
    dataDir,
    targets,
    stateFile: path.resolve(pick('stateFile') ?? defaultStateFile(csvlogDir)),
    logDir: pick('logDir') ? path.resolve(pick('logDir') as string) : undefined,
    logPrefix: pick('logPrefix') ?? 'pg-ddl-sync',
    logLevel: logLevel as LogLevel,
    logFormat,
    metricsFile: pick('metricsFile') ? path.resolve(pick('metricsFile') as string) : undefined,
    sourceName: pick('sourceName') ?? `${os.hostname()}:${csvlogDir ?? 'replay'}`,
    source: sourceUrl ? { ...parseTarget(sourceUrl), name: 'source' } : undefined,
    connectTimeoutMs: seconds('connectTimeout', 10, false),
    lockTimeoutMs: seconds('lockTimeout', 5, true),
    statementTimeoutMs: seconds('statementTimeout', DEFAULT_STATEMENT_TIMEOUT_S, true),
    lockRetries,
    applyAs,
    ignoreUsers,
    syncUsers,
    ignoreSyncUsers,
    ignoredRoles: [...new Set([...(ignoreSyncUsers ? syncUsers : []), ...ignoreUsers])],
    maxHeldBackMs: seconds('maxHeldBack', 600, false),
    sendInstanceCommands: pick('sendInstanceCommands') ?? false,
    logKeepDays: boundedNumber('logKeepDays', pick('logKeepDays'), DEFAULT_LOG_KEEP_DAYS, { max: 36500, zeroOk: true, whole: true }),
    intervalMs: seconds('interval', 0, true),
  };
}

/**
 * How long a statement the tool runs on a target may take, unless told otherwise: long enough for the
 * DDL of a busy schema, short enough that a statement that never ends (a trigger that sleeps, a session
 * that stopped) is cut off within a cron interval or two, and the run lets the next one in.
 */
const DEFAULT_STATEMENT_TIMEOUT_S = 600;

/** The role to reach the primary as through its data directory's socket (see io/dataDir). */
function sourceUser(targets: TargetSpec[], dataDir: string): string {
  let osUser: string | undefined;
  try {
    osUser = os.userInfo().username;
  } catch {
    osUser = undefined;
  }
  const targetUsers = targets.map((t) => uriUser(t.url)).filter((u): u is string => u !== undefined);
  return socketUser({ pgUser: process.env.PGUSER || undefined, osUser, targetUsers, dataDirOwner: ownerName(dataDir) });
}

/** A target's settings: its own filters on top of everyone's. */
function targetSettings(raw: RawTarget, global: Filters): TargetSettings {
  if (typeof raw === 'string') return { ...parseTarget(raw), filters: global };
  const spec = parseTarget(raw.name !== undefined ? `${raw.name}=${raw.url}` : raw.url);
  const own = filtersOf(raw, raw.databaseMap ?? {});
  return {
    ...spec,
    filters: {
      includeDatabases: own.includeDatabases.length > 0 ? own.includeDatabases : global.includeDatabases,
      excludeDatabases: [...global.excludeDatabases, ...own.excludeDatabases],
      includeCommands: own.includeCommands.length > 0 ? own.includeCommands : global.includeCommands,
      excludeCommands: [...global.excludeCommands, ...own.excludeCommands],
      excludeMatching: [...global.excludeMatching, ...own.excludeMatching],
      databaseMap: { ...global.databaseMap, ...own.databaseMap },
    },
  };
}

function filtersOf(raw: Partial<Record<FilterKeys, string[]>>, databaseMap: Record<string, string>): Filters {
  const tags = (v: string[] | undefined): string[] => (v ?? []).map((t) => t.trim().replace(/\s+/g, ' ').toUpperCase());
  return {
    includeDatabases: raw.includeDatabases ?? [],
    excludeDatabases: raw.excludeDatabases ?? [],
    includeCommands: tags(raw.includeCommands),
    excludeCommands: tags(raw.excludeCommands),
    excludeMatching: (raw.excludeMatching ?? []).map((source) => {
      try {
        return new RegExp(source, 'i');
      } catch (err) {
        throw new UsageError(`exclude-matching "${source}": ${(err as Error).message}`);
      }
    }),
    databaseMap,
  };
}

/** A `--target` value that gives a server (`[NAME=]URL`), not only a name. */
export function isTargetUrl(arg: string): boolean {
  return /^([^=:/]+=)?postgres(ql)?:\/\//.test(arg);
}

/**
 * The targets of these names, in the order named; all of them when no name is given.
 * @param targets the configured targets
 * @param names names given on the command line
 */
export function selectTargets(targets: TargetSettings[], names: string[]): TargetSettings[] {
  if (names.length === 0) return targets;
  return names.map((name) => {
    const t = targets.find((c) => c.name === name);
    if (!t) {
      const known = targets.map((c) => c.name).join(', ');
      throw new UsageError(`no target named "${name}"${known ? ` (known: ${known})` : ': give --target NAME=URL or "targets" in the config file'}`);
    }
    return t;
  });
}

/** `FROM=TO` pairs of --map-database. */
export function parseDatabaseMap(pairs: string[]): Record<string, string> {
  const map: Record<string, string> = {};
  for (const pair of pairs) {
    const m = /^([^=]+)=([^=]+)$/.exec(pair);
    if (!m) throw new UsageError(`--map-database "${pair}": expected PRIMARY_DB=TARGET_DB`);
    map[m[1]] = m[2];
  }
  return map;
}

/** One state file per csvlog directory, under the user's state directory. */
function defaultStateFile(csvlogDir: string | undefined): string {
  const base = process.env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  const slug = (csvlogDir ?? 'default').replace(/^\/+/, '').replace(/[^A-Za-z0-9._-]+/g, '-');
  return path.join(base, 'pg-ddl-sync', `${slug}.state.json`);
}

/** How the tool connects to targets, from the settings. */
export function connectOptions(s: Settings): ConnectOptions {
  return { connectTimeoutMs: s.connectTimeoutMs, lockTimeoutMs: s.lockTimeoutMs, statementTimeoutMs: s.statementTimeoutMs };
}
