/**
 * The tool's own log: stderr, or one file per day in --log-dir named `<prefix>-YYYY-MM-DD.log`,
 * created 0600. Lines are `time level message key=value …`. Statement text reaching here is redacted
 * by the caller.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LogFormat, LogLevel } from '../settings';

export type Fields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  error(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  debug(message: string, fields?: Fields): void;
  /** Flushes file transports; call before the process exits. */
  close(): Promise<void>;
}

export interface LoggerOptions {
  level: LogLevel;
  /** `text`: `time level message key=value …`; `json`: one JSON object a line. */
  format?: LogFormat;
  logDir?: string;
  prefix: string;
  now?: () => Date;
}

/** The file a run started at `now` logs to. */
export function logFileFor(dir: string, prefix: string, now: Date): string {
  return path.join(dir, `${prefix}-${now.toISOString().slice(0, 10)}.log`);
}

export function createLogger(opts: LoggerOptions): Logger {
  // winston is loaded on first use only: an idle run never logs below its level and never pays for it.
  let inner: import('winston').Logger | null = null;
  let file: string | undefined;
  const get = (): import('winston').Logger => {
    if (inner) return inner;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const winston = require('winston') as typeof import('winston');
    const line = winston.format.printf((info) => {
      const { level, message, timestamp, ...rest } = info as Record<string, unknown>;
      const kv = Object.entries(rest)
        .filter(([k, v]) => v !== undefined && typeof k === 'string')
        .map(([k, v]) => `${k}=${formatValue(v)}`);
      return [timestamp, String(level).padEnd(5), message, ...kv].join(' ');
    });
    const format = winston.format.combine(winston.format.timestamp(), opts.format === 'json' ? winston.format.json() : line);
    let transport: import('winston').transport;
    if (opts.logDir) {
      fs.mkdirSync(opts.logDir, { recursive: true, mode: 0o700 });
      file = logFileFor(opts.logDir, opts.prefix, (opts.now ?? (() => new Date()))());
      fs.closeSync(fs.openSync(file, 'a', 0o600));
      transport = new winston.transports.File({ filename: file });
    } else {
      transport = new winston.transports.Stream({ stream: process.stderr });
    }
    inner = winston.createLogger({ level: opts.level, format, transports: [transport] });
    return inner;
  };
  const order: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };
  const at =
    (level: LogLevel) =>
    (message: string, fields: Fields = {}): void => {
      if (order[level] > order[opts.level]) return;
      get().log(level, message, fields);
    };
  return {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    close: () =>
      new Promise<void>((resolve) => {
        if (!inner) return resolve();
        const l = inner;
        if (!opts.logDir) return resolve();
        l.on('finish', () => resolve());
        l.end();
      }),
  };
}

function formatValue(v: unknown): string {
  const s = String(v);
  return /^[^\s"=]*$/.test(s) && s !== '' ? s : JSON.stringify(s);
}
