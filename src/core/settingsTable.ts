/**
 * Every setting, declared once. An entry gives the option's flag and --help text, its config file key,
 * what kind of value it takes (which says how the file's value is checked, how a flag's text is read
 * and how it is validated), its default, and its row of the README's options table. The command line
 * (cli/settingOptions), the config file check and the settings step (io/settings) and the README table
 * (cli/optionsDoc) are all made from this table.
 *
 * To add a setting: one entry below, in the place its README row should take; then name it in the
 * option lists of the commands that take it (cli/settingOptions). An entry with `setting` is copied,
 * validated and defaulted, into `Settings` under that name; one without is read by io/settings itself.
 */
import { UsageError } from '../errors';

/**
 * What a setting's value is. `path`: a string, resolved against the config file's directory (or the
 * working directory, for a flag); `list`: a repeatable flag, an array of strings in the file; `map`:
 * `FROM=TO` flags, an object of strings in the file; `seconds`: a duration, in milliseconds once read;
 * `count`: a whole number; `switch`: a flag without a value, true or false in the file.
 */
export type SettingKind = 'text' | 'path' | 'choice' | 'list' | 'map' | 'targets' | 'seconds' | 'count' | 'switch';

export interface SettingEntry {
  /** The config file's key. */
  readonly key: string;
  /** The name in `Settings`, for a setting copied there as it is read; none when io/settings reads it. */
  readonly setting?: string;
  /** commander's flags: `--name <value>`, as --help and the README show them. */
  readonly flag: string;
  /** The --help text. */
  readonly help: string;
  readonly kind: SettingKind;
  /** The values a `choice` takes. */
  readonly choices?: readonly string[];
  /** The largest value a `seconds` or `count` takes: beyond it a value is a typo, not a wish. */
  readonly max?: number;
  /** Whether a `seconds` or `count` may be 0 (for a duration: no limit). */
  readonly zeroOk?: boolean;
  readonly default?: string | number | boolean;
  /** A `--no-…` flag that turns off what the config file turned on. */
  readonly negation?: { readonly flag: string; readonly help: string };
  /** The README row: its Default column (the default, in code quotes, when not given) and Meaning. */
  readonly readme: { readonly default?: string; readonly meaning: string; readonly key?: string };
}

/**
 * The settings, in the config file's order (the order an unknown key's message lists them in, and the
 * README table's).
 */
