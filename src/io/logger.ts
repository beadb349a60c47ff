/**
 * The tool's own log: stderr, or one file per day in --log-dir named `<prefix>-YYYY-MM-DD.log`,
 * created 0600. Lines are `time level message key=value …`. Statement text reaching here is redacted
 * by the caller.
 *
 * A run to many targets logs a line per statement and target: thousands a run. The lines logged by
 * code that runs without a pause (a batch's statements on a target) go through winston together, as one
 * entry that the tool's own format writes out line by line (no chain of formats, no generic
 * serializer), in one write.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../errors';

import type { LogFormat, LogLevel } from '../core/settingsTable';

export type Fields = Record<string, string | number | boolean | undefined>;

// The levels and formats are declared once, with the settings that choose them.
export type { LogFormat, LogLevel } from '../core/settingsTable';

export interface Logger {
  error(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  debug(message: string, fields?: Fields): void;
  /** Writes what is buffered and closes the log file; call before the process exits. */
  close(): Promise<void>;
}

export interface LoggerOptions {
  level: LogLevel;
  /** `text`: `time level message key=value …`; `json`: one JSON object a line. */
  format?: LogFormat;
  logDir?: string;
  prefix: string;
  /** Log files of logDir (this prefix's) from more than this many days before today are deleted; 0 or none: kept. */
  keepDays?: number;
  now?: () => Date;
  /** Where lines go without logDir (default: the process's stderr). */
  stderr?: (text: string) => void;
  /**
   * Calls `fn` when the process exits (default: its 'exit' event); returns what stops that. What the
   * logger still holds then is written out, if it was not closed (an uncaught error).
   */
  onExit?: (fn: () => void) => () => void;
}

function onProcessExit(fn: () => void): () => void {
  process.once('exit', fn);
  return () => void process.off('exit', fn);
}

/** The file a run started at `now` logs to. */
export function logFileFor(dir: string, prefix: string, now: Date): string {
  return path.join(dir, `${prefix}-${now.toISOString().slice(0, 10)}.log`);
}

/** Where winston keeps the finished text of an entry (triple-beam's MESSAGE). */
const MESSAGE = Symbol.for('message');

/** Where the tool's entry for winston keeps the lines it stands for. */
const LINES = Symbol('lines');

/** A line as logged: its level, message, fields and time, before it is written out. */
type Entry = { level: string; message: string; timestamp: string } & Record<string, unknown>;

/** Lines handed to winston at once at most: more are handed over at once. */
const BATCH_LINES = 256;

const ORDER: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export function createLogger(opts: LoggerOptions): Logger {
  // The log file is opened at once: a --log-dir that cannot be written stops the command before it
  // does anything.
  const out: Output = opts.logDir
    ? openLogFile(opts.logDir, opts.prefix, (opts.now ?? (() => new Date()))(), opts.keepDays)
    : { write: opts.stderr ?? ((text) => void process.stderr.write(text)), end: () => undefined };
  return new BatchingLogger(opts.level, opts.format === 'json' ? jsonLine : textLine, out, opts.onExit ?? onProcessExit);
}

/** Where finished text goes: stderr, or the log file. */
interface Output {
  write(text: string): void;
  end(): void;
}

/**
 * Lines logged by code running without a pause (a batch's results on a target) are held, and handed
 * to winston together when that code gives way.
 */
class BatchingLogger implements Logger {
  // winston is loaded on first use only: an idle run never logs below its level and never pays for it.
  private inner: import('winston').Logger | null = null;
  private pending: Entry[] = [];
  private scheduled = false;
  private closed = false;
  /**
   * A write that failed where no caller could hear it (a flush of its own): the next log call, or
   * close(), throws it, for the CLI to report as one line.
   */
  private failed: unknown = null;
  /** Stops the exit hook that writes out what is held if the process exits before close(). */
  private readonly unwatchExit: () => void;

  constructor(
    private readonly level: LogLevel,
    private readonly render: (entry: Entry) => string,
    private readonly out: Output,
    onExit: (fn: () => void) => () => void,
  ) {
    this.unwatchExit = onExit(() => this.atExit());
  }

  readonly error = (message: string, fields?: Fields): void => this.add('error', message, fields);
  readonly warn = (message: string, fields?: Fields): void => this.add('warn', message, fields);
  readonly info = (message: string, fields?: Fields): void => this.add('info', message, fields);
  readonly debug = (message: string, fields?: Fields): void => this.add('debug', message, fields);

  readonly close = async (): Promise<void> => {
    this.flush();
    this.closed = true;
    this.unwatchExit();
    this.out.end();
    if (this.failed) throw this.failed;
  };

