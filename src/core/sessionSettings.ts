/**
 * Session settings that change what a DDL statement does. Under `log_statement = 'all'` the primary
 * logs every `SET`; the judge keeps, per session, the ones below and hands each DDL statement the
 * values in force when it ran, which the applier sets (`SET LOCAL`) on the target before it.
 *
 * Only these: they decide where an object lands, who owns it, how its text is parsed, or whether its
 * body is checked. Settings of the session's own comfort (`statement_timeout`, `work_mem`,
 * `application_name`, …) are not carried: they would only make the target differ from itself.
 */
import { stripLeadingComments } from './sqlSplit';

const CARRIED = new Set([
  'search_path',
  'role',
  'session_authorization',
  'default_tablespace',
  'default_table_access_method',
  'default_toast_compression',
  'check_function_bodies',
  'standard_conforming_strings',
  'backslash_quote',
  'array_nulls',
  'transform_null_equals',
  'datestyle',
  'intervalstyle',
  'timezone',
  'xmloption',
  'allow_in_place_tablespaces',
  'default_with_oids',
  'createrole_self_grant',
  'password_encryption',
]);

/** True for a setting (its canonical, lower-case name) that is carried to the targets. */
export function isCarried(name: string): boolean {
  return CARRIED.has(name) || name.startsWith('plpgsql.');
}

/** A `SET`, `RESET` or `DISCARD ALL`, as the judge applies it. */
export type SettingChange =
  /** `SET [LOCAL] name …`: `statement` is it as `SET LOCAL …`. */
  | { kind: 'set'; name: string; local: boolean; statement: string }
  /** `RESET name`, `SET name TO DEFAULT`, `SET ROLE NONE`. */
  | { kind: 'reset'; name: string; local: boolean }
  /** `RESET ALL` (which leaves role and session authorization alone). */
  | { kind: 'reset-all'; local: boolean }
  /** `DISCARD ALL`: every setting back to its default. */
  | { kind: 'discard' };

/** Carried settings by name, each as the `SET LOCAL` statement that restores it. */
export type SettingValues = Record<string, string>;

/** The values after a change; the input is left as it was. */
export function applyChange(values: SettingValues, change: SettingChange): SettingValues {
  switch (change.kind) {
    case 'set': {
      if (!isCarried(change.name)) return values;
      const next = { ...values, [change.name]: change.statement };
      // SET SESSION AUTHORIZATION also resets the role.
      if (change.name === 'session_authorization') delete next.role;
      return next;
    }
    case 'reset': {
      if (!isCarried(change.name)) return values;
      const next = { ...values };
      delete next[change.name];
      if (change.name === 'session_authorization') delete next.role;
      return next;
    }
    case 'reset-all': {
      const next: SettingValues = {};
      for (const keep of ['role', 'session_authorization']) if (values[keep]) next[keep] = values[keep];
      return next;
    }
    case 'discard':
      return {};
  }
}

/**
 * The statements that put these values in force, in an order that works: the session authorization
 * first (it resets the role), then the role, then the rest by name.
 */
export function settingStatements(values: SettingValues): string[] {
  const rank = (n: string): number => (n === 'session_authorization' ? 0 : n === 'role' ? 1 : 2);
  return Object.keys(values)
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
    .map((n) => values[n]);
}

/**
 * What a target runs for a reset the session made between two statements of one unit, instead of the
 * reset itself: on the target the unit's transaction took its role and settings with `SET LOCAL`, so a
 * plain `RESET` there would put back the sync connection's values, not the primary session's.
 */
export interface ResetStatements {
  /** `SET LOCAL … TO DEFAULT` and the like, run where the reset stood. */
  statements: string[];
  /**
   * After them the role goes back to the one the unit runs as: the record's user (apply-as original)
   * or the sync user. Only the applier's side knows which, so it is left to it.
   */
  restoresRole: boolean;
}

/**
 * What restores, on a target, the values a reset put back on the primary; null when it changes nothing
 * carried. RESET (and `SET … TO DEFAULT`) puts back the session default, the value from the
 * connection, role or database settings: `SET LOCAL … TO DEFAULT` does the same on the target.
 * `RESET ROLE` and `SET ROLE NONE` make the session user the current one again: the session
 * authorization in force, if the session set one, else the user that logged in (the record's).
 * @param change the reset
 * @param before the carried values in force before it
 * @param after the carried values in force after it
 */
export function resetStatements(change: SettingChange, before: SettingValues, after: SettingValues): ResetStatements | null {
  switch (change.kind) {
    case 'set':
    case 'discard':
      return null;
    case 'reset':
      if (change.name === 'role') return { statements: after.session_authorization ? ['SET LOCAL ROLE NONE'] : [], restoresRole: !after.session_authorization };
      if (change.name === 'session_authorization') return { statements: ['SET LOCAL SESSION AUTHORIZATION DEFAULT'], restoresRole: true };
      return isCarried(change.name) ? { statements: [`SET LOCAL ${settingName(change.name)} TO DEFAULT`], restoresRole: false } : null;
    case 'reset-all': {
      // RESET ALL leaves the role and the session authorization alone (see applyChange).
      const names = Object.keys(before).filter((n) => n !== 'role' && n !== 'session_authorization');
      return names.length === 0 ? null : { statements: names.sort().map((n) => `SET LOCAL ${settingName(n)} TO DEFAULT`), restoresRole: false };
    }
  }
}

/** A setting's name as SQL: as it is when it is a plain name (`plpgsql.extra_warnings`), else quoted. */
function settingName(name: string): string {
  return name
    .split('.')
    .map((p) => (/^[a-z_][a-z0-9_$]*$/.test(p) ? p : `"${p.replace(/"/g, '""')}"`))
    .join('.');
}

/** How `'…'` strings read: standard_conforming_strings on, off, or not known from the log. */
export type StringSyntax = 'on' | 'off' | undefined;

/**
 * The string syntax a session's own `SET standard_conforming_strings` put in force, from the carried
 * settings' `SET LOCAL` statements; undefined when it set none (the value then comes from the server,
 * the role, the database or the client's PGOPTIONS, none of which the log shows).
 */
export function stringSyntaxIn(settings: readonly string[]): StringSyntax {
  for (const sql of settings) {
    const m = /^set\s+local\s+standard_conforming_strings\s*(?:=|\bto\b)\s*'?([a-z0-9]+)'?\s*;?\s*$/i.exec(sql);
    if (!m) continue;
    const value = m[1].toLowerCase();
    if (['on', 'true', 'yes', '1'].includes(value)) return 'on';
    if (['off', 'false', 'no', '0'].includes(value)) return 'off';
  }
  return undefined;
}

/** `SET x = 1` → `SET LOCAL x = 1`, so a setting lasts only for the transaction that applies it. */
export function toSetLocal(sql: string): string {
  const text = stripLeadingComments(sql);
  if (/^set\s+local\s/i.test(text)) return text;
  return text.replace(/^set\s+(session\s+(?!authorization\b|characteristics\b))?/i, 'SET LOCAL ');
}