export const SETTINGS = [
  {
    key: 'csvlogDir',
    flag: '--csvlog-dir <dir>',
    help: "the primary's csvlog directory",
    kind: 'path',
    readme: { default: 'from `--data-dir`', meaning: "the primary's csvlog directory: every `*.csv` in it" },
  },
  {
    key: 'dataDir',
    flag: '--data-dir <dir>',
    help: "the primary's data directory: finds the csvlog directory and, while it runs, the primary for --source",
    kind: 'path',
    readme: { default: '', meaning: "the primary's data directory: the csvlog directory, and the primary for `--source`" },
  },
  {
    key: 'targets',
    flag: '--target <[name=]url>',
    help: 'a target server (libpq URI); repeatable',
    kind: 'targets',
    readme: {
      default: '(required, except with `--dry-run`)',
      meaning:
        "a target; repeatable. NAME defaults to `host:port` and keys the target's place in the state file; a URL without a database is fine. In the file, an entry is a `\"[NAME=]URL\"` string or an object `{\"name\", \"url\", …filters}` with filters of its own (below). `verify` and `adopt` also take a bare NAME: that target of the config file (`verify`'s default: all of them)",
    },
  },
  {
    key: 'stateFile',
    flag: '--state-file <file>',
    help: 'where positions are kept (default: ~/.local/state/pg-ddl-sync/<csvlog dir>.state.json)',
    kind: 'path',
    readme: {
      default: '`$XDG_STATE_HOME/pg-ddl-sync/<csvlog dir>.state.json` (`~/.local/state/…`)',
      meaning: 'where positions are kept; the lock is `FILE.lock`, skipped statements go to `FILE.skipped.jsonl`',
    },
  },
  {
    key: 'logDir',
    flag: '--log-dir <dir>',
    help: "directory for the tool's own daily log files (default: stderr)",
    kind: 'path',
    readme: { default: 'stderr', meaning: "directory for the tool's own log, one file per day: `PREFIX-YYYY-MM-DD.log` (mode 0600)" },
  },
  {
    key: 'logPrefix',
    setting: 'logPrefix',
    flag: '--log-prefix <name>',
    help: 'log file name prefix (default: pg-ddl-sync)',
    kind: 'text',
    default: 'pg-ddl-sync',
    readme: { meaning: "the log files' name prefix" },
  },
  {
    key: 'logLevel',
    setting: 'logLevel',
    flag: '--log-level <level>',
    help: 'error, warn, info or debug (default: info)',
    kind: 'choice',
    choices: ['error', 'warn', 'info', 'debug'],
    default: 'info',
    readme: { meaning: '`error`, `warn`, `info` or `debug`' },
  },
  {
    key: 'logFormat',
    setting: 'logFormat',
    flag: '--log-format <format>',
    help: 'text or json (default: text)',
    kind: 'choice',
    choices: ['text', 'json'],
    default: 'text',
    readme: { meaning: '`text` or `json` (one JSON object a line)' },
  },
  {
    key: 'metricsFile',
    flag: '--metrics-file <file>',
    help: 'write Prometheus metrics here after each run (node_exporter textfile collector)',
    kind: 'path',
    readme: { default: '', meaning: 'after each run, write [metrics](docs/operations.md#metrics) there (Prometheus text format)' },
  },
  {
    key: 'sourceName',
    flag: '--source-name <name>',
    help: "labels the rows this primary adds to the targets' ledgers (default: host:csvlog-dir)",
    kind: 'text',
    readme: { default: '`host:csvlog-dir`', meaning: "labels the rows this primary adds to the targets' ledgers" },
  },
  {
    key: 'source',
    flag: '--source <url>',
    help: 'the primary (libpq URI), asked which transactions are still running when the log does not tell',
    kind: 'text',
    readme: {
      default: 'the socket `--data-dir` shows',
      meaning:
        'the primary itself (libpq URI), asked which transactions still run when its log does not tell ([--source](docs/modes.md#asking-the-primary---source)); any user can answer. `verify` reads its catalogs: it needs a user that may connect to every database',
    },
  },
  {
    key: 'connectTimeout',
    setting: 'connectTimeoutMs',
    flag: '--connect-timeout <seconds>',
    help: 'give up connecting to a server after this long (default: 10)',
    kind: 'seconds',
    max: 600,
    zeroOk: false,
    default: 10,
    readme: { meaning: 'give up connecting to a server after this long (at most 600)' },
  },
  {
    key: 'lockTimeout',
    setting: 'lockTimeoutMs',
    flag: '--lock-timeout <seconds>',
    help: 'on targets, a statement waits this long for a lock, then gives way (default: 5; 0: no limit)',
    kind: 'seconds',
    max: 3600,
    zeroOk: true,
    default: 5,
    readme: {
      meaning:
        "on targets, a statement waits this long for a lock, then gives way ([Busy targets](docs/operations.md#busy-targets-lock-safe-apply); `0`: no limit, whatever the target's own `lock_timeout`; at most 3600)",
    },
  },
  {
    key: 'statementTimeout',
    setting: 'statementTimeoutMs',
    flag: '--statement-timeout <seconds>',
    help: 'on targets, a statement may run this long; the tool waits for an answer this long and 5 s more (default: 600; 0: no limit)',
    kind: 'seconds',
    max: 86400,
    zeroOk: true,
    // Long enough for the DDL of a busy schema, short enough that a statement that never ends (a
    // trigger that sleeps, a session that stopped) is cut off within a cron interval or two, and the
    // run lets the next one in.
    default: 600,
    readme: {
      meaning:
        "how long a statement the tool runs on a target (or a question to `--source`) may take; the tool waits for the answer that long, and 5 s more, then drops the connection ([Timeouts](docs/operations.md#timeouts-every-wait-bounded); `0`: no limit, whatever the target's own `statement_timeout`; at most 86400)",
    },
  },
  {
    key: 'lockRetries',
    setting: 'lockRetries',
    flag: '--lock-retries <n>',
    help: 'tries a statement that gave way on a lock this many more times in a run, waiting longer each time; then the next run does (default: 3)',
    kind: 'count',
    max: 100,
    zeroOk: true,
    default: 3,
    readme: {
      meaning: 'a statement that gave way on a lock is tried this many more times in the run, after 1, 2, 4, then 8 s; then the target waits for the next run (at most 100)',
    },
  },
  {
    key: 'applyAs',
    setting: 'applyAs',
    flag: '--apply-as <who>',
    help: "on targets, run each statement as the role that ran it on the primary ('original'), or as the sync user ('sync') (default: original)",
    kind: 'choice',
    choices: ['original', 'sync'],
    default: 'original',
    readme: {
      meaning:
        '`original`: each statement runs on the targets as the role that ran it on the primary; `sync`: as the sync user ([Owners](docs/security.md#owners-apply-as-the-original-role))',
    },
  },
  {
    key: 'ignoreUsers',
    setting: 'ignoreUsers',
    flag: '--ignore-user <role>',
    help: 'never send statements this role ran on the primary, besides those of the roles the tool connects to its targets as (what pg-ddl-sync itself ran there is never sent); repeatable',
    kind: 'list',
    readme: {
      default: '',
      meaning: 'never send statements this role ran (what a pg-ddl-sync ran is never sent, whatever the role, told by its `application_name`: [Mesh](docs/mesh.md)); repeatable',
    },
  },
  {
    key: 'ignoreSyncUsers',
    setting: 'ignoreSyncUsers',
    flag: '--ignore-sync-users',
    help: 'never send statements that the roles the tool connects to its targets as ran on the primary: for a mesh whose tools have a role of their own (default: off; what a pg-ddl-sync ran is never sent, told by its application_name)',
    kind: 'switch',
    // Off: the tool's own statements carry its application_name (core/echo), so the role a DBA shares
    // with the tool loses nothing. A mesh whose tools must also be told by role turns it on.
    default: false,
    negation: { flag: '--no-ignore-sync-users', help: "send those roles' statements, unless a pg-ddl-sync ran them (the default)" },
    readme: {
      meaning:
        '`true`: also leave out what the roles the tool connects to its targets as (their URIs\' users, else `PGUSER`, else the OS user) ran on the primary. Off by default; the [mesh](docs/mesh.md) set-up turns it on. `--no-ignore-sync-users`: the default (beats a file\'s `true`)',
    },
  },
  {
    key: 'maxHeldBack',
    setting: 'maxHeldBackMs',
    flag: '--max-held-back <seconds>',
    help: "a statement held back this long, its transaction's end unknown, makes the run exit 1 (default: 600)",
    kind: 'seconds',
    max: 7 * 86400,
    zeroOk: false,
    default: 600,
    readme: { meaning: "a statement held back this long, its transaction's end unknown, makes the run exit 1 (at most a week: 604800)" },
  },
  {
    key: 'sendInstanceCommands',
    setting: 'sendInstanceCommands',
    flag: '--send-instance-commands',
    help: 'also send what acts on the instance, not on a schema: ALTER SYSTEM, tablespaces, subscriptions (default: left out, counted in the log)',
    kind: 'switch',
    default: false,
    readme: {
      meaning:
        'also send `ALTER SYSTEM`, tablespace and subscription commands, which act on the instance, not on a schema ([not sent by default](docs/modes.md#what-gets-sent-and-what-does-not))',
    },
  },
  {
    key: 'logKeepDays',
    setting: 'logKeepDays',
    flag: '--log-keep-days <days>',
    help: "delete the tool's own log files of --log-dir older than this many days (default: 30; 0: keep all)",
    kind: 'count',
    max: 36500,
    zeroOk: true,
    // A month of daily files: enough to look back on, not a disk filled over years.
    default: 30,
    readme: { meaning: "delete the tool's own log files dated more than DAYS days before today (`0`: keep all)" },
  },
  {
    key: 'interval',
    setting: 'intervalMs',
    flag: '--interval <seconds>',
    help: 'stay resident, holding the lock: a pass every this often, or as soon as the csvlog grows; SIGTERM/SIGINT end it after the statement under way, SIGHUP reads the config again (default: 0, one pass)',
    kind: 'seconds',
    max: 3600,
    zeroOk: true,
    default: 0,
    readme: {
      default: '`0` (one pass)',
      meaning: '`run`: stay [resident](docs/operations.md#resident-mode), a pass every this often or as soon as the log grows (at most 3600)',
    },
  },
  {
    key: 'includeDatabases',
    flag: '--include-database <db>',
    help: 'only DDL of this primary database; repeatable',
    kind: 'list',
    readme: { default: 'all', meaning: 'only the DDL of these primary databases; repeatable' },
  },
  {
    key: 'excludeDatabases',
    flag: '--exclude-database <db>',
    help: 'leave out DDL of this primary database; repeatable',
    kind: 'list',
    readme: { default: '', meaning: 'leave out the DDL of these primary databases (and `CREATE`/`DROP DATABASE` of them); repeatable' },
  },
  {
    key: 'includeCommands',
    flag: '--include-command <tag>',
    help: "only statements of this command tag ('CREATE TABLE'); repeatable",
    kind: 'list',
    readme: { default: 'all', meaning: "only statements of these command tags (`'CREATE TABLE'`, as PostgreSQL names them); repeatable" },
  },
  {
    key: 'excludeCommands',
    flag: '--exclude-command <tag>',
    help: "leave out statements of this command tag ('CREATE ROLE', 'GRANT'); repeatable",
    kind: 'list',
    readme: { default: '', meaning: "leave out statements of these command tags (`'CREATE ROLE'`, `GRANT`); repeatable" },
  },
  {
    key: 'excludeMatching',
    flag: '--exclude-matching <regex>',
    help: 'leave out statements matching this regular expression; repeatable',
    kind: 'list',
    readme: { default: '', meaning: 'leave out statements matching this regular expression (case-insensitive); repeatable' },
  },
  {
    key: 'databaseMap',
    flag: '--map-database <primary=target>',
    help: 'run the DDL of a primary database in a database of another name; repeatable',
    kind: 'map',
    readme: { key: '`databaseMap` (object)', default: '', meaning: 'run the DDL of a primary database in a database of another name; repeatable' },
  },
] as const satisfies readonly SettingEntry[];