  private add(level: LogLevel, message: string, fields: Fields = {}): void {
    if (ORDER[level] > ORDER[this.level] || this.closed) return;
    if (this.failed) throw this.failed;
    this.pending.push({ ...fields, level, message, timestamp: new Date().toISOString() });
    if (this.pending.length >= BATCH_LINES) this.flush();
    else if (!this.scheduled) {
      // Once the code that logged gives way: before anything that awaits it goes on (the CLI's own
      // last line comes after the log's, as it did).
      this.scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const lines = this.pending;
    this.pending = [];
    const level = lines.reduce((worst, l) => (ORDER[l.level as LogLevel] < ORDER[worst] ? (l.level as LogLevel) : worst), 'debug' as LogLevel);
    try {
      this.winston().log({ level, message: `${lines.length} line(s)`, [LINES]: lines } as unknown as import('winston').LogEntry);
    } catch (err) {
      this.failed ??= err;
    }
  }

  /** At exit nothing asynchronous runs: what is left is written directly. */
  private atExit(): void {
    if (this.pending.length === 0) return;
    const text = `${this.pending.map(this.render).join('\n')}\n`;
    this.pending = [];
    this.out.write(text);
  }

  private winston(): import('winston').Logger {
    if (this.inner) return this.inner;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const winston = require('winston') as typeof import('winston');
    // Lines logged together go through winston as one entry, which this format writes out.
    const render = this.render;
    const format = winston.format((info) => {
      const bag = info as unknown as Record<symbol, unknown>;
      bag[MESSAGE] = (bag[LINES] as Entry[]).map(render).join('\n');
      return info;
    })();
    this.inner = winston.createLogger({ level: this.level, format, transports: [new (textTransport(winston))({ out: this.out })] });
    return this.inner;
  }
}

/** A winston transport that writes each entry's finished text, at once. */
function textTransport(winston: typeof import('winston')) {
  // The class winston exports as Transport; its types call it `transport`.
  const Transport = (winston as unknown as { Transport: typeof import('winston-transport') }).Transport;
  return class TextTransport extends Transport {
    private readonly out: Output;
    constructor(opts: { out: Output }) {
      super({});
      this.out = opts.out;
    }
    override log(info: unknown, callback: () => void): void {
      this.out.write(`${(info as Record<symbol, string>)[MESSAGE]}\n`);
      callback();
    }
  };
}

/**
 * The day's log file, opened for appending (made 0600, in a directory made 0700). Never through a
 * symbolic link: one planted there would have the tool append to (or create) a file of the link's
 * choosing, as the user the tool runs as.
 */
function openLogFile(dir: string, prefix: string, now: Date, keepDays?: number): Output {
  const file = logFileFor(dir, prefix, now);
  const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW } = fs.constants;
  let fd: number;
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fd = fs.openSync(file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') {
      throw new UsageError(`--log-dir ${dir}: the log file ${file} is a symbolic link; refusing to write through it (remove it)`);
    }
    throw new UsageError(`--log-dir ${dir}: cannot write the log there (${(err as Error).message})`);
  }
  if (keepDays) pruneLogFiles(dir, prefix, now, keepDays);
  return { write: (text) => writeAll(fd, text), end: () => fs.closeSync(fd) };
}

/**
 * Deletes the daily log files of this prefix dated more than `keepDays` days before `now`'s day. Only
 * names the tool itself gives (`<prefix>-YYYY-MM-DD.log`) are touched; a file that cannot be deleted
 * is left for the next run.
 */
export function pruneLogFiles(dir: string, prefix: string, now: Date, keepDays: number): string[] {
  const oldest = logFileFor(dir, prefix, new Date(now.getTime() - keepDays * 86_400_000));
  const pattern = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-\\d{4}-\\d{2}-\\d{2}\\.log$`);
  const deleted: string[] = [];
  for (const name of fs.readdirSync(dir)) {
    // The date in the name sorts as text: older days are smaller.
    if (!pattern.test(name) || name >= path.basename(oldest)) continue;
    try {
      fs.unlinkSync(path.join(dir, name));
      deleted.push(name);
    } catch {
      // Another user's file, or gone already.
    }
  }
  return deleted;
}

function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text, 'utf8');
  for (let off = 0; off < buf.length; ) off += fs.writeSync(fd, buf, off);
}

/** `time level message key=value …`: the fields in the order given, those undefined left out. */
export function textLine(entry: Entry): string {
  let line = `${entry.timestamp} ${entry.level.padEnd(5)} ${entry.message}`;
  for (const k of Object.keys(entry)) {
    if (k === 'level' || k === 'message' || k === 'timestamp') continue;
    const v = entry[k];
    if (v !== undefined) line += ` ${k}=${formatValue(v)}`;
  }
  return line;
}

/** One JSON object: every key in sorted order, as winston's json format writes it; undefined left out. */
export function jsonLine(entry: Entry): string {
  const keys = Object.keys(entry).sort();
  // An object takes integer-like keys first whatever order they were set in: those are written one
  // by one, the common case in one JSON.stringify.
  if (!keys.some((k) => /^\d+$/.test(k))) {
    const sorted: Record<string, unknown> = {};
    for (const k of keys) sorted[k] = entry[k];
    return JSON.stringify(sorted);
  }
  let line = '{';
  for (const k of keys) {
    const v = entry[k];
    if (v === undefined) continue;
    line += `${line.length > 1 ? ',' : ''}${JSON.stringify(k)}:${JSON.stringify(v)}`;
  }
  return `${line}}`;
}

function formatValue(v: unknown): string {
  const s = String(v);
  return /^[^\s"=]*$/.test(s) && s !== '' ? s : JSON.stringify(s);
}
