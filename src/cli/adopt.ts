/** `pg-ddl-sync adopt`: take on a target whose schema already matches the primary's at a point of the log. */
import { Command } from 'commander';
import type * as AdoptCommand from '../commands/adopt';
import { Cli, exitHelp } from './context';
import { lockedLine } from './print';
import { LOGGING, SettingFlags, WHERE, addSettingOptions, oneTarget } from './settingOptions';

const EXIT_CODES = exitHelp(`  0  adopted: recorded in the target's ledger and the state
  1  nothing recorded: the target could not be reached, or a run holds the lock
  2  bad usage, config, state or --from`);

type AdoptFlags = Omit<SettingFlags, 'target'> & { target: string; from: string; reason?: string };

/** Adds `adopt` to the CLI. Its --target names the one target it adopts (NAME, or NAME=URL): its own option. */
export function addAdoptCommand(program: Command, cli: Cli): void {
  const cmd = program
    .command('adopt')
    .description("take on a target whose schema already matches the primary's at a point of the log (pg_dump, a base backup, verify said same): what the log holds before it is not replayed there");
  addSettingOptions(cmd, [...WHERE, 'stateFile', ...LOGGING, 'connectTimeout'], EXIT_CODES)
    .requiredOption('--target <name>', 'the target: NAME from the config file, or NAME=URL')
    .requiredOption('--from <point>', "where it starts: now (the log's end), FILE:OFFSET (a record's place), or a time ('2026-12-06 10:00:00+00')")
    .option('--reason <text>', 'why, kept with the adoption')
    .action(async (flags: AdoptFlags) => cli.exit(await adoptAction(cli, flags)));
}

async function adoptAction(cli: Cli, flags: AdoptFlags): Promise<number> {
  const one = oneTarget(flags.target)!;
  const { settings, log } = cli.setUp({ ...flags, target: one.targets });
  const { adopt } = require('../commands/adopt') as typeof AdoptCommand;
  const res = await adopt(settings, one.name, flags.from, { reason: flags.reason, log });
  if (res.kind === 'locked') {
    cli.io.stderr(lockedLine(res.lockFile));
    return 1;
  }
  cli.io.stdout(
    `Adopted ${res.target} at ${res.at}: in database(s) ${res.databases.join(', ')} its ledger counts what was logged before it as applied ` +
      `(${res.passedOver} journal entry(ies) passed over); recorded in ${res.record}. The next run applies only what comes after it.\n`,
  );
  return 0;
}
