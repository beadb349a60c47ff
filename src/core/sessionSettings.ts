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

/** `SET x = 1` → `SET LOCAL x = 1`, so a setting lasts only for the transaction that applies it. */
export function toSetLocal(sql: string): string {
  const text = stripLeadingComments(sql);
  if (/^set\s+local\s/i.test(text)) return text;
  return text.replace(/^set\s+(session\s+(?!authorization\b|characteristics\b))?/i, 'SET LOCAL ');
}
