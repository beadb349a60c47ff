/**
 * The README's options table, made from the settings table (core/settingsTable) and the options only
 * one command or two take. A unit test (cliDocs) keeps the README's copy, between the
 * `<!-- options-table -->` markers, equal to it, and each row's flag in some command's --help.
 */
import { SETTINGS, SettingEntry } from '../core/settingsTable';

/** The flag as the README writes it: the value's name in capitals (`--log-dir DIR`). */
function flagCell(flag: string): string {
  return `\`${flag.replace(/<([^>]+)>/g, (_m, v: string) => v.toUpperCase())}\``;
}

/** Options that are not settings: no config key, only the commands named in their text take them. */
const COMMAND_ROWS: readonly [flag: string, fallback: string, meaning: string][] = [
  ['`-n, --dry-run`', '', '`run`, `replay`: print what would be sent; change nothing'],
  ['`--force`', '', '`replay`: onto a target that `run` keeps in step'],
  ['`--skip-malformed`', '', '`run`, `replay`: go on past a malformed csvlog record at the next log file, skipping the rest of the damaged one; in the file the server writes, it stops until the log rotates ([Damage](docs/operations.md#damage))'],
  ['`--json`', '', '`status`, `verify`: the documented JSON form'],
  ['`--database DB`', 'every database each target takes', '`verify`: only this primary database; repeatable'],
  ['`--roles`', '', '`verify`: compare the roles and their memberships too'],
  ['`--stopped-target NAME`', '', '`skip`: the stopped target (a bare `--target NAME` still works; `--target NAME=URL` also says where its ledger is)'],
  ['`--gaps`', '', '`skip`: acknowledge the log records lost before they were read (`status` lists them), once the targets were checked'],
  ['`--from POINT`', '', '`adopt`: `now`, `FILE:OFFSET` or a time ([Adopting a target](docs/operations.md#adopting-a-target))'],
  ['`--at FILE:OFFSET`', '', '`resolve`: the statement, as `status` shows it; `nested`: the nested DDL, as `nested` lists it'],
  ['`--send`, `--drop`', '', '`resolve`: it committed on the primary, the next run sends it (and its transaction); it did not, it is never sent'],
  ['`--copy`', '', "`nested`: copy each object the nested DDL made from the primary (`pg_dump` of it through `--source`) to every target, or drop there what it dropped; refused for what cannot be copied"],
  ['`--handled`', '', '`nested`: it was done on the targets by hand: only record it'],
  ['`-y, --yes`', '', '`skip`, `resolve`, `nested`: without asking (required without a terminal)'],
  ['`--reason TEXT`', '', '`skip`, `adopt`, `resolve`, `nested`: why, kept in `STATE_FILE.skipped.jsonl`'],
];

/** A Markdown table row; an empty cell is a single space. */
function row(cells: readonly string[]): string {
  return `|${cells.map((c) => (c ? ` ${c} ` : ' ')).join('|')}|`;
}

function settingRow(e: SettingEntry): string {
  return row([flagCell(e.flag), e.readme.key ?? `\`${e.key}\``, e.readme.default ?? `\`${String(e.default)}\``, e.readme.meaning]);
}

/** The README's options table, in Markdown. */
export function optionsTable(): string {
  return [
    '| Flag | Config key | Default | Meaning |',
    '|---|---|---|---|',
    row(['`-c, --config FILE`', '', '', 'JSON config file (`examples/pg-ddl-sync.json`)']),
    ...(SETTINGS as readonly SettingEntry[]).map(settingRow),
    ...COMMAND_ROWS.map(([flag, fallback, meaning]) => row([flag, '', fallback, meaning])),
  ].join('\n');
}

export const OPTIONS_TABLE_START = '<!-- options-table: made from src/core/settingsTable.ts by `npm run build:options`; edit it there -->';
export const OPTIONS_TABLE_END = '<!-- /options-table -->';

/**
 * The README with its options table block replaced by this one.
 * @param readme the README's text, with the two markers
 */
export function withOptionsTable(readme: string): string {
  const start = readme.indexOf(OPTIONS_TABLE_START);
  const end = readme.indexOf(OPTIONS_TABLE_END);
  if (start < 0 || end < start) throw new Error('README.md has no options-table markers');
  return `${readme.slice(0, start + OPTIONS_TABLE_START.length)}\n${optionsTable()}\n${readme.slice(end)}`;
}
