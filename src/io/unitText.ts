/**
 * The statements of a journal entry, read again from the primary's log: the journal keeps positions
 * only, so a password in a statement lives in the log file alone, never in the tool's files.
 */
import { Place, UnitSpec } from '../core/judge';
import { redact } from '../core/redact';
import { toSetLocal } from '../core/sessionSettings';
import { Part, analyze } from '../core/statements';
import { LogFile } from './logFiles';
import { readStatementAt } from './logReader';

export interface UnitText {
  /** What the target runs, in order, after the unit's settings; a DDL statement with its command tag. */
  statements: { sql: string; tag?: string }[];
  /** The DDL statements as people and files may see them: redacted, joined. */
  shown: string;
}

export type UnitTextResult = { kind: 'ok'; text: UnitText } | { kind: 'gone'; problem: string };

/** Reads units' texts once per run, whichever targets need them. */
export class UnitTexts {
  private readonly byKey = new Map<string, LogFile>();
  private readonly cache = new Map<string, UnitTextResult>();
  /** Records read, analysed: several units (and PREPAREs) can come from one. */
  private readonly parts = new Map<string, Part[]>();

  /** @param files the log files present now */
  constructor(files: LogFile[]) {
    for (const f of files) if (f.fingerprint) this.byKey.set(f.fingerprint, f);
  }

  /** The parser must be loaded (core/parser), as it was when the unit was judged. */
  get(unit: UnitSpec): UnitTextResult {
    const id = `${unit.file.key}@${unit.key}`;
    let res = this.cache.get(id);
    if (!res) {
      res = this.read(unit);
      this.cache.set(id, res);
    }
    return res;
  }

  private read(unit: UnitSpec): UnitTextResult {
    const prepares: Extract<Part, { kind: 'prepare' }>[] = [];
    for (const place of unit.prepares ?? []) {
      const part = this.partAt(place);
      if (part.kind === 'gone') return part;
      if (part.kind !== 'prepare') return notTheSame(place);
      prepares.push(part);
    }
    const statements: UnitText['statements'] = [];
    for (const index of unit.parts) {
      const rewrite = unit.rewrites?.[index];
      const part = this.partAt({ ...unit, part: index });
      if (part.kind === 'gone') return part;
      if (part.kind === 'ddl') statements.push({ sql: rewrite ?? part.text, tag: part.tag });
      else if (part.kind === 'set') statements.push({ sql: toSetLocal(part.text) });
      else return notTheSame(unit);
    }
    // The session's prepared statements the unit executes: prepared before it, let go after it.
    const all = [
      ...prepares.map((p) => ({ sql: p.text })),
      ...statements,
      ...prepares.map((p) => ({ sql: `DEALLOCATE "${p.name.replace(/"/g, '""')}"` })),
    ];
    return { kind: 'ok', text: { statements: all, shown: shownOf(all) } };
  }

  /** One statement of a logged record, read again. */
  private partAt(place: Place): Part | Extract<UnitTextResult, { kind: 'gone' }> {
    const file = this.byKey.get(place.file.key);
    if (!file) {
      return { kind: 'gone', problem: `the csvlog file that holds it (${place.file.name}) is gone from the log directory` };
    }
    const id = `${place.file.key}@${place.offset}`;
    let parts = this.parts.get(id);
    if (!parts) {
      const record = readStatementAt(file, place.offset, place.end);
      if (!record) return { kind: 'gone', problem: `${file.name} no longer holds its record at byte ${place.offset}` };
      parts = analyze(record.text).parts;
      this.parts.set(id, parts);
    }
    return parts[place.part] ?? notTheSame(place);
  }
}

function notTheSame(place: { file: { name: string }; offset: number }): Extract<UnitTextResult, { kind: 'gone' }> {
  return { kind: 'gone', problem: `${place.file.name} at byte ${place.offset} no longer reads as the statement it was` };
}

/** The DDL statements of a unit as people and files may see them: redacted, joined. */
export function shownOf(statements: UnitText['statements']): string {
  return statements
    .filter((s) => s.tag !== undefined)
    .map((s) => redact(s.sql))
    .join(';\n');
}
