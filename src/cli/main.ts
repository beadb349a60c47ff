/**
 * The command line: commander wiring, one settings step, and the one place where results and errors
 * become output and exit codes (0 caught up, 1 a target failed or is behind, 2 needs a person).
 */
import { Command, CommanderError } from 'commander';
// Each command's module is loaded when that command runs: a cron `run` does not pay for the others.
import type * as CaptureCommand from '../commands/capture';
import type * as CheckCommand from '../commands/check';
import type * as ReplayCommand from '../commands/replay';
import type * as ResidentCommand from '../commands/resident';
import type * as ResolveCommand from '../commands/resolve';
import type * as RunCommand from '../commands/run';
import type * as AdoptCommand from '../commands/adopt';
import type * as SkipCommand from '../commands/skip';
import type * as StatusCommand from '../commands/status';
import type * as VerifyCommand from '../commands/verify';
import type { UnknownOutcome } from '../commands/report';
import { SyncError, UsageError } from '../errors';
import { parseTarget } from '../io/target';
import { Logger, createLogger } from '../io/logger';
import { RawSettings, Settings, isTargetUrl, parseDatabaseMap, readConfigFile, resolveSettings, selectTargets } from '../settings';
import { askYesNo } from './ask';
import { addSetupCommands } from './setupCommands';
import { failureLine, lockedLine, formatFindings, formatListings, formatSkip, formatStatus, formatVerification, gapLine, unknownLine, verifySummary } from './print';

interface CommonFlags {
  config?: string;
  csvlogDir?: string;
  dataDir?: string;
  target?: string[];
  stateFile?: string;
  logDir?: string;
  logPrefix?: string;
  logLevel?: string;
  logFormat?: string;
  metricsFile?: string;
  sourceName?: string;
  source?: string;
  connectTimeout?: string;
  lockTimeout?: string;
  statementTimeout?: string;
  lockRetries?: string;
  applyAs?: string;
  ignoreUser?: string[];
  ignoreSyncUsers?: boolean;
  maxHeldBack?: string;
  sendInstanceCommands?: boolean;
  logKeepDays?: string;
  interval?: string;
  includeDatabase?: string[];
  excludeDatabase?: string[];
  includeCommand?: string[];
  excludeCommand?: string[];
  excludeMatching?: string[];
  mapDatabase?: string[];
}

const repeat = (v: string, acc: string[] = []): string[] => [...acc, v];

/** A run that has held the lock for this long makes the next one exit 1. */
const STUCK_RUN_MINUTES = 10;

const exitHelp = (codes: string): string => `\nExit codes:\n${codes}`;

/** Each command's exit codes, in its own --help. */
const EXIT_CODES = {
  run: exitHelp(`  0  every target is caught up (or another run holds the lock and this one did nothing)
  1  a target failed or is behind; it is retried next run. Or a statement was held back longer
     than --max-held-back, its transaction's end unknown
  2  bad usage, config, state or log data: needs a person`),
  replay: exitHelp(`  0  every statement of the files was applied (or listed, with --dry-run)
  1  a target failed; what it took before is in its ledger
  2  bad usage, config or log data: needs a person`),
  status: exitHelp(`  0  every configured target is caught up, no gap or unknown outcome waits
  1  a target is behind, stopped or new; a gap or a crash's unknown outcome waits for a person
  2  bad usage or config, or no state file to read (give -c CONFIG or --state-file)`),
  check: exitHelp(`  0  every finding is ok
  1  some finding is a warning or an error (each is listed)
  2  bad usage or config`),
  skip: exitHelp(`  0  skipped (or the gaps acknowledged)
  1  nothing skipped: the answer was no, or a run holds the lock
  2  bad usage, config or state`),
  resolve: exitHelp(`  0  decided and recorded
  1  nothing decided: the answer was no, or a run holds the lock
  2  bad usage, config or state`),
  adopt: exitHelp(`  0  adopted: recorded in the target's ledger and the state
  1  nothing recorded: the target could not be reached, or a run holds the lock
  2  bad usage, config, state or --from`),
  capture: exitHelp(`  0  done (status: the helper is in every database, at this version)
  1  status: some database lacks the helper, or has an older one
  2  bad usage, the role is not a superuser, the major has no pg_event_trigger_ddl_commands(), or the
     helper's schema holds objects of another role`),
  verify: exitHelp(`  0  every target matches the primary
  1  some target differs: an object missing, extra or different
  2  bad usage, or a server could not be reached or read`),
} as const;

