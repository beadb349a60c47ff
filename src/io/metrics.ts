/**
 * The metrics file (`--metrics-file`): Prometheus text format, for node_exporter's textfile
 * collector, written whole after each run (temp file, rename) so a scrape never sees half of it.
 */
import { writeFileAtomic } from './atomicFile';

export interface TargetMetrics {
  name: string;
  pending: number;
  behindBytes: number;
  /** Seconds since the primary logged the oldest statement the target has yet to take (0: none). */
  lagSeconds: number;
  /** Stopped at a statement, whatever the reason. */
  stuck: boolean;
  /** Stopped at a statement that gave way on a lock held on the target (stuck too). */
  lockWait: boolean;
  /** Stopped at a statement that timed out, or that the target did not answer in time (stuck too). */
  timedOut: boolean;
  /** No connection could be made to it (stuck too): it stands at no statement. */
  unreachable?: boolean;
  lastSuccess: string | null;
  applied: number;
  filtered: number;
  failedRuns: number;
  skipped: number;
}

export interface RunMetrics {
  finishedAt: Date;
  durationMs: number;
  waiting: number;
  /** DDL statements a crash of the primary left undecided, until resolved. */
  outcomeUnknown: number;
  /** Seconds since the oldest statement holding others back was logged; 0 when none does. */
  oldestHeldBackSeconds?: number;
  unreadBytes: number;
  /** DDL run inside functions or DO blocks on the primary, not sent, not handled yet. */
  nestedDdl?: number;
  targets: TargetMetrics[];
}

function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** The file's text. */
export function metricsText(m: RunMetrics): string {
  const out: string[] = [];
  const metric = (name: string, type: 'gauge' | 'counter', help: string, rows: [string, number][]): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of rows) out.push(`${name}${labels} ${value}`);
  };
  const per = (f: (t: TargetMetrics) => number): [string, number][] => m.targets.map((t) => [`{target="${label(t.name)}"}`, f(t)]);
  metric('pg_ddl_sync_last_run_timestamp_seconds', 'gauge', 'When the last run finished.', [['', m.finishedAt.getTime() / 1000]]);
  metric('pg_ddl_sync_last_run_duration_seconds', 'gauge', 'How long the last run took.', [['', m.durationMs / 1000]]);
  metric('pg_ddl_sync_waiting_statements', 'gauge', 'DDL statements waiting for their transaction to end on the primary.', [['', m.waiting]]);
  metric('pg_ddl_sync_outcome_unknown_statements', 'gauge', "DDL statements whose outcome a crash of the primary left unknown: held back, with all after them, until `resolve`.", [['', m.outcomeUnknown]]);
  metric('pg_ddl_sync_oldest_held_back_seconds', 'gauge', "Seconds since the oldest statement holding later ones back was logged, its transaction's end unknown (0: none).", [['', m.oldestHeldBackSeconds ?? 0]]);
  metric('pg_ddl_sync_nested_ddl_unhandled', 'gauge', 'DDL commands run inside functions, procedures or DO blocks on the primary (seen by the capture helper), not sent, not handled yet.', [['', m.nestedDdl ?? 0]]);
  metric('pg_ddl_sync_unread_log_bytes', 'gauge', 'Bytes of csvlog not read yet.', [['', m.unreadBytes]]);
  metric('pg_ddl_sync_target_pending_statements', 'gauge', 'Committed DDL statements the target has not taken yet.', per((t) => t.pending));
  metric('pg_ddl_sync_target_lag_bytes', 'gauge', "Bytes of the primary's log from the target's next statement to the end.", per((t) => t.behindBytes));
  metric('pg_ddl_sync_target_lag_seconds', 'gauge', "Seconds since the primary logged the oldest statement the target has yet to take (0: none).", per((t) => t.lagSeconds));
  metric('pg_ddl_sync_target_stuck', 'gauge', '1 when the target is stopped at a statement: it fails there, or gives way on a lock held there.', per((t) => (t.stuck ? 1 : 0)));
  metric('pg_ddl_sync_target_waiting_for_lock', 'gauge', '1 when the target is stopped at a statement that gave way on a lock held there (stuck is 1 too).', per((t) => (t.lockWait ? 1 : 0)));
  metric('pg_ddl_sync_target_timed_out', 'gauge', '1 when the target is stopped at a statement that timed out there, or that it did not answer in time (stuck is 1 too).', per((t) => (t.timedOut ? 1 : 0)));
  metric('pg_ddl_sync_target_unreachable', 'gauge', '1 when the last run could not connect to the target (down, login or password refused): no statement was tried (stuck is 1 too).', per((t) => (t.unreachable ? 1 : 0)));
  metric(
    'pg_ddl_sync_target_last_success_timestamp_seconds',
    'gauge',
    'When a run last left the target caught up (0: never).',
    per((t) => (t.lastSuccess ? Date.parse(t.lastSuccess) / 1000 : 0)),
  );
  metric('pg_ddl_sync_target_applied_total', 'counter', 'DDL statements applied to the target.', per((t) => t.applied));
  metric('pg_ddl_sync_target_filtered_total', 'counter', "DDL statements the target's filters left out.", per((t) => t.filtered));
  metric('pg_ddl_sync_target_failed_runs_total', 'counter', 'Runs that ended with the target stopped at a statement.', per((t) => t.failedRuns));
  metric('pg_ddl_sync_target_skipped_total', 'counter', 'Statements skipped on the target by `skip`.', per((t) => t.skipped));
  return `${out.join('\n')}\n`;
}

export function writeMetrics(file: string, m: RunMetrics): void {
  writeFileAtomic(file, metricsText(m), 0o644);
}
