/** How the CLI shows command results: listings, status, findings on stdout; one-line reasons for exits. */
import { Finding } from '../commands/check';
import { DatabaseVerdict, RolesVerdict, TargetVerdict, Verification } from '../commands/verify';
import { SchemaDiff } from '../core/schemaDiff';
import { Listing, TargetOutcome } from '../pipeline/apply';
import { Gap } from '../io/fileMarks';
import { TargetFailure } from '../io/state';
import { UnknownOutcome } from '../pipeline/report';

/** A dry-run listing, as SQL a person can read (and psql could run). */
export function formatListings(listings: Listing[]): string {
  const out: string[] = [];
  for (const listing of listings) {
    const who = listing.target === undefined ? 'every target' : `target ${listing.target}`;
    out.push(`-- ${who}: ${listing.statements.length} statement(s)`);
    for (const s of listing.statements) {
      out.push(`-- database ${s.database}${s.role ? `, as role ${s.role}` : ''}, from ${s.at}`);
      // The primary session's settings it runs with (search_path above all): the same text means
      // another thing under another search_path.
      out.push(s.settings && s.settings.length > 0 ? `-- with ${s.settings.map((x) => x.replace(/;\s*$/, '')).join('; ')}` : '-- with no session setting the log shows');
      if (s.note) out.push(`-- warning: ${s.note}`);
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
    if (f.unreachable) return `${t.name} is unreachable (${code}${f.message})`;
    return `${t.name} stopped at ${f.at} in database ${f.database} (${code}${f.message})`;
  });
  return `${failed.length} of ${targets.length} target(s) failed and will be retried next run: ${parts.join('; ')}`;
}