type Entry = (typeof SETTINGS)[number];

/** A setting's config key. */
export type SettingKey = Entry['key'];

/** What a setting's value is once read, by its entry. */
type ValueOf<E extends Entry> = E extends { kind: 'seconds' | 'count' }
  ? number
  : E extends { kind: 'switch' }
    ? boolean
    : E extends { kind: 'list' | 'targets' }
      ? string[]
      : E extends { kind: 'map' }
        ? Record<string, string>
        : E extends { choices: readonly (infer C)[] }
          ? C
          : string;

/** The filters a target of the config file may have of its own. */
type FilterKey = 'includeDatabases' | 'excludeDatabases' | 'includeCommands' | 'excludeCommands' | 'excludeMatching';

/** A target in the config file: a `[NAME=]URL` string, or an object with its own filters. */
export type RawTarget = string | ({ name?: string; url: string; databaseMap?: Record<string, string> } & Partial<Record<FilterKey, string[]>>);

/** What a flag or the config file gives for a setting, before it is checked. */
type RawOf<E extends Entry> = E extends { kind: 'seconds' | 'count' }
  ? number | string
  : E extends { kind: 'choice' }
    ? string
    : E extends { kind: 'targets' }
      ? RawTarget[]
      : ValueOf<E>;

/** The entry of a config key. */
type EntryOf<K extends SettingKey> = Extract<Entry, { key: K }>;

