/**
 * `status` as people read it. Apart from print.ts because it shows the capture helper and nested
 * DDL, whose modules a run or a replay has no use for: loading them cost every run's start.
 */
import { Status } from '../commands/status';
import { nestedLines } from '../core/captureUse';
import { captureLine } from '../io/captureHelper';
import { bytes, indent, unknownLine } from './print';

/** `status` for people: a line a target, then what a stuck target is stuck on, then what waits. */
export function formatStatus(s: Status): string {
  const out: string[] = [];
  const read = s.log.file ? `${s.log.file}:${s.log.offset}` : 'nothing yet';
  out.push(`log read up to ${read} (${bytes(s.log.unreadBytes)} written since), last run ${s.log.lastRun ?? 'never'}`);
  if (s.running) out.push(`a run is in progress: pid ${s.running.pid}, holding the lock since ${s.running.since}`);
  if (s.resident) {
    const r = s.resident;
    out.push(`resident run: pid ${r.pid}${r.running ? '' : ' (gone)'}, since ${r.since}, last beat ${r.lastBeat}, every ${r.intervalSeconds} s`);
  }
  if (s.capture) {
    const c = s.capture;
    out.push(`capture helper: ${'error' in c ? `cannot ask the primary: ${c.error}` : c.databases.map((d) => `${d.database} ${captureLine(d)}`).join('; ')}`);
  }
  const rows = s.targets.map((t) => [
    t.name + (t.configured ? '' : ' (not configured)'),
    t.state,
    String(t.pending),
    `${bytes(t.behindBytes)}${t.behindFiles > 0 ? `, ${t.behindFiles} file(s)` : ''}`,
    `${t.lagSeconds} s`,
    t.lastApplied ? `${t.lastApplied.loggedAt} (${t.lastApplied.at})` : '-',
    t.lastSuccess ?? 'never',
  ]);
  const head = ['TARGET', 'STATE', 'PENDING', 'BEHIND', 'LAG', 'LAST APPLIED (logged at, where)', 'LAST SUCCESS'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const r of [head, ...rows]) out.push(r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());
  for (const t of s.targets) {
    if (!t.failure) continue;
    const f = t.failure;
    if (t.state === 'unreachable') {
      out.push('', `${t.name} is unreachable since ${f.since}: ${f.sqlState ? `${f.sqlState} ` : ''}${f.error}`);
      out.push(`    no statement was tried; make ${t.name} reachable (server up, login and password right) and the next run goes on from ${f.at}`);
      continue;
    }
    const lock = t.state === 'waiting-for-lock';
    const timedOut = t.state === 'timed-out';
    const is = lock ? 'is waiting for a lock' : timedOut ? 'has timed out' : 'is stuck';
    out.push('', `${t.name} ${is} since ${f.since} at ${f.at} in database ${f.database}:`, indent(f.statement), `    ${f.sqlState ? `${f.sqlState} ` : ''}${f.error}`);
    if (lock) out.push(`    if the lock stays, end the session that holds it on ${t.name}`);
    else if (timedOut) {
      out.push(`    see what the statement waits for on ${t.name} (pg_stat_activity, application_name pg-ddl-sync); if it needs longer, raise --statement-timeout`);
    } else out.push(`    fix the cause on ${t.name} and the next run applies it, or: pg-ddl-sync skip --stopped-target ${t.name}`);
  }
  if (s.gaps.length > 0) {
    out.push('', `${s.gaps.length} gap(s) in the log, records that went before they were read:`);
    for (const g of s.gaps) out.push(`    ${g.file} ${g.problem} (read up to byte ${g.offset} of ${g.size}; found ${g.foundAt})`);
    out.push('    check the targets against the primary, then: pg-ddl-sync skip --gaps');
  }
  if (s.unknown.length > 0) {
    out.push('', `${s.unknown.length} statement(s) whose outcome the primary's crash left unknown (later statements wait behind them):`);
    for (const u of s.unknown) out.push(`    ${unknownLine(u)}`);
    out.push('    check the primary, then: pg-ddl-sync resolve --at FILE:OFFSET --send (it committed) or --drop (it did not)');
  }
  if (s.nested.length > 0) {
    out.push('', `${s.nested.length} DDL command(s) ran inside functions, procedures or DO blocks on the primary, not sent:`);
    for (const n of s.nested) for (const line of nestedLines(n)) out.push(`    ${line}`);
    out.push('    copy what they did to the targets, then mark them handled');
  }
  if (s.waiting.length > 0) {
    out.push('', `${s.waiting.length} statement(s) wait for their transaction to end on the primary:`);
    for (const w of s.waiting) {
      out.push(`    ${w.at} database ${w.database} session ${w.session} vxid ${w.vxid}${w.holdsBack ? ' (holds back what follows)' : ''}: ${w.sql}`);
    }
  }
  if (s.oldestHeldBack) {
    const h = s.oldestHeldBack;
    out.push('', `the oldest statement held back was logged ${h.ageSeconds} s ago (${h.loggedAt}) at ${h.at}: ${h.sql}`);
  }
  return `${out.join('\n')}\n`;
}
