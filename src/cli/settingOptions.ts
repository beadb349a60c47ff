/**
 * The settings on the command line: each command's options made from the settings table
 * (core/settingsTable), and the flags it was given turned back into the table's keys for the one
 * settings step (io/settings).
 */
import { Command, Option } from 'commander';
import { RawSettings, SETTINGS, SettingEntry, SettingKey, parseDatabaseMap, settingEntry } from '../core/settingsTable';
import { Settings, isTargetUrl, readConfigFile, resolveSettings } from '../io/settings';
import { parseTarget } from '../io/target';

/** A setting's key, or the config file itself (-c), which is not a setting. */
export type OptionKey = SettingKey | 'config';

/** What commander gives a command's action: each option under its camel-case name. */
export type SettingFlags = { config?: string; target?: string[] } & Record<string, unknown>;

const CONFIG_OPTION = ['-c, --config <file>', 'JSON config file (flags beat its keys)'] as const;

/** Adds a repeatable option's value to the ones before it. */
export const repeat = (v: string, acc: string[] = []): string[] => [...acc, v];

/** Option groups that several commands take, in their --help order. */
export const WHERE: OptionKey[] = ['config', 'csvlogDir', 'dataDir'];
export const LOGGING: OptionKey[] = ['logDir', 'logPrefix', 'logLevel', 'logFormat', 'logKeepDays'];
export const FILTERS: OptionKey[] = ['includeDatabases', 'excludeDatabases', 'includeCommands', 'excludeCommands', 'excludeMatching', 'databaseMap'];
/** --ignore-user and --ignore-sync-users (with its --no- form). */
export const WHO: OptionKey[] = ['ignoreUsers', 'ignoreSyncUsers'];
/** Everything that changes what a pass sends and how: run's and replay's. */
export const APPLYING: OptionKey[] = [
  ...WHERE, 'targets', 'stateFile', 'source', 'sourceName', ...FILTERS, 'sendInstanceCommands', ...LOGGING, 'metricsFile',
  'connectTimeout', 'lockTimeout', 'lockRetries', 'statementTimeout', ...WHO, 'maxHeldBack', 'applyAs',
];

/** A setting's values take more than one flag. */
function repeatable(e: SettingEntry): boolean {
  return e.kind === 'list' || e.kind === 'targets' || e.kind === 'map';
}

/**
 * Adds these settings' options to a command, in the order given (a `--no-…` form right after its
 * setting), and its exit codes to its --help.
 * @param exitCodes the text after --help's option list, if any
 */
export function addSettingOptions(cmd: Command, keys: readonly OptionKey[], exitCodes?: string): Command {
  for (const key of keys) {
    if (key === 'config') {
      cmd.option(...CONFIG_OPTION);
      continue;
    }
    const e = settingEntry(key);
    if (repeatable(e)) cmd.option(e.flag, e.help, repeat);
    else cmd.option(e.flag, e.help);
    if (e.negation) cmd.option(e.negation.flag, e.negation.help);
  }
  return exitCodes === undefined ? cmd : cmd.addHelpText('after', exitCodes);
}

/** The name commander keeps a setting's flag under (`--ignore-user` → `ignoreUser`). */
function attributeOf(e: SettingEntry): string {
  return new Option(e.flag).attributeName();
}

/**
 * The one settings step for a command: its flags over the config file (-c), defaults filled.
 * @param flags what commander parsed
 */
export function settingsFrom(flags: SettingFlags): Settings {
  const raw: Record<string, unknown> = {};
  for (const e of SETTINGS as readonly SettingEntry[]) {
    const value = flags[attributeOf(e)];
    raw[e.key] = e.kind === 'map' && value !== undefined ? parseDatabaseMap(value as string[]) : value;
  }
  const file = flags.config ? readConfigFile(flags.config) : {};
  return resolveSettings(raw as RawSettings, file);
}

/**
 * A command's one `--target`: a name (the config file gives its URL), or NAME=URL.
 * @returns the name, and the --target values for the settings step (undefined: the config's)
 */
export function oneTarget(arg: string | undefined): { name: string; targets?: string[] } | undefined {
  if (arg === undefined) return undefined;
  if (!isTargetUrl(arg)) return { name: arg };
  return { name: parseTarget(arg).name, targets: [arg] };
}
