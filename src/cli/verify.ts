/** `pg-ddl-sync verify`: each target's schema compared with the primary's. */
import { Command } from 'commander';
import type * as VerifyCommand from '../commands/verify';
import { isTargetUrl, selectTargets } from '../io/settings';
import { Cli, exitHelp } from './context';
import { formatVerification, verifySummary } from './print';
import { LOGGING, SettingFlags, WHERE, addSettingOptions, repeat } from './settingOptions';

const EXIT_CODES = exitHelp(`  0  every target matches the primary
  1  some target differs: an object missing, extra or different
  2  bad usage, or a server could not be reached or read`);

type VerifyFlags = SettingFlags & { database?: string[]; roles?: boolean; json?: boolean };

/** Adds `verify` to the CLI. Its --target takes a target's name too: its own option. */
export function addVerifyCommand(program: Command, cli: Cli): void {
  const cmd = program
    .command('verify')
    .description("compare each target's schema with the primary's, database by database, object by object")
    .option('--target <name|[name=]url>', 'a target of the config file by name, or a target server (libpq URI); repeatable (default: every target)', repeat);
  addSettingOptions(cmd, [...WHERE, 'source', 'includeDatabases', 'excludeDatabases', 'databaseMap', 'connectTimeout', 'statementTimeout', ...LOGGING], EXIT_CODES)
    .option('--database <db>', 'only this primary database (default: every database each target takes); repeatable', repeat)
    .option('--roles', 'compare roles and memberships too')
    .option('--json', 'the documented JSON form')
    .action(async (flags: VerifyFlags) => cli.exit(await verifyAction(cli, flags)));
}

async function verifyAction(cli: Cli, flags: VerifyFlags): Promise<number> {
  const given = flags.target ?? [];
  const urls = given.filter(isTargetUrl);
  const { settings } = cli.setUp({ ...flags, target: urls.length > 0 ? urls : undefined });
  settings.targets = selectTargets(settings.targets, given.filter((t) => !isTargetUrl(t)));
  const { verify, verifyExitCode } = require('../commands/verify') as typeof VerifyCommand;
  const res = await verify(settings, { databases: flags.database, roles: flags.roles === true });
  cli.io.stdout(flags.json ? `${JSON.stringify(res, null, 2)}\n` : formatVerification(res));
  const code = verifyExitCode(res);
  if (code !== 0) cli.io.stderr(`pg-ddl-sync: ${verifySummary(res)}\n`);
  return code;
}
