/** `pg-ddl-sync run`: one pass, or with --interval a resident run; what it did becomes output and an exit code. */
import { Command } from 'commander';
import type * as ResidentCommand from '../commands/resident';
import type * as RunCommand from '../commands/run';
import { Cli, exitHelp, reportDamage, reportUnknown } from './context';
import { failureLine, formatListings, gapLine } from './print';
import { APPLYING, SettingFlags, addSettingOptions, settingsFrom } from './settingOptions';

/** A run that has held the lock for this long makes the next one exit 1. */
const STUCK_RUN_MINUTES = 10;

const EXIT_CODES = exitHelp(`  0  every target is caught up (or another run holds the lock and this one did nothing)
  1  a target failed or is behind; it is retried next run. Or a statement was held back longer
     than --max-held-back, its transaction's end unknown
  2  bad usage, config, state or log data: needs a person`);

type RunFlags = SettingFlags & { dryRun?: boolean; skipMalformed?: boolean };

/** Adds `run` to the CLI. */
export function addRunCommand(program: Command, cli: Cli): void {
  const cmd = program.command('run').description('one pass: new csvlog records -> every target, then exit; with --interval, stay resident');
  addSettingOptions(cmd, APPLYING, EXIT_CODES).option('-n, --dry-run', 'print what would be sent to each target; change nothing');
  addSettingOptions(cmd, ['interval'])
    .option('--skip-malformed', 'go on past a malformed csvlog record at the next log file, passing over the rest of its file (logs what it skips); in the file the server writes, it stops until that rotates')
    .action(async (flags: RunFlags) => cli.exit(await runAction(cli, flags)));
}

async function runAction(cli: Cli, flags: RunFlags): Promise<number> {
  const { io } = cli;
  const { settings, log } = cli.setUp(flags);
  const { run } = require('../commands/run') as typeof RunCommand;
  const res =
    settings.intervalMs > 0 && !flags.dryRun
      ? await (require('../commands/resident') as typeof ResidentCommand).resident(settings, { log, reload: () => settingsFrom(flags) })
      : await run(settings, flags.dryRun === true, { log }, flags.skipMalformed === true);
  if (res.kind === 'stopped') return 0;
  if (res.kind === 'locked') {
    const minutes = Math.floor(res.heldForMs / 60_000);
    // A run that holds the lock this long is stuck somewhere: say so instead of exiting 0 forever.
    if (minutes >= STUCK_RUN_MINUTES) {
      io.stderr(`pg-ddl-sync: a run has held the lock ${res.lockFile} for ${minutes} minutes; see what it waits for in the tool's log and on the targets (pg_stat_activity, application_name pg-ddl-sync)\n`);
      return 1;
    }
    if (res.resident) {
      // The crontab line that restarts a resident run when it is gone: said at debug only, not a
      // line a minute.
      const { pid, since, lastBeat } = res.resident;
      log.debug('a resident run holds the lock; nothing done', { lock: res.lockFile, pid, since, last_beat: lastBeat });
    } else {
      log.info('another run holds the lock; nothing done', { lock: res.lockFile });
    }
    return 0;
  }
  // With the log in files, what needs a person is said on stderr too (cron mails it); without,
  // the log is on stderr already.
  if (settings.logDir) for (const w of res.warnings) io.stderr(`pg-ddl-sync: warning: ${w}\n`);
  let code = 0;
  if (res.kind === 'dry-run') {
    io.stdout(formatListings(res.listings));
  } else {
    const line = failureLine(res.targets) ?? gapLine(res.gaps) ?? res.heldBack ?? res.nested;
    if (line) {
      io.stderr(`pg-ddl-sync: ${line}\n`);
      code = 1;
    }
  }
  code = reportUnknown(io, res.unknown) ?? code;
  return reportDamage(io, res.damage) ?? code;
}
