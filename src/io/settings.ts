/**
 * One settings step: command-line flags, the JSON config file and defaults merge into one validated
 * `Settings` before any command runs. A flag beats the file; an unknown key or a bad value is an error
 * naming the key.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApplyAs, CONFIG_KEYS, LogFormat, LogLevel, PATH_KEYS, RawSettings, RawTarget, TARGET_KEYS, TableSettings, checkKeys, isComment, tableSettings } from '../core/settingsTable';
import { UsageError } from '../errors';
import { DataDirFacts, ownerName, readDataDir, socketUri, socketUser } from './dataDir';
import { ConnectOptions, TargetSpec, connectionUser, parseTarget, uriUser } from './target';

export type { ApplyAs, LogFormat, LogLevel, RawSettings, RawTarget };

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

/**
 * The settings every command reads: those the table fills as they are (core/settingsTable: log
 * level and format, timeouts, retries, apply-as, ignored roles, interval …) and those made here.
 */
export interface Settings extends TableSettings {
  csvlogDir?: string;
  /** The primary's data directory, when given, and what it tells. */
  dataDir?: DataDirFacts;
  targets: TargetSettings[];
  stateFile: string;
  logDir?: string;
  /** A Prometheus text file written after each run (node_exporter's textfile collector). */
  metricsFile?: string;
  /** Names this primary in the targets' ledgers. */
  sourceName: string;
  /** The primary itself, asked about transactions its log leaves undecided. */
  source?: TargetSpec;
  /** The roles the tool connects to its targets as (the sync roles), each once. */
  syncUsers: string[];
  /**
   * Every role whose statements are never sent: those given, and the sync roles when ignoreSyncUsers
   * is on. (What any pg-ddl-sync ran is never sent, whatever its role: core/echo.)
   */
  ignoredRoles: string[];
}

type FilterKeys = 'includeDatabases' | 'excludeDatabases' | 'includeCommands' | 'excludeCommands' | 'excludeMatching';

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
  for (const [key, value] of Object.entries(raw)) if (!isComment(key)) out[key] = value;
  for (const key of PATH_KEYS) {
    if (typeof out[key] === 'string') out[key] = path.resolve(dir, out[key] as string);
  }
  return out as RawSettings;
}

/**
 * Merges flags over the config file and fills the defaults: the table's settings as they are
 * (core/settingsTable), then where the log, state and targets are and who is ignored.
 * @param flags values given on the command line (undefined where not given)
 * @param file values from the config file, if any
 */
export function resolveSettings(flags: RawSettings, file: RawSettings = {}): Settings {
  const pick = <K extends keyof RawSettings>(k: K): RawSettings[K] => (flags[k] !== undefined ? flags[k] : file[k]);
  const dataDir = pick('dataDir') ? readDataDir(pick('dataDir') as string) : undefined;
  const csvlogDir = pick('csvlogDir') ? path.resolve(pick('csvlogDir') as string) : dataDir?.csvlogDir;
  const targets = targetsOf(flags, file);
  const table = tableSettings(flags, file);
  // What the tool applies on an instance is logged there under the role it connects as: in a mesh,
  // that instance's own tool must not send it back (see core/echo).
  const syncUsers = [...new Set(targets.map(connectionUser))];
  const sourceUrl = pick('source') ?? (dataDir?.socket ? socketUri(dataDir.socket, sourceUser(targets, dataDir.dir)) : undefined);
  const resolved = (key: 'logDir' | 'metricsFile'): string | undefined => (pick(key) ? path.resolve(pick(key) as string) : undefined);
  return {
    ...table,
    csvlogDir,
    dataDir,
    targets,
    stateFile: path.resolve(pick('stateFile') ?? defaultStateFile(csvlogDir)),
    logDir: resolved('logDir'),
    metricsFile: resolved('metricsFile'),
    sourceName: pick('sourceName') ?? `${os.hostname()}:${csvlogDir ?? 'replay'}`,
    source: sourceUrl ? { ...parseTarget(sourceUrl), name: 'source' } : undefined,
    syncUsers,
    ignoredRoles: [...new Set([...(table.ignoreSyncUsers ? syncUsers : []), ...table.ignoreUsers])],
  };
}

/** The targets, each with its filters: the flags' if any is given, else the file's; names once each. */
function targetsOf(flags: RawSettings, file: RawSettings): TargetSettings[] {
  const list = (k: FilterKeys): string[] => (flags[k] && flags[k]!.length > 0 ? flags[k]! : (file[k] ?? []));
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
  return targets;
}

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
