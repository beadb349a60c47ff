/** `pg-ddl-sync replay FILE...`: the DDL of these csvlog files, without the state file. */
import { Command } from 'commander';
import type * as ReplayCommand from '../commands/replay';
import { Cli, exitHelp, reportDamage, reportUnknown } from './context';
import { failureLine, formatListings } from './print';
import { APPLYING, SettingFlags, addSettingOptions } from './settingOptions';

const EXIT_CODES = exitHelp(`  0  every statement of the files was applied (or listed, with --dry-run)
  1  a target failed; what it took before is in its ledger
  2  bad usage, config or log data: needs a person`);

type ReplayFlags = SettingFlags & { dryRun?: boolean; force?: boolean; skipMalformed?: boolean };

/** Adds `replay` to the CLI. */
export function addReplayCommand(program: Command, cli: Cli): void {
  const cmd = program
    .command('replay')
    .argument('<file...>', 'csvlog files, replayed in the order given')
    .description('the DDL of these csvlog files, from their start, without reading or writing the state file');
  addSettingOptions(cmd, APPLYING, EXIT_CODES)
    .option('-n, --dry-run', 'print what would be sent to each target; change nothing')
    .option('--force', 'replay onto a target that run keeps in step (its state file names it)')
    .option('--skip-malformed', 'go on past a malformed csvlog record at the next log file, passing over the rest of its file (logs what it skips); in the file the server writes, it stops until that rotates')
    .action(async (files: string[], flags: ReplayFlags) => cli.exit(await replayAction(cli, files, flags)));
}

async function replayAction(cli: Cli, files: string[], flags: ReplayFlags): Promise<number> {
  const { io } = cli;
  const { settings, log } = cli.setUp(flags);
  const opts = { dryRun: flags.dryRun === true, force: flags.force === true, skipMalformed: flags.skipMalformed === true };
  const { replay } = require('../commands/replay') as typeof ReplayCommand;
  const res = await replay(settings, files, opts, log);
  let code = 0;
  if (res.kind === 'dry-run') {
    io.stdout(formatListings(res.listings));
    if (res.waiting > 0) io.stdout(`-- ${res.waiting} statement(s) left out: their transaction's end is not in these files\n`);
  } else {
    const line = failureLine(res.targets);
    if (line) {
      io.stderr(`pg-ddl-sync: ${line}\n`);
      code = 1;
    }
  }
  code = reportUnknown(io, res.unknown) ?? code;
  return reportDamage(io, res.damage) ?? code;
}
