/**
 * The set-up most e2e files of the capture helper share: a primary and one target `a` in a temp
 * directory, the tool's state and log there, and `run` as cron runs it (with --source).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { installCapture } from './capture';
import { CliResult, cli, readDir } from './cli';
import { Cluster, makeTempDir, startPrimaryAndTargets } from './cluster';

export class OneTarget {
  primary!: Cluster;
  a!: Cluster;
  work!: string;
  toolLog!: string;
  state!: string;

  constructor(
    private readonly prefix: string,
    private readonly mode: 'ddl' | 'all' = 'ddl',
    private readonly capture = true,
  ) {}

  /** For before(): the servers, the directory, and the capture helper when asked for. */
  async start(): Promise<void> {
    this.work = makeTempDir(this.prefix);
    this.toolLog = path.join(this.work, 'log');
    this.state = path.join(this.work, 'state.json');
    [this.primary, this.a] = await startPrimaryAndTargets(['a'], this.mode);
    if (this.capture) await installCapture(this.primary);
  }

  /** For after(). */
  async stop(): Promise<void> {
    await Promise.all([this.primary, this.a].map((c) => c?.destroy()));
    if (this.work) fs.rmSync(this.work, { recursive: true, force: true });
  }

  /** The flags that name the log, the target, the state, the tool's log and the primary. */
  where(): string[] {
    return ['--csvlog-dir', this.primary.logDir, '--target', `a=${this.a.syncUrl}`, '--state-file', this.state, '--log-dir', this.toolLog, '--source', this.primary.syncUrl];
  }

  /** A run once `marker` reached the log; fails with what it said when it exits otherwise than `code`. */
  async run(marker: string, code: number): Promise<CliResult> {
    await this.primary.waitForLog(marker);
    const res = await cli(['run', ...this.where()]);
    assert.equal(res.code, code, `${res.stderr}\n${readDir(this.toolLog)}`);
    return res;
  }
}

/** The place of the nested DDL whose line names `object` (a regular expression), as run printed it. */
export function nestedPlace(stderr: string, object: string): string {
  const m = new RegExp(`${object} created inside .* \\((postgresql-[^:]+:\\d+), database postgres\\)`).exec(stderr);
  assert.ok(m, stderr);
  return m[1];
}

/** Whether a relation of this name is in the server's database `postgres`. */
export async function hasTable(c: Cluster, table: string): Promise<boolean> {
  return (await c.query('postgres', 'SELECT 1 FROM pg_class WHERE relname = $1', [table])).length > 0;
}
