/** How the CLI shows command results: dry-run listings on stdout, one-line reasons for exits. */
import { Listing, TargetOutcome } from '../commands/sync';

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