/** The values of a choice setting, by its key. */
export type ChoiceOf<K extends SettingKey> = ValueOf<EntryOf<K>>;

export type LogLevel = ChoiceOf<'logLevel'>;
export type LogFormat = ChoiceOf<'logFormat'>;
/** Whose role a statement runs as on the targets: the role that ran it on the primary, or the sync user. */
export type ApplyAs = ChoiceOf<'applyAs'>;

/** What flags and the config file may set; every key is optional until defaults fill it. */
export type RawSettings = { [K in SettingKey]?: RawOf<EntryOf<K>> };

type Copied = Extract<Entry, { setting: string }>;

/** The settings the table fills, validated and defaulted, under their `setting` names. */
export type TableSettings = { [E in Copied as E['setting']]: ValueOf<E> };

/** Looks a setting's entry up by its config key. */
export function settingEntry(key: SettingKey): SettingEntry {
  return SETTINGS.find((e) => e.key === key)!;
}

/** How the config file writes each kind of value, for its check and its messages. */
export type KeyType = 'string' | 'string[]' | 'number' | 'boolean' | 'map' | 'targets';

const FILE_TYPE: Record<SettingKind, KeyType> = {
  text: 'string',
  path: 'string',
  choice: 'string',
  list: 'string[]',
  map: 'map',
  targets: 'targets',
  seconds: 'number',
  count: 'number',
  switch: 'boolean',
};