/** Every option of the commands that read the log and state, by name: each command picks its own. */
const OPTIONS = {
  config: ['-c, --config <file>', 'JSON config file (flags beat its keys)'],
  csvlogDir: ['--csvlog-dir <dir>', "the primary's csvlog directory"],
  dataDir: ['--data-dir <dir>', "the primary's data directory: finds the csvlog directory and, while it runs, the primary for --source"],
  target: ['--target <[name=]url>', 'a target server (libpq URI); repeatable', repeat],
  stateFile: ['--state-file <file>', 'where positions are kept (default: ~/.local/state/pg-ddl-sync/<csvlog dir>.state.json)'],
  source: ['--source <url>', 'the primary (libpq URI), asked which transactions are still running when the log does not tell'],
  sourceName: ['--source-name <name>', "labels the rows this primary adds to the targets' ledgers (default: host:csvlog-dir)"],
  includeDatabase: ['--include-database <db>', 'only DDL of this primary database; repeatable', repeat],
  excludeDatabase: ['--exclude-database <db>', 'leave out DDL of this primary database; repeatable', repeat],
  includeCommand: ['--include-command <tag>', "only statements of this command tag ('CREATE TABLE'); repeatable", repeat],
  excludeCommand: ['--exclude-command <tag>', "leave out statements of this command tag ('CREATE ROLE', 'GRANT'); repeatable", repeat],
  excludeMatching: ['--exclude-matching <regex>', 'leave out statements matching this regular expression; repeatable', repeat],
  mapDatabase: ['--map-database <primary=target>', 'run the DDL of a primary database in a database of another name; repeatable', repeat],
  sendInstanceCommands: ['--send-instance-commands', 'also send what acts on the instance, not on a schema: ALTER SYSTEM, tablespaces, subscriptions (default: left out, counted in the log)'],
  logDir: ['--log-dir <dir>', "directory for the tool's own daily log files (default: stderr)"],
  logPrefix: ['--log-prefix <name>', 'log file name prefix (default: pg-ddl-sync)'],
  logLevel: ['--log-level <level>', 'error, warn, info or debug (default: info)'],
  logFormat: ['--log-format <format>', 'text or json (default: text)'],
  logKeepDays: ['--log-keep-days <days>', "delete the tool's own log files of --log-dir older than this many days (default: 30; 0: keep all)"],
  metricsFile: ['--metrics-file <file>', 'write Prometheus metrics here after each run (node_exporter textfile collector)'],
  connectTimeout: ['--connect-timeout <seconds>', 'give up connecting to a server after this long (default: 10)'],
  lockTimeout: ['--lock-timeout <seconds>', 'on targets, a statement waits this long for a lock, then gives way (default: 5; 0: no limit)'],
  lockRetries: ['--lock-retries <n>', 'tries a statement that gave way on a lock this many more times in a run, waiting longer each time; then the next run does (default: 3)'],
  statementTimeout: ['--statement-timeout <seconds>', 'on targets, a statement may run this long; the tool waits for an answer this long and 5 s more (default: 600; 0: no limit)'],
  ignoreUser: ['--ignore-user <role>', 'never send statements this role ran on the primary, besides those of the roles the tool connects to its targets as (what pg-ddl-sync itself ran there is never sent); repeatable', repeat],
  ignoreSyncUsers: ['--ignore-sync-users', "never send statements that the roles the tool connects to its targets as ran on the primary: for a mesh whose tools have a role of their own (default: off; what a pg-ddl-sync ran is never sent, told by its application_name)"],
  noIgnoreSyncUsers: ['--no-ignore-sync-users', "send those roles' statements, unless a pg-ddl-sync ran them (the default)"],
  maxHeldBack: ['--max-held-back <seconds>', "a statement held back this long, its transaction's end unknown, makes the run exit 1 (default: 600)"],
  applyAs: ['--apply-as <who>', "on targets, run each statement as the role that ran it on the primary ('original'), or as the sync user ('sync') (default: original)"],
} as const satisfies Record<string, readonly [string, string] | readonly [string, string, typeof repeat]>;

type OptionName = keyof typeof OPTIONS;

