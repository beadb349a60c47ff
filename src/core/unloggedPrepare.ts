/**
 * `CREATE TABLE … AS EXECUTE name` runs a prepared statement. Where the log shows its `PREPARE`, the
 * target prepares it first; where it does not, what the primary ran is not in the log.
 */
/**
 * Why a statement that executes a prepared statement (`CREATE TABLE … AS EXECUTE name`) whose
 * `PREPARE` the log does not show cannot be sent: what it ran is not in the log.
 */
export function prepareNotLogged(name: string): string {
  return `${EXECUTES} "${name}", whose PREPARE the log does not show (log_statement = 'ddl' does not log PREPARE, and a statement prepared through the protocol is never logged)`;
}

const EXECUTES = 'it executes prepared statement';

/** Whether a unit's stop is prepareNotLogged's. */
export function isPrepareNotLogged(stop: string | undefined): boolean {
  return stop?.startsWith(EXECUTES) === true;
}
