/** `pg-ddl-sync check`: the findings about the config, the primary, the files and the targets. */
import { Command } from 'commander';
import type * as CheckCommand from '../commands/check';
import { Cli, exitHelp } from './context';
import { formatFindings } from './print';
import { LOGGING, SettingFlags, WHERE, WHO, addSettingOptions } from './settingOptions';

const EXIT_CODES = exitHelp(`  0  every finding is ok
  1  some finding is a warning or an error (each is listed)
  2  bad usage or config`);

/** Adds `check` to the CLI. */
export function addCheckCommand(program: Command, cli: Cli): void {
  const cmd = program.command('check').description("check the config, the primary's logging settings, the files, the targets and the password file");
  addSettingOptions(cmd, [...WHERE, 'targets', 'stateFile', 'source', 'databaseMap', 'connectTimeout', ...WHO, ...LOGGING], EXIT_CODES).action(
    async (flags: SettingFlags) => cli.exit(await checkAction(cli, flags)),
  );
}

async function checkAction(cli: Cli, flags: SettingFlags): Promise<number> {
  const { settings } = cli.setUp(flags);
  const { check, checkExitCode } = require('../commands/check') as typeof CheckCommand;
  const findings = await check(settings);
  cli.io.stdout(formatFindings(findings));
  return checkExitCode(findings);
}
