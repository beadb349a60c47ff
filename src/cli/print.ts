/** How the CLI shows command results: listings, status, findings on stdout; one-line reasons for exits. */
import { Finding } from '../commands/check';
import { Status } from '../commands/status';
import { Listing, TargetOutcome } from '../commands/sync';
import { Gap } from '../io/fileMarks';
import { TargetFailure } from '../io/state';

/** A dry-run listing, as SQL a person can read (and psql could run). */
export function formatListings(listings: Listing[]): string {
  const out: string[] = [];
  for (const listing of listings) {
    const who = listing.target === undefined ? 'every target' : `target ${listing.target}`;
    out.push(`-- ${who}: ${listing.statements.length} statement(s)`);
    for (const s of listing.statements) {
      out.push(`-- database ${s.database}, from ${s.at}`);
      out.push(/;\s*$/.test(s.sql) ? s.sql : `${s.sql};`);
    }
    out.push('');
  }
  return out.join('\n');
}

/** The one line that says why a run exits 1, or null when every target is caught up. */
export function failureLine(targets: TargetOutcome[]): string | null {
  const failed = targets.filter((t) => t.failure);
  if (failed.length === 0) return null;
  const parts = failed.map((t) => {
    const f = t.failure!;
    const code = f.sqlState ? `${f.sqlState} ` : '';
    return `${t.name} stopped at ${f.at} in database ${f.database} (${code}${f.message})`;
  });
  return `${failed.length} of ${targets.length} target(s) failed and will be retried next run: ${parts.join('; ')}`;
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function indent(text: string, by = '    '): string {
  return text
    .split('\n')
    .map((l) => `${by}${l}`)
    .join('\n');
}

/** `status` for people: a line a target, then what a stuck target is stuck on, then what waits. */
export function formatStatus(s: Status): string {
  const out: string[] = [];
  const read = s.log.file ? `${s.log.file}:${s.log.offset}` : 'nothing yet';
  out.push(`log read up to ${read} (${bytes(s.log.unreadBytes)} written since), last run ${s.log.lastRun ?? 'never'}`);
  const rows = s.targets.map((t) => [
    t.name + (t.configured ? '' : ' (not configured)'),
    t.state,
    String(t.pending),
    `${bytes(t.behindBytes)}${t.behindFiles > 0 ? `, ${t.behindFiles} file(s)` : ''}`,
    t.lastApplied ? `${t.lastApplied.loggedAt} (${t.lastApplied.at})` : '-',
    t.lastSuccess ?? 'never',
  ]);
  const head = ['TARGET', 'STATE', 'PENDING', 'BEHIND', 'LAST APPLIED (logged at, where)', 'LAST SUCCESS'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const r of [head, ...rows]) out.push(r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());
  for (const t of s.targets) {
    if (!t.failure) continue;
    const f = t.failure;
    const lock = t.state === 'waiting-for-lock';
    out.push('', `${t.name} is ${lock ? 'waiting for a lock' : 'stuck'} since ${f.since} at ${f.at} in database ${f.database}:`, indent(f.statement), `    ${f.sqlState ? `${f.sqlState} ` : ''}${f.error}`);
    if (lock) out.push(`    if the lock stays, end the session that holds it on ${t.name}`);
    else out.push(`    fix the cause on ${t.name} and the next run applies it, or: pg-ddl-sync skip --target ${t.name}`);
  }
  if (s.gaps.length > 0) {
    out.push('', `${s.gaps.length} gap(s) in the log, records that went before they were read:`);
    for (const g of s.gaps) out.push(`    ${g.file} ${g.problem} (read up to byte ${g.offset} of ${g.size}; found ${g.foundAt})`);
    out.push('    check the targets against the primary, then: pg-ddl-sync skip --gaps');
  }
  if (s.waiting.length > 0) {
    out.push('', `${s.waiting.length} statement(s) wait for their transaction to end on the primary:`);
    for (const w of s.waiting) {
      out.push(`    ${w.at} database ${w.database} session ${w.session} vxid ${w.vxid}${w.holdsBack ? ' (holds back what follows)' : ''}: ${w.sql}`);
    }
  }
  return `${out.join('\n')}\n`;
}

/** What `skip` is about to skip. */
export function formatSkip(target: string, f: TargetFailure): string {
  return [
    `${target} is stopped at ${f.at} in database ${f.database} (since ${f.since}):`,
    indent(f.statement),
    `    ${f.sqlState ? `${f.sqlState} ` : ''}${f.message}`,
    '',
  ].join('\n');
}

/** `check`'s findings, a line each. */
export function formatFindings(findings: Finding[]): string {
  const lines = findings.map((f) => `${f.level.padEnd(7)} ${f.subject}: ${f.message}`);
  const bad = findings.filter((f) => f.level !== 'ok').length;
  lines.push(bad === 0 ? 'all is well' : `${bad} finding(s) to look at`);
  return `${lines.join('\n')}\n`;
}

/** The one line that says why a run exits 1 for records lost from the log, or null. */
export function gapLine(gaps: Gap[]): string | null {
  if (gaps.length === 0) return null;
  const parts = gaps.map((g) => `${g.file} ${g.problem}${g.size > g.offset ? ` (bytes ${g.offset} to ${g.size} never read)` : ''}`);
  return `records may be lost from the log: ${parts.join('; ')}; check the targets against the primary, then: pg-ddl-sync skip --gaps`;
}
