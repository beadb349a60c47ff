/**
 * What every command's adapter shares: where output goes, the settings step that also opens the
 * tool's log, and the lines that a run's damage and unknown outcomes print.
 */
import type { UnknownOutcome } from '../pipeline/report';
import { SyncError } from '../errors';
import { Logger } from '../io/logger';
import { Settings } from '../io/settings';
import type * as Ask from './ask';
import { SettingFlags } from './settingOptions';
import { unknownLine } from './print';

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Asks a yes/no question at the terminal; undefined when there is none. */
  ask?: (question: string) => Promise<boolean>;
}

export const processIo: Io = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  // Loaded when asked: readline is of no use to the commands that never ask (run, replay).
  ask: process.stdin.isTTY ? (q) => (require('./ask') as typeof Ask).askYesNo(q) : undefined,
};

/** What main hands each command's adapter. */
export interface Cli {
  io: Io;
  /** The settings step for the command's flags; opens the tool's log, which main closes. */
  setUp(flags: SettingFlags): { settings: Settings; log: Logger };
  /** Sets the exit code. */
  exit(code: number): void;
}

/** The --help text that lists a command's exit codes. */
export const exitHelp = (codes: string): string => `\nExit codes:\n${codes}`;

/**
 * Damage the read stopped at: said last, after what was done before it; the run needs a person.
 * @returns its exit code, or undefined when there is none
 */
export function reportDamage(io: Io, err: SyncError | undefined): number | undefined {
  if (!err) return undefined;
  io.stderr(`pg-ddl-sync: ${err.message}\n`);
  return err.exitCode;
}

/**
 * Statements a crash left undecided: a line each, every run, until a person resolves them.
 * @returns 1 when there is any, else undefined
 */
export function reportUnknown(io: Io, outcomes: UnknownOutcome[]): number | undefined {
  for (const u of outcomes) io.stderr(`pg-ddl-sync: ${unknownLine(u)}; check the primary, then: pg-ddl-sync resolve --at ${u.at} --send (or --drop)\n`);
  return outcomes.length > 0 ? 1 : undefined;
}
