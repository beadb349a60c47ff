/**
 * The errors a user can meet. Each carries a `code` and a message written for the person reading it
 * (what is wrong, where, what to do), so the CLI prints the message and nothing else.
 *
 * Exit codes: a `TargetError` is a target's trouble, retried next run (exit 1); every other error here
 * needs a person (exit 2), a `ConnectionError` too: `verify` cannot tell whether a server it could not
 * read matches.
 */

export type ErrorCode =
  /** A flag, config key or value is wrong. */
  | 'usage'
  /** The state file cannot be read, or is of an unknown version. */
  | 'state'
  /** A csvlog record is malformed or of an unknown column count. */
  | 'log-data'
  /** The csvlog directory or a log file cannot be read, or a file the state points into is gone. */
  | 'log-files'
  /** A target failed; it stays where it was and is retried next run. */
  | 'target'
  /** `verify` cannot connect to a server, or cannot read its catalogs. */
  | 'connection'
  /** `capture install` or `remove` cannot be done on this primary (its role, its major, its objects). */
  | 'capture';

export class SyncError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }

  /** The process exit code this error maps to. */
  get exitCode(): 1 | 2 {
    return this.code === 'target' ? 1 : 2;
  }
}

export class UsageError extends SyncError {
  constructor(message: string) {
    super('usage', message);
  }
}

export class StateError extends SyncError {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super('state', `state file ${file}: ${problem}`);
  }
}

export class LogDataError extends SyncError {
  constructor(
    readonly file: string,
    readonly offset: number,
    problem: string,
  ) {
    super('log-data', `csvlog ${file} at byte ${offset}: ${problem}`);
  }
}

export class LogFilesError extends SyncError {
  constructor(message: string) {
    super('log-files', message);
  }
}

export class TargetError extends SyncError {
  constructor(
    readonly target: string,
    problem: string,
  ) {
    super('target', `target ${target}: ${problem}`);
  }
}

export class ConnectionError extends SyncError {
  constructor(
    readonly server: string,
    readonly problem: string,
  ) {
    super('connection', `${server}: ${problem}`);
  }
}

export class CaptureError extends SyncError {
  constructor(message: string) {
    super('capture', message);
  }
}
