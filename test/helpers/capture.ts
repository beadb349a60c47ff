/**
 * The capture helper on a test primary, made by hand as `pg-ddl-sync capture install` makes it (same
 * schema, key table, function and event trigger, same record format: see src/core/capture.ts), so that
 * the judge's side can be tested on its own. Swap for the real installer once it is in.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { CAPTURED_SETTINGS } from '../../src/core/capture';
import type { Cluster } from './cluster';

/** The SQL that installs the helper in one database, with this key. */
export function captureInstallSql(key: string): string {
  const names = CAPTURED_SETTINGS.map((n) => `'${n}'`).join(', ');
  const mac = (payload: string): string =>
    `pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(k || pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(k || ${payload}, 'UTF8')), 'hex'), 'UTF8')), 'hex')`;
  return `
CREATE SCHEMA ddl_sync_capture;
REVOKE ALL ON SCHEMA ddl_sync_capture FROM PUBLIC;
CREATE TABLE ddl_sync_capture.key (key text NOT NULL);
REVOKE ALL ON ddl_sync_capture.key FROM PUBLIC;
INSERT INTO ddl_sync_capture.key VALUES ('${key}');
-- No SET search_path on the function: it would be the search_path the record reports. Names are
-- qualified instead.
CREATE FUNCTION ddl_sync_capture.on_ddl() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER AS $f$
DECLARE
  k text;
  payload text;
  top bigint;
  sub bigint;
BEGIN
  SELECT key INTO k FROM ddl_sync_capture.key LIMIT 1;
  top := pg_catalog.txid_current();
  -- The subtransaction's xid: the newest transactionid lock this backend holds.
  SELECT max(transactionid::text::bigint) INTO sub FROM pg_catalog.pg_locks
   WHERE locktype = 'transactionid' AND pid = pg_catalog.pg_backend_pid() AND granted;
  sub := ((top >> 32) << 32) | coalesce(sub, top & 4294967295);
  payload := pg_catalog.json_build_object(
    'xid', top::text,
    'sub', sub::text,
    'tag', tg_tag,
    'role', CASE WHEN pg_catalog.current_setting('role') = 'none' THEN session_user ELSE pg_catalog.current_setting('role') END,
    'session_user', session_user,
    'settings', (SELECT coalesce(pg_catalog.json_object_agg(n, pg_catalog.current_setting(n, true)), '{}'::json)
                   FROM pg_catalog.unnest(ARRAY[${names}]) AS n WHERE pg_catalog.current_setting(n, true) IS NOT NULL),
    'commands', (SELECT coalesce(pg_catalog.json_agg(pg_catalog.json_build_object('tag', c.command_tag, 'type', c.object_type,
                   'identity', c.object_identity, 'schema', c.schema_name, 'in_extension', c.in_extension)), '[]'::json)
                   FROM pg_catalog.pg_event_trigger_ddl_commands() AS c)
  )::text;
  RAISE LOG '%', 'pg-ddl-sync capture 1 sha256 ' || ${mac('payload')} || ' ' || payload;
EXCEPTION WHEN OTHERS THEN
  payload := pg_catalog.json_build_object('error', SQLSTATE)::text;
  RAISE LOG '%', 'pg-ddl-sync capture 1 sha256 ' || coalesce(${mac('payload')}, '') || ' ' || payload;
END
$f$;
CREATE EVENT TRIGGER ddl_sync_capture ON ddl_command_end EXECUTE PROCEDURE ddl_sync_capture.on_ddl();
`;
}

/**
 * Installs the helper in `database` of `cluster`, in a session that logs nothing (its own DDL is never
 * propagated). @returns the key
 */
export async function installCapture(cluster: Cluster, database = 'postgres', key = randomBytes(24).toString('hex')): Promise<string> {
  const client = new Client({
    host: '127.0.0.1', port: cluster.port, user: 'postgres', database, password: '',
    options: '-c log_statement=none -c log_disconnections=off',
  });
  await client.connect();
  try {
    await client.query(captureInstallSql(key));
  } finally {
    await client.end();
  }
  return key;
}
