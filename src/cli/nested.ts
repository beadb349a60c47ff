/** `pg-ddl-sync nested`: DDL run inside functions on the primary, listed, copied to the targets or marked handled. */
import { Command } from 'commander';
import type { NestedDdl } from '../core/captureUse';
import type * as CaptureUse from '../core/captureUse';
import type * as NestedCommand from '../commands/nested';
import { UsageError } from '../errors';
import { Cli, exitHelp } from './context';
import { lockedLine } from './print';
import { LOGGING, SettingFlags, WHERE, addSettingOptions } from './settingOptions';

const EXIT_CODES = exitHelp(`  0  listed; or copied (or marked handled) and recorded
  1  nothing done: the answer was no, a run holds the lock, or a target failed (copy again)
  2  bad usage, config or state; or it cannot be copied (do it by hand, then --handled)`);

type NestedFlags = SettingFlags & { at?: string; copy?: boolean; handled?: boolean; yes?: boolean; reason?: string };

/** Adds `nested` to the CLI. */
export function addNestedCommand(program: Command, cli: Cli): void {
  const cmd = program
    .command('nested')
    .description('list DDL run inside functions, procedures or DO blocks on the primary (never sent); copy what one did to the targets, or mark it handled');
  addSettingOptions(cmd, [...WHERE, 'targets', 'stateFile', 'source', 'sourceName', ...LOGGING, 'connectTimeout', 'lockTimeout', 'statementTimeout'], EXIT_CODES)
    .option('--at <file:offset>', 'the nested DDL, as run, status and this command show it')
    .option('--copy', "copy each object it made from the primary (pg_dump) to every target, or drop there what it dropped")
    .option('--handled', 'it was done on the targets by hand: only record it')
    .option('-y, --yes', 'act without asking')
    .option('--reason <text>', 'why, kept with the decision')
    .action(async (flags: NestedFlags) => cli.exit(await nestedAction(cli, flags)));
}

async function nestedAction(cli: Cli, flags: NestedFlags): Promise<number> {
  const { io } = cli;
  const { settings, log } = cli.setUp(flags);
  const commands = require('../commands/nested') as typeof NestedCommand;
  if (flags.at === undefined) {
    if (flags.copy || flags.handled) throw new UsageError('nested --copy and --handled need --at FILE:OFFSET (nested without --at lists them)');
    const open = commands.listNested(settings);
    io.stdout(open.length === 0 ? 'No nested DDL left to handle.\n' : open.map(listed).join(''));
    return 0;
  }
  if (flags.copy === flags.handled) throw new UsageError('nested --at needs one of --copy (copy it from the primary) and --handled (done by hand)');
  const ask = io.ask;
  const confirm = ask
    ? async (n: NestedDdl, plan?: NestedCommand.CopyPlan): Promise<boolean> => {
        io.stdout(listed(n) + (plan ? planText(plan) : ''));
        return ask(plan ? 'Run it on these targets? [y/N] ' : 'Mark it handled? [y/N] ');
      }
    : undefined;
  const res = await commands.handleNested(settings, flags.at, { how: flags.copy ? 'copy' : 'handled', yes: flags.yes === true, reason: flags.reason, log, confirm });
  if (res.kind === 'locked') {
    io.stderr(lockedLine(res.lockFile));
    return 1;
  }
  if (res.kind === 'declined') {
    io.stdout('Nothing done.\n');
    return 1;
  }
  if (res.kind === 'handled') {
    io.stdout(`Marked handled: ${res.nested.at}; recorded in ${res.record}.\n`);
    return 0;
  }
  const where = res.done.map((d) => `${d.target} (database ${d.database}${d.outcome === 'already' ? ', copied before' : ''})`).join(', ');
  const filtered = res.plan.filteredOut.length > 0 ? `; not on ${res.plan.filteredOut.join(', ')}, whose filters leave database ${res.nested.database} out` : '';
  io.stdout(`Copied ${res.nested.at} to ${where || 'no target'}${filtered}; recorded in ${res.record}.\n`);
  return 0;
}

/** Nested DDL as the list shows it: its place, then a line per object. */
function listed(n: NestedDdl): string {
  return `${n.at}\n${(require('../core/captureUse') as typeof CaptureUse).nestedLines(n).map((l) => `    ${l}\n`).join('')}`;
}

function planText(plan: NestedCommand.CopyPlan): string {
  const where = plan.targets.map((t) => `${t.target} (database ${t.database})`).join(', ');
  return `Would run on ${where || 'no target'}, in one transaction each:\n${plan.sql.trim()}\n`;
}
