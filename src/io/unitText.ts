/**
 * The statements of a journal entry, read again from the primary's log: the journal keeps positions
 * only, so a password in a statement lives in the log file alone, never in the tool's files.
 */
import { Decoder, EncodingError, decoderFor, formBytes } from '../core/encoding';
import { Place, UnitSpec } from '../core/judge';
import { StatementRecord } from '../core/logRecord';
import { redact } from '../core/redact';
import { StringSyntax, stringSyntaxIn, toSetLocal } from '../core/sessionSettings';
import { Analyses, Part, analyzeRecord } from '../core/statements';
import { LogFile } from './logFiles';
import { RecordsAt, showAsUtf8 } from './logReader';

export interface UnitText {
  /** The primary session's settings, as `SET LOCAL` statements, run first. */
  settings: string[];
  /**
   * What the target runs, in order, after the unit's settings; a DDL statement with its command tag.
   * `unitRole`: it puts the role back to the one the unit runs as; `sql` does that for the sync user,
   * under apply-as original the record's user is taken instead.
   */
  statements: { sql: string; tag?: string; unitRole?: true }[];
  /** The DDL statements as people and files may see them: redacted, joined. */
  shown: string;
}

export type UnitTextResult =
  | { kind: 'ok'; text: UnitText }
  | { kind: 'gone'; problem: string }
  /** Its bytes are not valid in the encoding they were read with. */
  | { kind: 'undecodable'; problem: string }
  /** The log cannot prove what the primary ran (see Part's `unprovable`): never sent. */
  | { kind: 'unprovable'; problem: string; shown: string };

type Failed = Exclude<UnitTextResult, { kind: 'ok' }>;

/**
 * Reads units' texts once per run, whichever targets need them. It keeps the log files it read open:
 * whoever makes one closes it (in a finally).
 */
export class UnitTexts {
  private readonly recordsAt = new RecordsAt();
  private readonly byKey = new Map<string, LogFile>();
  /** By unit (every target asks about the same journal entries), then by encoding. */
  private readonly cache = new WeakMap<UnitSpec, Map<string | undefined, UnitTextResult>>();
  /** Records read, analysed: several units (and PREPAREs) can come from one. */
  private readonly parts = new Map<string, Part[]>();
  private readonly decoders = new Map<string, Decoder | null>();

  /**
   * @param files the log files present now
   * @param analyses the judge's of this run (Judge.analyses), which read these records moments ago
   */
  constructor(
    files: LogFile[],
    private readonly analyses = new Analyses(),
  ) {
    for (const f of files) if (f.fingerprint) this.byKey.set(f.fingerprint, f);
  }

  /**
   * The parser must be loaded (core/parser), as it was when the unit was judged.
   * @param encoding the encoding of the unit's database (`SHOW server_encoding`); without it the
   *   bytes are read as UTF-8, good for listing and for finding statements, not for sending
   */
  get(unit: UnitSpec, encoding?: string): UnitTextResult {
    let byEncoding = this.cache.get(unit);
    if (!byEncoding) {
      byEncoding = new Map();
      this.cache.set(unit, byEncoding);
    }
    let res = byEncoding.get(encoding);
    if (!res) {
      res = this.read(unit, encoding);
      byEncoding.set(encoding, res);
    }
    return res;
  }

  /** The decoder of a database encoding, made once. */
  private decoder(encoding: string): Decoder | null {
    if (!this.decoders.has(encoding)) this.decoders.set(encoding, decoderFor(encoding));
    return this.decoders.get(encoding)!;
  }

  /** Closes the log files it read; a later get() opens them again. */
  close(): void {
    this.recordsAt.close();
  }

