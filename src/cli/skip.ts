/** `pg-ddl-sync skip`: a stopped target past the statement it fails on, or lost records acknowledged. */
import { Command } from 'commander';
import type * as SkipCommand from '../commands/skip';
import { UsageError } from '../errors';
import { isTargetUrl } from '../io/settings';
import { Cli, exitHelp } from './context';
import { formatSkip, lockedLine } from './print';
import { LOGGING, SettingFlags, WHERE, addSettingOptions, oneTarget } from './settingOptions';

const EXIT_CODES = exitHelp(`  0  skipped (or the gaps acknowledged)
  1  nothing skipped: the answer was no, or a run holds the lock
  2  bad usage, config or state`);

type SkipFlags = SettingFlags & { stoppedTarget?: string; gaps?: boolean; yes?: boolean; reason?: string };

/** Adds `skip` to the CLI. */
export function addSkipCommand(program: Command, cli: Cli): void {
  const cmd = program.command('skip').description('move a stopped target past the one statement it fails on, after showing it; or acknowledge lost log records');
  addSettingOptions(cmd, [...WHERE, 'targets', 'stateFile', ...LOGGING, 'connectTimeout'], EXIT_CODES)
    .option('--stopped-target <name>', 'the stopped target (--target NAME, without a URL, still names it too; --target NAME=URL names it and where its ledger is)')
    .option('--gaps', 'acknowledge the log records lost before they were read (status lists them), once the targets were checked')
    .option('-y, --yes', 'skip without asking')
    .option('--reason <text>', 'why, kept with the skipped statement')
    .action(async (flags: SkipFlags) => cli.exit(await skipAction(cli, flags)));
}

async function skipAction(cli: Cli, flags: SkipFlags): Promise<number> {
  // --target takes servers, as everywhere; a bare name is the stopped target, as it used to be, and
  // one NAME=URL alone names it as well as where its ledger is.
  const given = flags.target ?? [];
  const urls = given.filter(isTargetUrl);
  let named = [...(flags.stoppedTarget ? [flags.stoppedTarget] : []), ...given.filter((t) => !isTargetUrl(t))];
  if (named.length === 0 && urls.length === 1) named = [oneTarget(urls[0])!.name];
  if (named.length > 1) throw new UsageError(`skip takes one stopped target at a time (given: ${named.join(', ')})`);
  const { settings, log } = cli.setUp({ ...flags, target: urls.length > 0 ? urls : undefined });
  const { io } = cli;
  const commands = require('../commands/skip') as typeof SkipCommand;
  if (flags.gaps) {
    const res = await commands.acknowledgeGaps(settings, { yes: flags.yes === true, reason: flags.reason, log });
    if (res.kind === 'locked') {
      io.stderr(lockedLine(res.lockFile));
      return 1;
    }
    io.stdout(`Acknowledged ${res.count} gap(s); recorded in ${res.record}.\n`);
    return 0;
  }
  if (named.length === 0) throw new UsageError('skip needs --stopped-target NAME (or --gaps)');
  const name = named[0];
  const ask = io.ask;
  const confirm = ask
    ? async (failure: Parameters<typeof formatSkip>[1]): Promise<boolean> => {
        io.stdout(formatSkip(name, failure));
        return ask(`Skip it on ${name}? [y/N] `);
      }
    : undefined;
  const res = await commands.skip(settings, name, { yes: flags.yes === true, reason: flags.reason, log, confirm });
  if (res.kind === 'locked') {
    io.stderr(lockedLine(res.lockFile));
    return 1;
  }
  if (res.kind === 'declined') {
    io.stdout('Nothing skipped.\n');
    return 1;
  }
  if (flags.yes) io.stdout(formatSkip(res.target, res.failure));
  io.stdout(`Skipped on ${res.target}; recorded in ${res.record}. The next run goes on from the statement after it.\n`);
  return 0;
}
