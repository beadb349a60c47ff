/**
 * Commands that act on the server instance rather than on a database's schema. A target is another
 * instance, with its own memory, ports, disks and replication: copying these would set the primary's
 * `shared_buffers` or `port` there (ALTER SYSTEM), point it at directories of the primary's host
 * (tablespace locations), or make it subscribe to a publisher and copy its data (subscriptions). They
 * are left out unless the user lets them through (--send-instance-commands).
 *
 * LOAD, CHECKPOINT and VACUUM act on the instance too, but PostgreSQL does not count them as DDL: they
 * are never sent whatever this says.
 */

/** Command tags (as core/commandTag names them) of the instance-level DDL. */
export const INSTANCE_TAGS: readonly string[] = [
  'ALTER SYSTEM',
  'CREATE TABLESPACE',
  'ALTER TABLESPACE',
  'DROP TABLESPACE',
  'CREATE SUBSCRIPTION',
  'ALTER SUBSCRIPTION',
  'DROP SUBSCRIPTION',
];

/** Whether a DDL statement of this command tag acts on the instance, not on a schema. */
export function isInstanceCommand(tag: string): boolean {
  return INSTANCE_TAGS.includes(tag);
}