  private read(unit: UnitSpec, encoding: string | undefined): UnitTextResult {
    // What the judge kept of the statements' text (settings, a DROP rewritten without its temporary
    // objects) is in judgeForm, as the records were (see StatementRecord.text).
    const decode = encoding === undefined ? showAsUtf8 : this.decoder(encoding);
    if (!decode) return { kind: 'undecodable', problem: `its database's encoding ${encoding} is not one this tool can read` };
    let settings: string[];
    let rewrites: Record<number, string>;
    let resets: Record<number, string[]>;
    try {
      const fromBytes = (text: string): string => decode(formBytes(text));
      settings = unit.settings.map(fromBytes);
      rewrites = Object.fromEntries(Object.entries(unit.rewrites ?? {}).map(([i, text]) => [i, fromBytes(text)]));
      resets = Object.fromEntries(Object.entries(unit.resets ?? {}).map(([i, r]) => [i, r.statements.map(fromBytes)]));
    } catch (err) {
      if (!(err instanceof EncodingError)) throw err;
      return { kind: 'undecodable', problem: `its session's settings are not valid ${encoding} (${err.message})` };
    }
    // The string syntax the session set, as the judge read the record with it.
    const syntax = stringSyntaxIn(unit.settings);
    const prepares: Extract<Part, { kind: 'prepare' }>[] = [];
    for (const place of unit.prepares ?? []) {
      const part = this.partAt(place, encoding, syntax);
      if (part.kind === 'gone' || part.kind === 'undecodable') return part;
      if (part.kind !== 'prepare') return notTheSame(place);
      prepares.push(part);
    }
    const statements: UnitText['statements'] = [];
    for (const index of unit.parts) {
      const rewrite = rewrites[index];
      const part = this.partAt({ ...unit, part: index }, encoding, syntax);
      if (part.kind === 'gone' || part.kind === 'undecodable') return part;
      if (part.kind === 'ddl' && part.unprovable !== undefined) return { kind: 'unprovable', problem: part.unprovable, shown: redact(part.text) };
      if (part.kind === 'ddl') statements.push({ sql: rewrite ?? part.text, tag: part.tag });
      else if (part.kind === 'set' && resets[index] === undefined) statements.push({ sql: toSetLocal(part.text) });
      else if (part.kind === 'set') {
        statements.push(...resets[index].map((sql) => ({ sql })));
        if (unit.resets?.[index].restoresRole) statements.push({ sql: 'SET LOCAL ROLE NONE', unitRole: true });
      } else return notTheSame(unit);
    }
    // The session's prepared statements the unit executes: prepared before it, let go after it.
    const all = [
      ...prepares.map((p) => ({ sql: p.text })),
      ...statements,
      ...prepares.map((p) => ({ sql: `DEALLOCATE "${p.name.replace(/"/g, '""')}"` })),
    ];
    // Its capture says what the log cannot prove (core/captureUse): never sent on a guess.
    if (unit.stop !== undefined) return { kind: 'unprovable', problem: unit.stop, shown: shownOf(all) };
    return { kind: 'ok', text: { settings, statements: all, shown: shownOf(all) } };
  }

  /** One statement of a logged record, read again. */
  private partAt(place: Place, encoding: string | undefined, syntax: StringSyntax): Part | Failed {
    const file = this.byKey.get(place.file.key);
    if (!file) {
      return { kind: 'gone', problem: `the csvlog file that holds it (${place.file.name}) is gone from the log directory` };
    }
    const id = `${place.file.key}@${place.offset}@${encoding ?? ''}@${syntax ?? ''}`;
    let parts = this.parts.get(id);
    if (!parts) {
      const decode = encoding === undefined ? showAsUtf8 : this.decoder(encoding);
      if (!decode) return { kind: 'undecodable', problem: `its database's encoding ${encoding} is not one this tool can read` };
      let record: StatementRecord | null;
      try {
        record = this.recordsAt.statement(file, place.offset, place.end, decode);
      } catch (err) {
        if (!(err instanceof EncodingError)) throw err;
        return { kind: 'undecodable', problem: `${file.name} at byte ${place.offset} is not valid ${encoding} (${err.message}): the database must have the same encoding on the primary and on the target` };
      }
      if (!record) return { kind: 'gone', problem: `${file.name} no longer holds its record at byte ${place.offset}` };
      parts = analyzeRecord(record, syntax, this.analyses).parts;
      this.parts.set(id, parts);
    }
    return parts[place.part] ?? notTheSame(place);
  }
}

/** What `use` makes of a UnitTexts of `files`, its log files closed after. */
export function withUnitTexts<T>(files: LogFile[], use: (texts: UnitTexts) => T): T {
  const texts = new UnitTexts(files);
  try {
    return use(texts);
  } finally {
    texts.close();
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