const WHERE: OptionName[] = ['config', 'csvlogDir', 'dataDir'];
const LOGGING: OptionName[] = ['logDir', 'logPrefix', 'logLevel', 'logFormat', 'logKeepDays'];
const FILTERS: OptionName[] = ['includeDatabase', 'excludeDatabase', 'includeCommand', 'excludeCommand', 'excludeMatching', 'mapDatabase'];
const WHO: OptionName[] = ['ignoreUser', 'ignoreSyncUsers', 'noIgnoreSyncUsers'];
const APPLYING: OptionName[] = [
  ...WHERE, 'target', 'stateFile', 'source', 'sourceName', ...FILTERS, 'sendInstanceCommands', ...LOGGING, 'metricsFile',
  'connectTimeout', 'lockTimeout', 'lockRetries', 'statementTimeout', ...WHO, 'maxHeldBack', 'applyAs',
];

/** The options each command takes, in the order its --help lists them. */
const COMMAND_OPTIONS: Record<keyof typeof EXIT_CODES, OptionName[]> = {
  run: APPLYING,
  replay: APPLYING,
  status: [...WHERE, 'target', 'stateFile', 'source', 'connectTimeout', ...LOGGING],
  check: [...WHERE, 'target', 'stateFile', 'source', 'mapDatabase', 'connectTimeout', ...WHO, ...LOGGING],
  skip: [...WHERE, 'target', 'stateFile', ...LOGGING, 'connectTimeout'],
  resolve: [...WHERE, 'stateFile', ...LOGGING],
  // Its --target names the one target it adopts (NAME, or NAME=URL): its own option.
  adopt: [...WHERE, 'stateFile', ...LOGGING, 'connectTimeout'],
  capture: ['config', 'dataDir', 'source', 'connectTimeout', ...LOGGING],
  verify: [...WHERE, 'source', 'includeDatabase', 'excludeDatabase', 'mapDatabase', 'connectTimeout', 'statementTimeout', ...LOGGING],
};

/** Adds a command's own options (COMMAND_OPTIONS) and its exit codes to its --help. */
function addOptions(cmd: Command, name: keyof typeof EXIT_CODES): Command {
  for (const key of COMMAND_OPTIONS[name]) {
    const [flags, description, parse] = OPTIONS[key] as readonly [string, string, typeof repeat?];
    if (parse) cmd.option(flags, description, parse);
    else cmd.option(flags, description);
  }
  return cmd.addHelpText('after', EXIT_CODES[name]);
}

function settingsFrom(flags: CommonFlags): Settings {
  const raw: RawSettings = {
    csvlogDir: flags.csvlogDir,
    dataDir: flags.dataDir,
    targets: flags.target,
    stateFile: flags.stateFile,
    logDir: flags.logDir,
    logPrefix: flags.logPrefix,
    logLevel: flags.logLevel,
    logFormat: flags.logFormat,
    metricsFile: flags.metricsFile,
    sourceName: flags.sourceName,
    source: flags.source,
    connectTimeout: flags.connectTimeout,
    lockTimeout: flags.lockTimeout,
    statementTimeout: flags.statementTimeout,
    lockRetries: flags.lockRetries,
    applyAs: flags.applyAs,
    ignoreUsers: flags.ignoreUser,
    ignoreSyncUsers: flags.ignoreSyncUsers,
    maxHeldBack: flags.maxHeldBack,
    sendInstanceCommands: flags.sendInstanceCommands,
    logKeepDays: flags.logKeepDays,
    interval: flags.interval,
    includeDatabases: flags.includeDatabase,
    excludeDatabases: flags.excludeDatabase,
    includeCommands: flags.includeCommand,
    excludeCommands: flags.excludeCommand,
    excludeMatching: flags.excludeMatching,
    databaseMap: flags.mapDatabase ? parseDatabaseMap(flags.mapDatabase) : undefined,
  };
  const file = flags.config ? readConfigFile(flags.config) : {};
  return resolveSettings(raw, file);
}

/**
 * A command's one `--target`: a name (the config file gives its URL), or NAME=URL.
 * @returns the name, and the --target values for the settings step (undefined: the config's)
 */
function oneTarget(arg: string | undefined): { name: string; targets?: string[] } | undefined {
  if (arg === undefined) return undefined;
  if (!isTargetUrl(arg)) return { name: arg };
  return { name: parseTarget(arg).name, targets: [arg] };
}

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Asks a yes/no question at the terminal; undefined when there is none. */
  ask?: (question: string) => Promise<boolean>;
}

