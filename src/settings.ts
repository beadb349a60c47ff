/**
 * One settings step: command-line flags, the JSON config file and defaults merge into one validated
 * `Settings` before any command runs. A flag beats the file; an unknown key or a bad value is an error
 * naming the key.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UsageError } from './errors';
import { TargetSpec, parseTarget } from './io/target';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

export interface Settings {
  csvlogDir?: string;
  targets: TargetSpec[];
  stateFile: string;
  logDir?: string;
  logPrefix: string;
  logLevel: LogLevel;
  /** Names this primary in the targets' ledgers. */
  sourceName: string;
  /** The primary itself, asked about transactions its log leaves undecided. */
  source?: TargetSpec;
  connectTimeoutMs: number;
}

/** What flags and the config file may set; every key is optional until defaults fill it. */
export interface RawSettings {
  csvlogDir?: string;
  targets?: string[];
  stateFile?: string;
  logDir?: string;
  logPrefix?: string;
  logLevel?: string;
  sourceName?: string;
  source?: string;
  connectTimeout?: number | string;
}

const CONFIG_KEYS: Record<keyof RawSettings, 'string' | 'string[]' | 'number'> = {
  csvlogDir: 'string',
  targets: 'string[]',
  stateFile: 'string',
  logDir: 'string',
  logPrefix: 'string',
  logLevel: 'string',
  sourceName: 'string',
  source: 'string',
  connectTimeout: 'number',
};

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
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    if (key.startsWith('//') || key === '$comment') continue;
    const type = CONFIG_KEYS[key as keyof RawSettings];
    if (!type) throw new UsageError(`config file ${file}: unknown key "${key}" (known: ${Object.keys(CONFIG_KEYS).join(', ')})`);
    const ok =
      type === 'string'
        ? typeof value === 'string'
        : type === 'number'
          ? typeof value === 'number'
          : Array.isArray(value) && value.every((v) => typeof v === 'string');
    if (!ok) throw new UsageError(`config file ${file}: key "${key}" must be ${type === 'string[]' ? 'an array of strings' : `a ${type}`}`);
    raw[key] = value;
  }
  const dir = path.dirname(path.resolve(file));
  for (const key of ['csvlogDir', 'stateFile', 'logDir'] as const) {
    if (typeof raw[key] === 'string') raw[key] = path.resolve(dir, raw[key] as string);
  }
  return raw as RawSettings;
}

/**
 * Merges flags over the config file and fills the defaults.
 * @param flags values given on the command line (undefined where not given)
 * @param file values from the config file, if any
 */
export function resolveSettings(flags: RawSettings, file: RawSettings = {}): Settings {
  const pick = <K extends keyof RawSettings>(k: K): RawSettings[K] => (flags[k] !== undefined ? flags[k] : file[k]);
  const csvlogDir = pick('csvlogDir');
  const targetArgs = flags.targets && flags.targets.length > 0 ? flags.targets : (file.targets ?? []);
  const targets = targetArgs.map(parseTarget);
  const names = new Set<string>();
  for (const t of targets) {
    if (names.has(t.name)) throw new UsageError(`target name "${t.name}" is given twice; name them (NAME=URL)`);
    names.add(t.name);
  }
  const logLevel = pick('logLevel') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel as LogLevel)) {
    throw new UsageError(`log level "${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`);
  }
  const timeout = Number(pick('connectTimeout') ?? 10);
  if (!Number.isFinite(timeout) || timeout <= 0) {
    throw new UsageError(`connect timeout "${pick('connectTimeout')}" must be a positive number of seconds`);
  }
  const absDir = csvlogDir ? path.resolve(csvlogDir) : undefined;
  return {
    csvlogDir: absDir,
    targets,
    stateFile: path.resolve(pick('stateFile') ?? defaultStateFile(absDir)),
    logDir: pick('logDir') ? path.resolve(pick('logDir') as string) : undefined,
    logPrefix: pick('logPrefix') ?? 'pg-ddl-sync',
    logLevel: logLevel as LogLevel,
    sourceName: pick('sourceName') ?? `${os.hostname()}:${absDir ?? 'replay'}`,
    source: pick('source') ? { ...parseTarget(pick('source') as string), name: 'source' } : undefined,
    connectTimeoutMs: timeout * 1000,
  };
}

/** One state file per csvlog directory, under the user's state directory. */
function defaultStateFile(csvlogDir: string | undefined): string {
  const base = process.env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  const slug = (csvlogDir ?? 'default').replace(/^\/+/, '').replace(/[^A-Za-z0-9._-]+/g, '-');
  return path.join(base, 'pg-ddl-sync', `${slug}.state.json`);
}