/** Each config key and the type the file must give it, in the table's order. */
export const CONFIG_KEYS: Readonly<Record<string, KeyType>> = Object.fromEntries(SETTINGS.map((e) => [e.key, FILE_TYPE[e.kind]]));

/** The filters, which a target may have of its own too. */
const FILTER_KEYS: readonly (FilterKey | 'databaseMap')[] = ['includeDatabases', 'excludeDatabases', 'includeCommands', 'excludeCommands', 'excludeMatching', 'databaseMap'];

/** The keys of a target object in the config file. */
export const TARGET_KEYS: Readonly<Record<string, KeyType>> = { name: 'string', url: 'string', ...Object.fromEntries(FILTER_KEYS.map((k) => [k, CONFIG_KEYS[k]])) };

/** The config keys whose value is a path, resolved against the file's own directory. */
export const PATH_KEYS: readonly SettingKey[] = SETTINGS.filter((e) => e.kind === 'path').map((e) => e.key);

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

/** A config file key that is a comment, not a setting. */
export function isComment(key: string): boolean {
  return key.startsWith('//') || key === '$comment';
}

/**
 * Checks an object's keys against a table; names the file and the key path on the first bad one.
 * @param file the config file, named in the error
 * @param prefix the key path of the object (`targets[0].`), empty at the top
 */
export function checkKeys(file: string, prefix: string, data: Record<string, unknown>, keys: Readonly<Record<string, KeyType>>): void {
  for (const [key, value] of Object.entries(data)) {
    if (isComment(key)) continue;
    const type = keys[key];
    if (!type) throw new UsageError(`config file ${file}: unknown key "${prefix}${key}" (known: ${Object.keys(keys).join(', ')})`);
    if (!isType(value, type)) throw new UsageError(`config file ${file}: key "${prefix}${key}" must be ${TYPE_NAMES[type]}`);
  }
}

/** A key as a message names it: `lockRetries` → `lock retries`. */
function spoken(key: string): string {
  return key.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`);
}

/**
 * A number setting, from a flag (a string) or the config file (a number): plain decimal digits only
 * (no exponent, sign, hex or blank, which Number() would take), within [0, max]; a duration that is
 * not 0 is at least a millisecond, since 0 means no limit.
 */
function boundedNumber(e: SettingEntry, raw: string | number): number {
  const whole = e.kind === 'count';
  const unit = whole ? 'a whole number' : 'a number of seconds';
  const fail = (why: string): never => {
    throw new UsageError(`${spoken(e.key)} "${raw}" must be ${why}`);
  };
  const text = String(raw);
  if (!(whole ? /^\d{1,9}$/ : /^\d{1,9}(\.\d{1,9})?$/).test(text)) fail(`${unit}, written with digits${whole ? '' : ' and a decimal point'} only`);
  const v = Number(text);
  if (v > e.max!) fail(`${unit} of at most ${e.max}`);
  if (v === 0 && !e.zeroOk) fail(`${unit} above 0`);
  if (!whole && v > 0 && v < 0.001) fail(`${unit} of at least 0.001 (0: no limit)`);
  return whole ? v : Math.round(v * 1000);
}

/**
 * One setting's value: the flag's if given (a list flag, if given at least once), else the file's,
 * else the default; validated, and a duration in milliseconds.
 * @param flags values given on the command line
 * @param file values from the config file
 */
export function settingValue(e: SettingEntry, flags: RawSettings, file: RawSettings): unknown {
  const key = e.key as SettingKey;
  const given = flags[key];
  const listGiven = Array.isArray(given) ? given.length > 0 : given !== undefined;
  const raw = listGiven ? given : file[key];
  if (raw === undefined) return e.kind === 'seconds' ? Math.round(Number(e.default ?? 0) * 1000) : (e.default ?? (e.kind === 'list' ? [] : undefined));
  if (e.kind === 'seconds' || e.kind === 'count') return boundedNumber(e, raw as string | number);
  if (e.kind === 'choice' && !e.choices!.includes(raw as string)) throw new UsageError(`${spoken(e.key)} "${raw}" is not one of ${e.choices!.join(', ')}`);
  return raw;
}

/** The settings the table fills on its own (entries with `setting`), in the table's order. */
export function tableSettings(flags: RawSettings, file: RawSettings): TableSettings {
  const out: Record<string, unknown> = {};
  for (const e of SETTINGS as readonly SettingEntry[]) if (e.setting) out[e.setting] = settingValue(e, flags, file);
  return out as TableSettings;
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