const processIo: Io = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  ask: process.stdin.isTTY ? askYesNo : undefined,
};

/**
 * Runs the CLI and returns the exit code.
 * @param argv process.argv
 * @param io where output goes
 */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  let code = 0;
  let log: Logger | undefined;
  const setUp = (flags: CommonFlags): Settings => {
    const settings = settingsFrom(flags);
    log = createLogger({ level: settings.logLevel, format: settings.logFormat, logDir: settings.logDir, prefix: settings.logPrefix, keepDays: settings.logKeepDays });
    return settings;
  };
  const program = new Command('pg-ddl-sync')
    .description("Replays the DDL a PostgreSQL primary logged to its csvlog on other instances: only what committed, in order, once.")
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .configureOutput({
      writeOut: io.stdout,
      writeErr: io.stderr,
      // One line, like every other error: commander's own spreads a hint over a second line.
      outputError: (text, write) => write(`pg-ddl-sync: ${text.replace(/^error: /, '').trim().replace(/\s*\n\s*/g, ' ')} (see --help)\n`),
    });

  addOptions(program.command('run').description('one pass: new csvlog records -> every target, then exit; with --interval, stay resident'), 'run')
    .option('-n, --dry-run', 'print what would be sent to each target; change nothing')
    .option('--interval <seconds>', 'stay resident, holding the lock: a pass every this often, or as soon as the csvlog grows; SIGTERM/SIGINT end it after the statement under way, SIGHUP reads the config again (default: 0, one pass)')
    .option('--skip-malformed', 'go on past a malformed csvlog record at the next log file, passing over the rest of its file (logs what it skips); in the file the server writes, it stops until that rotates')
    .action(async (flags: CommonFlags & { dryRun?: boolean; skipMalformed?: boolean }) => {
      const settings = setUp(flags);
      const { run } = require('../commands/run') as typeof RunCommand;
      const res =
        settings.intervalMs > 0 && !flags.dryRun
          ? await (require('../commands/resident') as typeof ResidentCommand).resident(settings, { log: log!, reload: () => settingsFrom(flags) })
          : await run(settings, flags.dryRun === true, { log: log! }, flags.skipMalformed === true);
      if (res.kind === 'stopped') return;
      if (res.kind === 'locked' && res.resident && res.heldForMs < STUCK_RUN_MINUTES * 60_000) {
        // The crontab line that restarts a resident run when it is gone: said at debug only, not a
        // line a minute.
        const { pid, since, lastBeat } = res.resident;
        log!.debug('a resident run holds the lock; nothing done', { lock: res.lockFile, pid, since, last_beat: lastBeat });
        return;
      }
      if (res.kind === 'locked') {
        // A run that holds the lock this long is stuck somewhere: say so instead of exiting 0 forever.
        const minutes = Math.floor(res.heldForMs / 60_000);
        if (minutes >= STUCK_RUN_MINUTES) {
          io.stderr(`pg-ddl-sync: a run has held the lock ${res.lockFile} for ${minutes} minutes; see what it waits for in the tool's log and on the targets (pg_stat_activity, application_name pg-ddl-sync)\n`);
          code = 1;
        } else {
          log!.info('another run holds the lock; nothing done', { lock: res.lockFile });
        }
        return;
      }
      // With the log in files, what needs a person is said on stderr too (cron mails it); without,
      // the log is on stderr already.
      if (settings.logDir) for (const w of res.warnings) io.stderr(`pg-ddl-sync: warning: ${w}\n`);
      if (res.kind === 'dry-run') {
        io.stdout(formatListings(res.listings));
        code = unknown(res.unknown) ?? 0;
        code = damaged(res.damage) ?? code;
        return;
      }
      const line = failureLine(res.targets) ?? gapLine(res.gaps) ?? res.heldBack;
      if (line) {
        io.stderr(`pg-ddl-sync: ${line}\n`);
        code = 1;
      }
      code = unknown(res.unknown) ?? code;
      code = damaged(res.damage) ?? code;
    });

  addOptions(
    program
      .command('replay')
      .argument('<file...>', 'csvlog files, replayed in the order given')
      .description('the DDL of these csvlog files, from their start, without reading or writing the state file'),
    'replay',
  )
    .option('-n, --dry-run', 'print what would be sent to each target; change nothing')
    .option('--force', 'replay onto a target that run keeps in step (its state file names it)')
    .option('--skip-malformed', 'go on past a malformed csvlog record at the next log file, passing over the rest of its file (logs what it skips); in the file the server writes, it stops until that rotates')
    .action(async (files: string[], flags: CommonFlags & { dryRun?: boolean; force?: boolean; skipMalformed?: boolean }) => {
      const settings = setUp(flags);
      const opts = { dryRun: flags.dryRun === true, force: flags.force === true, skipMalformed: flags.skipMalformed === true };
      const { replay } = require('../commands/replay') as typeof ReplayCommand;
      const res = await replay(settings, files, opts, log!);
      if (res.kind === 'dry-run') {
        io.stdout(formatListings(res.listings));
        if (res.waiting > 0) io.stdout(`-- ${res.waiting} statement(s) left out: their transaction's end is not in these files\n`);
        code = unknown(res.unknown) ?? 0;
        code = damaged(res.damage) ?? code;
        return;
      }
      const line = failureLine(res.targets);
      if (line) {
        io.stderr(`pg-ddl-sync: ${line}\n`);
        code = 1;
      }
      code = unknown(res.unknown) ?? code;
      code = damaged(res.damage) ?? code;
    });

  addOptions(program.command('status').description('where each target stands; exit 0 when all are caught up, 1 when any is behind or stuck'), 'status')
    .option('--json', 'the documented JSON form, for monitoring')
    .action(async (flags: CommonFlags & { json?: boolean }) => {
      const settings = setUp(flags);
      const { status, statusExitCode, withCapture } = require('../commands/status') as typeof StatusCommand;
      const res = await withCapture(await status(settings), settings);
      io.stdout(flags.json ? `${JSON.stringify(res, null, 2)}\n` : formatStatus(res));
      code = statusExitCode(res);
    });

  addOptions(program.command('skip').description('move a stopped target past the one statement it fails on, after showing it; or acknowledge lost log records'), 'skip')
    .option('--stopped-target <name>', 'the stopped target (--target NAME, without a URL, still names it too; --target NAME=URL names it and where its ledger is)')
    .option('--gaps', 'acknowledge the log records lost before they were read (status lists them), once the targets were checked')
    .option('-y, --yes', 'skip without asking')
    .option('--reason <text>', 'why, kept with the skipped statement')
    .action(async (flags: CommonFlags & { stoppedTarget?: string; gaps?: boolean; yes?: boolean; reason?: string }) => {
      // --target takes servers, as everywhere; a bare name is the stopped target, as it used to be, and
      // one NAME=URL alone names it as well as where its ledger is.
      const given = flags.target ?? [];
      const urls = given.filter(isTargetUrl);
      let named = [...(flags.stoppedTarget ? [flags.stoppedTarget] : []), ...given.filter((t) => !isTargetUrl(t))];
      if (named.length === 0 && urls.length === 1) named = [oneTarget(urls[0])!.name];
      if (named.length > 1) throw new UsageError(`skip takes one stopped target at a time (given: ${named.join(', ')})`);
      const settings = setUp({ ...flags, target: urls.length > 0 ? urls : undefined });
      if (flags.gaps) {
        const { acknowledgeGaps } = require('../commands/skip') as typeof SkipCommand;
        const res = await acknowledgeGaps(settings, { yes: flags.yes === true, reason: flags.reason, log: log! });
        if (res.kind === 'locked') {
          io.stderr(lockedLine(res.lockFile));
          code = 1;
        } else {
          io.stdout(`Acknowledged ${res.count} gap(s); recorded in ${res.record}.\n`);
        }
        return;
      }
      if (named.length === 0) throw new UsageError('skip needs --stopped-target NAME (or --gaps)');
      const name = named[0];
      const ask = io.ask;
      const { skip } = require('../commands/skip') as typeof SkipCommand;
      const res = await skip(settings, name, {
        yes: flags.yes === true,
        reason: flags.reason,
        log: log!,
        confirm: ask
          ? async (failure) => {
              io.stdout(formatSkip(name, failure));
              return ask(`Skip it on ${name}? [y/N] `);
            }
          : undefined,
      });
      if (res.kind === 'locked') {
        io.stderr(lockedLine(res.lockFile));
        code = 1;
      } else if (res.kind === 'declined') {
        io.stdout('Nothing skipped.\n');
        code = 1;
      } else {
        if (flags.yes) io.stdout(formatSkip(res.target, res.failure));
        io.stdout(`Skipped on ${res.target}; recorded in ${res.record}. The next run goes on from the statement after it.\n`);
      }
    });

  addOptions(
    program
      .command('adopt')
      .description("take on a target whose schema already matches the primary's at a point of the log (pg_dump, a base backup, verify said same): what the log holds before it is not replayed there"),
    'adopt',
  )
    .requiredOption('--target <name>', 'the target: NAME from the config file, or NAME=URL')
    .requiredOption('--from <point>', "where it starts: now (the log's end), FILE:OFFSET (a record's place), or a time ('2026-12-06 10:00:00+00')")
    .option('--reason <text>', 'why, kept with the adoption')
    .action(async (flags: Omit<CommonFlags, 'target'> & { target: string; from: string; reason?: string }) => {
      const one = oneTarget(flags.target)!;
      const settings = setUp({ ...flags, target: one.targets });
      const { adopt } = require('../commands/adopt') as typeof AdoptCommand;
      const res = await adopt(settings, one.name, flags.from, { reason: flags.reason, log: log! });
      if (res.kind === 'locked') {
        io.stderr(lockedLine(res.lockFile));
        code = 1;
        return;
      }
      io.stdout(
        `Adopted ${res.target} at ${res.at}: in database(s) ${res.databases.join(', ')} its ledger counts what was logged before it as applied ` +
          `(${res.passedOver} journal entry(ies) passed over); recorded in ${res.record}. The next run applies only what comes after it.\n`,
      );
    });

  addOptions(
    program
      .command('resolve')
      .description("decide a statement whose outcome the primary's crash left unknown (status lists them): --send if the primary has it, --drop if not"),
    'resolve',
  )
    .requiredOption('--at <file:offset>', 'the statement, as status shows it')
    .option('--send', 'it committed on the primary: the next run sends it (and its transaction)')
    .option('--drop', 'it did not commit: it is never sent')
    .option('-y, --yes', 'decide without asking')
    .option('--reason <text>', 'why, kept with the decision')
    .action(async (flags: Omit<CommonFlags, 'target'> & { at: string; send?: boolean; drop?: boolean; yes?: boolean; reason?: string }) => {
      const settings = setUp({ ...flags, target: undefined });
      if (flags.send === flags.drop) throw new UsageError('resolve needs one of --send (the primary has it) and --drop (it does not)');
      const decision = flags.send ? 'send' : 'drop';
      const ask = io.ask;
      const { resolve } = require('../commands/resolve') as typeof ResolveCommand;
      const res = await resolve(settings, flags.at, {
        decision,
        yes: flags.yes === true,
        reason: flags.reason,
        log: log!,
        confirm: ask
          ? async (outcomes) => {
              io.stdout(outcomes.map((u) => `${unknownLine(u)}\n`).join(''));
              return ask(`${decision === 'send' ? 'Send' : 'Drop'} ${outcomes.length === 1 ? 'it' : `these ${outcomes.length}`}? [y/N] `);
            }
          : undefined,
      });
      if (res.kind === 'locked') {
        io.stderr(lockedLine(res.lockFile));
        code = 1;
      } else if (res.kind === 'declined') {
        io.stdout('Nothing decided.\n');
        code = 1;
      } else {
        io.stdout(`${res.decision === 'send' ? 'To be sent by the next run' : 'Dropped'}: ${res.outcomes.length} statement(s); recorded in ${res.record}.\n`);
      }
    });

  addOptions(program.command('check').description("check the config, the primary's logging settings, the files, the targets and the password file"), 'check')
    .action(async (flags: CommonFlags) => {
      const settings = setUp(flags);
      const { check, checkExitCode } = require('../commands/check') as typeof CheckCommand;
      const findings = await check(settings);
      io.stdout(formatFindings(findings));
      code = checkExitCode(findings);
    });

  addOptions(
    program
      .command('verify')
      .description("compare each target's schema with the primary's, database by database, object by object")
      .option('--target <name|[name=]url>', 'a target of the config file by name, or a target server (libpq URI); repeatable (default: every target)', repeat),
    'verify',
  )
    .option('--database <db>', 'only this primary database (default: every database each target takes); repeatable', repeat)
    .option('--roles', 'compare roles and memberships too')
    .option('--json', 'the documented JSON form')
    .action(async (flags: CommonFlags & { database?: string[]; roles?: boolean; json?: boolean }) => {
      const given = flags.target ?? [];
      const urls = given.filter(isTargetUrl);
      const settings = setUp({ ...flags, target: urls.length > 0 ? urls : undefined });
      settings.targets = selectTargets(settings.targets, given.filter((t) => !isTargetUrl(t)));
      const { verify, verifyExitCode } = require('../commands/verify') as typeof VerifyCommand;
      const res = await verify(settings, { databases: flags.database, roles: flags.roles === true });
      io.stdout(flags.json ? `${JSON.stringify(res, null, 2)}\n` : formatVerification(res));
      code = verifyExitCode(res);
      if (code !== 0) io.stderr(`pg-ddl-sync: ${verifySummary(res)}\n`);
    });

  const capture = program
    .command('capture')
    .description("the capture helper on the primary: an event trigger that writes each DDL command's transaction, role and settings into the csvlog");
  addOptions(capture.command('install').description('install it (again) in every database of the primary, template1 too; needs a superuser'), 'capture').action(async (flags: CommonFlags) => {
    const { captureInstall } = require('../commands/capture') as typeof CaptureCommand;
    const res = await captureInstall(setUp(flags));
    io.stdout(`Installed the capture helper in ${res.databases.length} database(s): ${res.databases.join(', ')} (${res.keptKey ? 'the key it had' : 'a new key'}).\n`);
  });
  addOptions(capture.command('remove').description('drop it from every database of the primary; needs a superuser'), 'capture').action(async (flags: CommonFlags) => {
    const { captureRemove } = require('../commands/capture') as typeof CaptureCommand;
    const dbs = await captureRemove(setUp(flags));
    io.stdout(`Removed the capture helper from ${dbs.length} database(s): ${dbs.join(', ')}.\n`);
  });
  addOptions(capture.command('status').description('whether each database of the primary has it, and its version'), 'capture')
    .option('--json', 'as JSON: [{"database": …, "version": N or null}]')
    .action(async (flags: CommonFlags & { json?: boolean }) => {
      const { captureStatus, captureStatusExitCode, captureLine } = require('../commands/capture') as typeof CaptureCommand;
      const dbs = await captureStatus(setUp(flags));
      io.stdout(flags.json ? `${JSON.stringify(dbs, null, 2)}\n` : dbs.map((d) => `${d.database}: ${captureLine(d)}\n`).join(''));
      code = captureStatusExitCode(dbs);
    });

  addSetupCommands(program, io.stdout, packageVersion());

  /** Damage the read stopped at: said last, after what was done before it; the run needs a person. */
  function damaged(err: SyncError | undefined): number | undefined {
    if (!err) return undefined;
    io.stderr(`pg-ddl-sync: ${err.message}\n`);
    return err.exitCode;
  }

  /** Statements a crash left undecided: a line each, every run, until a person resolves them. */
  function unknown(outcomes: UnknownOutcome[]): number | undefined {
    for (const u of outcomes) io.stderr(`pg-ddl-sync: ${unknownLine(u)}; check the primary, then: pg-ddl-sync resolve --at ${u.at} --send (or --drop)\n`);
    return outcomes.length > 0 ? 1 : undefined;
  }

  try {
    await program.parseAsync(argv);
  } catch (err) {
    code = exitFor(err, io);
  } finally {
    try {
      await log?.close();
    } catch (err) {
      // The log could not be written (a full disk): said as one line, unless something was said already.
      if (code === 0) code = exitFor(err, io);
    }
  }
  return code;
}

function packageVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('../../../package.json') as { version: string }).version;
}

function exitFor(err: unknown, io: Io): number {
  if (err instanceof CommanderError) {
    // Help and version are not errors; commander already printed the usage problem.
    return err.exitCode === 0 ? 0 : 2;
  }
  if (err instanceof SyncError) {
    io.stderr(`pg-ddl-sync: ${err.message}\n`);
    return err.exitCode;
  }
  const e = err as Error;
  io.stderr(`pg-ddl-sync: unexpected error: ${e?.message ?? String(err)}\n`);
  if (process.env.PG_DDL_SYNC_DEBUG) io.stderr(`${e?.stack}\n`);
  return 2;
}