/** A byte count for people: B, kB or MB. */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** Every line of `text`, indented by `by`. */
export function indent(text: string, by = '    '): string {
  return text
    .split('\n')
    .map((l) => `${by}${l}`)
    .join('\n');
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

/** A diff line shortened to its first difference, so that a long one-line definition stays readable. */
const DIFF_WIDTH = 150;

function clipPair(minus: string, plus: string): [string, string] {
  if (minus.length <= DIFF_WIDTH + 2 && plus.length <= DIFF_WIDTH + 2) return [minus, plus];
  let same = 2;
  while (same < minus.length && same < plus.length && minus[same] === plus[same]) same++;
  const from = Math.max(2, same - 40);
  const clip = (l: string): string =>
    `${l.slice(0, 2)}${from > 2 ? '…' : ''}${l.slice(from, from + DIFF_WIDTH)}${l.length > from + DIFF_WIDTH ? '…' : ''}`;
  return [clip(minus), clip(plus)];
}

/** A diff's lines for people: a line that changed shows around where it changed. */
function clipDiff(lines: string[]): string[] {
  const out = [...lines];
  for (let i = 0; i < out.length; i++) {
    const j = out.findIndex((l, k) => k > i && l.startsWith('+ '));
    if (out[i].startsWith('- ') && j > i && out.slice(i + 1, j).every((l) => l.startsWith('- '))) {
      [out[i], out[j]] = clipPair(out[i], out[j]);
    } else if (out[i].length > DIFF_WIDTH + 2) {
      out[i] = `${out[i].slice(0, DIFF_WIDTH + 2)}…`;
    }
  }
  return out;
}

function counts(d: SchemaDiff): string {
  return `${d.missing.length} missing, ${d.extra.length} extra, ${d.different.length} different`;
}

/** An object as people name it: `index public.emp_age`, `comment on table public.emp`. */
function what(o: { kind: string; name: string }): string {
  return `${o.kind === 'comment' ? 'comment on' : o.kind} ${o.name}`;
}

function objectLines(d: SchemaDiff): string[] {
  const out: string[] = [];
  const also = (n: number): string => (n > 0 ? ` (and ${n} object(s) on it)` : '');
  for (const m of d.missing) out.push(`  missing    ${what(m)}${also(m.dependents)}`);
  for (const m of d.extra) out.push(`  extra      ${what(m)}${also(m.dependents)}`);
  for (const c of d.different) {
    out.push(`  different  ${what(c)}`);
    for (const l of clipDiff(c.diff)) out.push(`               ${l}`);
  }
  for (const h of d.notCompared) out.push(`  not compared  ${what(h)}: ${h.reason}`);
  return out;
}

/** `; N not compared` when some objects could not be read on one side. */
function unread(d: SchemaDiff): string {
  return d.notCompared.length > 0 ? `; ${d.notCompared.length} not compared` : '';
}

function databaseLines(t: TargetVerdict, d: DatabaseVerdict): string[] {
  const name = d.primary === null || d.primary === d.target ? d.target : `${d.primary} (${d.target} on the target)`;
  const head = `target ${t.name}, database ${name}`;
  switch (d.state) {
    case 'same':
      return [`${head}: same (${d.objects} objects${unread(d)})`, ...objectLines(d)];
    case 'missing':
      return [`${head}: missing on the target (${d.objects} objects on the primary)`];
    case 'extra':
      return [`${head}: extra on the target (not on the primary)`];
    case 'differs':
      return [`${head}: ${counts(d)} (of ${d.objects} objects${unread(d)})`, ...objectLines(d)];
  }
}

function rolesLines(t: TargetVerdict, r: RolesVerdict): string[] {
  return r.state === 'same'
    ? [`target ${t.name}, roles: same (${r.objects} roles and memberships${unread(r)})`, ...objectLines(r)]
    : [`target ${t.name}, roles: ${counts(r)} (of ${r.objects}${unread(r)})`, ...objectLines(r)];
}

/** What one target lacks, has more, has otherwise, as the summary counts it. */
function driftOf(t: TargetVerdict): string {
  const parts = t.databases
    .filter((d) => d.state !== 'same')
    .map((d) => (d.state === 'differs' ? `${d.target}: ${counts(d)}` : `${d.target}: ${d.state} database`));
  if (t.roles?.state === 'differs') parts.push(`roles: ${counts(t.roles)}`);
  return `${t.name} (${parts.join('; ')})`;
}

/** `verify` for people: a line per target and database, the objects that differ under it, a summary. */
export function formatVerification(v: Verification): string {
  const out: string[] = [];
  for (const t of v.targets) {
    if (t.state === 'error') {
      out.push(`target ${t.name}: not compared: ${t.error}`);
      continue;
    }
    out.push(`target ${t.name}: PostgreSQL ${t.serverVersion} (the primary: ${v.primary.serverVersion})`);
    for (const d of t.databases) out.push(...databaseLines(t, d));
    if (t.roles) out.push(...rolesLines(t, t.roles));
  }
  out.push('', verifySummary(v));
  return `${out.join('\n')}\n`;
}

/** The one line that says how the targets stand. */
export function verifySummary(v: Verification): string {
  const differ = v.targets.filter((t) => t.state === 'differs');
  const failed = v.targets.filter((t) => t.state === 'error');
  const n = v.targets.length;
  const parts: string[] = [];
  if (differ.length > 0) parts.push(`${differ.length} of ${n} target(s) differ from the primary: ${differ.map(driftOf).join(', ')}`);
  if (failed.length > 0) parts.push(`${failed.length} of ${n} target(s) could not be compared: ${failed.map((t) => `${t.name} (${t.error})`).join(', ')}`);
  const hidden = v.targets.flatMap((t) => [...t.databases, ...(t.roles ? [t.roles] : [])]).reduce((sum, d) => sum + d.notCompared.length, 0);
  const unreadable = hidden > 0 ? [`${hidden} object(s) not compared for lack of privilege`] : [];
  if (parts.length > 0) return [...parts, ...unreadable].join('; ');
  const dbs = new Set(v.targets.flatMap((t) => t.databases.map((d) => d.primary)));
  return [`${n} target(s) match the primary (${dbs.size} database(s) compared)`, ...unreadable].join('; ');
}

/** The line that names a statement a crash left undecided, for run's stderr and status. */
export function unknownLine(u: UnknownOutcome): string {
  return `${u.at} database ${u.database} role ${u.role}: ${u.sql}: outcome unknown after the primary's crash at ${u.crashedAt}`;
}

/** What a command that must hold the run lock says when a run holds it (exit 1). */
export function lockedLine(lockFile: string): string {
  return `pg-ddl-sync: a run holds the lock ${lockFile}; try again when it is done\n`;
}
