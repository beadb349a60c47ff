/**
 * `CREATE TABLE … AS EXECUTE name` runs a prepared statement. Where the log shows its `PREPARE`, the
 * target prepares it first; where it does not, what the primary ran is not in the log.
 */
/**
 * Why a statement that executes a prepared statement (`CREATE TABLE … AS EXECUTE name`) whose
 * `PREPARE` the log does not show cannot be sent: what it ran is not in the log.
 */
export function prepareNotLogged(name: string): string {
  return `it executes prepared statement "${name}", whose PREPARE the log does not show (log_statement = 'ddl' does not log PREPARE, and a statement prepared through the protocol is never logged)`;
}
