/**
 * The roles a unit's carried settings take on a target: a `SET ROLE` or `SET SESSION AUTHORIZATION`
 * its session ran on the primary, sent as `SET LOCAL …`. The sync user may take any role; the primary
 * let the session take only the roles its login role could. The applier checks the one against the
 * other, so a setting the log could be made to show (a forged or misread record) gives nobody more.
 */
import { parseStatements } from './parser';

export interface RolesTaken {
  /** By `SET ROLE`: the login role must be a member of each (or a superuser). */
  roles: string[];
  /** By `SET SESSION AUTHORIZATION`: only a superuser may. */
  authorizations: string[];
}

/**
 * The roles the setting statements among `statements` take (NONE and DEFAULT take none). The parser
 * must be loaded (core/parser).
 */
export function rolesTaken(statements: readonly string[]): RolesTaken {
  const out: RolesTaken = { roles: [], authorizations: [] };
  for (const sql of statements) {
    if (!/^\s*set\s/i.test(sql) || !/\b(role|authorization)\b/i.test(sql)) continue;
    for (const { type, node } of parseStatements(sql) ?? []) {
      if (type !== 'VariableSetStmt' || node.kind !== 'VAR_SET_VALUE') continue;
      const value = ((node.args as { A_Const?: { sval?: { sval?: string } } }[] | undefined) ?? [])[0]?.A_Const?.sval?.sval;
      if (value === undefined) continue;
      if (node.name === 'role' && value !== 'none') out.roles.push(value);
      else if (node.name === 'session_authorization') out.authorizations.push(value);
    }
  }
  return out;
}
