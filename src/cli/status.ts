/** `pg-ddl-sync status`: where each target stands, as text or the documented JSON. */
import { Command } from 'commander';
import type * as StatusCommand from '../commands/status';
import { Cli, exitHelp } from './context';
import type * as PrintStatus from './printStatus';
import { LOGGING, SettingFlags, WHERE, addSettingOptions } from './settingOptions';

const EXIT_CODES = exitHelp(`  0  every configured target is caught up, no gap or unknown outcome waits
  1  a target is behind, stopped or new; a gap or a crash's unknown outcome waits for a person
  2  bad usage or config, or no state file to read (give -c CONFIG or --state-file)`);

type StatusFlags = SettingFlags & { json?: boolean };

/** Adds `status` to the CLI. */
export function addStatusCommand(program: Command, cli: Cli): void {
  const cmd = program.command('status').description('where each target stands; exit 0 when all are caught up, 1 when any is behind or stuck');
  addSettingOptions(cmd, [...WHERE, 'targets', 'stateFile', 'source', 'connectTimeout', ...LOGGING], EXIT_CODES)
    .option('--json', 'the documented JSON form, for monitoring')
    .action(async (flags: StatusFlags) => cli.exit(await statusAction(cli, flags)));
}

async function statusAction(cli: Cli, flags: StatusFlags): Promise<number> {
  const { settings } = cli.setUp(flags);
  const { status, statusExitCode, withCapture } = require('../commands/status') as typeof StatusCommand;
  const res = await withCapture(await status(settings), settings);
  cli.io.stdout(flags.json ? `${JSON.stringify(res, null, 2)}\n` : (require('./printStatus') as typeof PrintStatus).formatStatus(res));
  return statusExitCode(res);
}
