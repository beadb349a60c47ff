/**
 * The command line: commander wiring, and the one place where errors become one line and an exit
 * code (0 caught up, 1 a target failed or is behind, 2 needs a person). Each command's adapter
 * (cli/run.ts, cli/skip.ts …) turns its flags into settings, calls the command and prints its result.
 */
import { Command, CommanderError } from 'commander';
import { SyncError } from '../errors';
import { Logger, createLogger } from '../io/logger';
import { addAdoptCommand } from './adopt';
import { addCheckCommand } from './check';
import { addCompletionCommand } from './completion';
import { Cli, Io, processIo } from './context';
import { addInstallFilesCommand } from './installFiles';
import { addManCommand } from './manPage';
import { addNestedCommand } from './nested';
import { addReplayCommand } from './replay';
import { addResolveCommand } from './resolve';
import { addRunCommand } from './run';
import { settingsFrom } from './settingOptions';
import { addSkipCommand } from './skip';
import { addCaptureCommand } from './capture';
import { addStatusCommand } from './status';
import { addVerifyCommand } from './verify';

export type { Io } from './context';

/**
 * The CLI's commands, in --help's order.
 * @param cli where their output goes, their settings step and exit code
 */
export function program(cli: Cli): Command {
  const root = new Command('pg-ddl-sync')
    .description("Replays the DDL a PostgreSQL primary logged to its csvlog on other instances: only what committed, in order, once.")
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .configureOutput({
      writeOut: cli.io.stdout,
      writeErr: cli.io.stderr,
      // One line, like every other error: commander's own spreads a hint over a second line.
      outputError: (text, write) => write(`pg-ddl-sync: ${text.replace(/^error: /, '').trim().replace(/\s*\n\s*/g, ' ')} (see --help)\n`),
    });
  const commands = [addRunCommand, addReplayCommand, addStatusCommand, addSkipCommand, addAdoptCommand, addResolveCommand, addNestedCommand, addCheckCommand, addVerifyCommand, addCaptureCommand];
  for (const add of [...commands, addInstallFilesCommand, addCompletionCommand, addManCommand]) add(root, cli);
  return root;
}

/**
 * Runs the CLI and returns the exit code.
 * @param argv process.argv
 * @param io where output goes
 */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  let code = 0;
  let log: Logger | undefined;
  const cli: Cli = {
    io,
    setUp: (flags) => {
      const settings = settingsFrom(flags);
      log = createLogger({ level: settings.logLevel, format: settings.logFormat, logDir: settings.logDir, prefix: settings.logPrefix, keepDays: settings.logKeepDays });
      return { settings, log };
    },
    exit: (c) => {
      code = c;
    },
  };
  try {
    await program(cli).parseAsync(argv);
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
