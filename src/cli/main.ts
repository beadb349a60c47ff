/**
 * The command line: commander wiring, one settings step, and the one place where results and errors
 * become output and exit codes (0 caught up, 1 a target failed or is behind, 2 needs a person).
 */
import { Command, CommanderError, Option } from 'commander';
import { run } from '../commands/run';
import { replay } from '../commands/replay';
import { SyncError } from '../errors';
import { Logger, createLogger } from '../io/logger';
import { RawSettings, Settings, readConfigFile, resolveSettings } from '../settings';
import { failureLine, formatListings } from './print';

interface CommonFlags {
  config?: string;
  csvlogDir?: string;
  target?: string[];
  stateFile?: string;
  logDir?: string;
  logPrefix?: string;
  logLevel?: string;
  sourceName?: string;
  source?: string;
  connectTimeout?: string;
  dryRun?: boolean;
}

const EXIT_HELP = `
Exit codes:
  0  every target is caught up (or another run holds the lock and this one did nothing)
  1  a target failed or is behind; it is retried next run
  2  bad usage, config, state or log data: needs a person`;

function addCommon(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'JSON config file (flags beat its keys)')
    .option('--csvlog-dir <dir>', "the primary's csvlog directory")
    .option('--target <[name=]url>', 'a target server (libpq URI); repeatable', (v: string, acc: string[] = []) => [...acc, v])
    .option('--state-file <file>', 'where positions are kept (default: ~/.local/state/pg-ddl-sync/<csvlog dir>.state.json)')
    .option('--log-dir <dir>', "directory for the tool's own daily log files (default: stderr)")
    .option('--log-prefix <name>', 'log file name prefix (default: pg-ddl-sync)')
    .addOption(new Option('--log-level <level>', 'error, warn, info or debug (default: info)'))
    .option('--source-name <name>', "labels the rows this primary adds to the targets' ledgers (default: host:csvlog-dir)")
    .option('--source <url>', 'the primary (libpq URI), asked which transactions are still running when the log does not tell')
    .option('--connect-timeout <seconds>', 'give up connecting to a target after this long (default: 10)')
    .option('-n, --dry-run', 'print what would be sent to each target; change nothing')
    .addHelpText('after', EXIT_HELP);
}

function settingsFrom(flags: CommonFlags): Settings {
  const raw: RawSettings = {
    csvlogDir: flags.csvlogDir,
    targets: flags.target,
    stateFile: flags.stateFile,
    logDir: flags.logDir,
    logPrefix: flags.logPrefix,
    logLevel: flags.logLevel,
    sourceName: flags.sourceName,
    source: flags.source,
    connectTimeout: flags.connectTimeout,
  };
  const file = flags.config ? readConfigFile(flags.config) : {};
  return resolveSettings(raw, file);
}

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const processIo: Io = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

/**
 * Runs the CLI and returns the exit code.
 * @param argv process.argv
 * @param io where output goes
 */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  let code = 0;
  let log: Logger | undefined;
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

  addCommon(program.command('run').description('one pass: new csvlog records -> every target, then exit')).action(
    async (flags: CommonFlags) => {
      const settings = settingsFrom(flags);
      log = createLogger({ level: settings.logLevel, logDir: settings.logDir, prefix: settings.logPrefix });
      const res = await run(settings, flags.dryRun === true, { log });
      if (res.kind === 'locked') {
        log.info('another run holds the lock; nothing done', { lock: res.lockFile });
        return;
      }
      if (res.kind === 'dry-run') {
        io.stdout(formatListings(res.listings));
        return;
      }
      const line = failureLine(res.targets);
      if (line) {
        io.stderr(`pg-ddl-sync: ${line}\n`);
        code = 1;
      }
    },
  );

  addCommon(
    program
      .command('replay')
      .argument('<file...>', 'csvlog files, replayed in the order given')
      .description('the DDL of these csvlog files, from their start, without reading or writing the state file'),
  ).action(async (files: string[], flags: CommonFlags) => {
    const settings = settingsFrom(flags);
    log = createLogger({ level: settings.logLevel, logDir: settings.logDir, prefix: settings.logPrefix });
    const res = await replay(settings, files, flags.dryRun === true, log);
    if (res.kind === 'dry-run') {
      io.stdout(formatListings(res.listings));
      if (res.waiting > 0) io.stdout(`-- ${res.waiting} statement(s) left out: their transaction's end is not in these files\n`);
      return;
    }
    const line = failureLine(res.targets);
    if (line) {
      io.stderr(`pg-ddl-sync: ${line}\n`);
      code = 1;
    }
  });

  try {
    await program.parseAsync(argv);
  } catch (err) {
    code = exitFor(err, io);
  } finally {
    await log?.close();
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


