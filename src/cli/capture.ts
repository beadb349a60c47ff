/** `pg-ddl-sync capture install|remove|status`: the capture helper on the primary. */
import { Command } from 'commander';
import type * as CaptureCommand from '../commands/capture';
import { Cli, exitHelp } from './context';
import { LOGGING, SettingFlags, addSettingOptions } from './settingOptions';

const EXIT_CODES = exitHelp(`  0  done (status: the helper is in every database, at this version)
  1  status: some database lacks the helper, or has an older one
  2  bad usage, the role is not a superuser, the major has no pg_event_trigger_ddl_commands(), or the
     helper's schema holds objects of another role`);

const OPTIONS = ['config', 'dataDir', 'source', 'connectTimeout', ...LOGGING] as const;

/** Adds `capture` and its three subcommands to the CLI. */
export function addCaptureCommand(program: Command, cli: Cli): void {
  const capture = program
    .command('capture')
    .description("the capture helper on the primary: an event trigger that writes each DDL command's transaction, role and settings into the csvlog");
  addSettingOptions(capture.command('install').description('install it (again) in every database of the primary, template1 too; needs a superuser'), OPTIONS, EXIT_CODES)
    .action(async (flags: SettingFlags) => cli.exit(await installAction(cli, flags)));
  addSettingOptions(capture.command('remove').description('drop it from every database of the primary; needs a superuser'), OPTIONS, EXIT_CODES)
    .action(async (flags: SettingFlags) => cli.exit(await removeAction(cli, flags)));
  addSettingOptions(capture.command('status').description('whether each database of the primary has it, and its version'), OPTIONS, EXIT_CODES)
    .option('--json', 'as JSON: [{"database": …, "version": N or null}]')
    .action(async (flags: SettingFlags & { json?: boolean }) => cli.exit(await statusAction(cli, flags)));
}

function command(): typeof CaptureCommand {
  return require('../commands/capture') as typeof CaptureCommand;
}

async function installAction(cli: Cli, flags: SettingFlags): Promise<number> {
  const res = await command().captureInstall(cli.setUp(flags).settings);
  cli.io.stdout(`Installed the capture helper in ${res.databases.length} database(s): ${res.databases.join(', ')} (${res.keptKey ? 'the key it had' : 'a new key'}).\n`);
  return 0;
}

async function removeAction(cli: Cli, flags: SettingFlags): Promise<number> {
  const dbs = await command().captureRemove(cli.setUp(flags).settings);
  cli.io.stdout(`Removed the capture helper from ${dbs.length} database(s): ${dbs.join(', ')}.\n`);
  return 0;
}

async function statusAction(cli: Cli, flags: SettingFlags & { json?: boolean }): Promise<number> {
  const { captureStatus, captureStatusExitCode, captureLine } = command();
  const dbs = await captureStatus(cli.setUp(flags).settings);
  cli.io.stdout(flags.json ? `${JSON.stringify(dbs, null, 2)}\n` : dbs.map((d) => `${d.database}: ${captureLine(d)}\n`).join(''));
  return captureStatusExitCode(dbs);
}
