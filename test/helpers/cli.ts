/**
 * Runs the real CLI as a user would: `node bin/pg-ddl-sync.js …` in a child process.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const BIN = path.resolve(__dirname, '..', '..', '..', 'bin', 'pg-ddl-sync.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  /** Kill the run with SIGKILL after this many milliseconds. */
  killAfterMs?: number;
  /** Run as this OS user (ids), as cron runs it as the database's own user. */
  uid?: number;
  gid?: number;
}

/** Starts the CLI; resolves when it exits. */
export function cli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [BIN, ...args], {
      env: cleanEnv(options.env),
      uid: options.uid,
      gid: options.gid,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => (stdout += d));
    child.stderr?.on('data', (d) => (stderr += d));
    const timer = options.killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), options.killAfterMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** The caller's environment without the libpq variables a developer's shell may carry. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PGPASSFILE: '/nonexistent' };
  for (const k of Object.keys(env)) if (/^PG(PASSWORD|OPTIONS|HOST|PORT|USER|DATABASE|SERVICE)$/.test(k)) delete env[k];
  return { ...env, ...extra };
}

/** The non-empty lines of a text. */
export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}

/** Everything in a directory's files, concatenated (the tool's own log files). */
export function readDir(dir: string): string {
  if (!fs.existsSync(dir)) return '';
  return fs
    .readdirSync(dir)
    .map((f) => fs.readFileSync(path.join(dir, f), 'utf8'))
    .join('');
}

/** A CLI process left running (a resident run): signal it, wait for its end. */
export interface Started {
  child: ChildProcess;
  /** Resolves when it exits, with what it wrote. */
  done: Promise<CliResult>;
}

/** Starts the CLI and returns at once. */
export function start(args: string[], options: Pick<CliOptions, 'env'> = {}): Started {
  const child = spawn(process.execPath, [BIN, ...args], { env: cleanEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}
