/**
 * The SQL of the capture helper (see core/capture for its records), per PostgreSQL major: the event
 * trigger's function and what installs and removes it in one database.
 *
 * The function is SECURITY DEFINER and runs under the search_path of whoever ran the DDL, which it
 * must report and so cannot pin with a `SET search_path` clause. Any role can put a schema of its own
 * before pg_catalog on that path, holding functions, operators and types named like the built-in
 * ones: so every function, operator, type and cast in the body is written with its schema, and no
 * name is left for the path to decide.
 */
import { CAPTURED_SETTINGS } from './capture';

/** The helper's own schema; its objects are named after it. */
export const CAPTURE_SCHEMA = 'ddl_sync_capture';

/** Bumped when the function's SQL changes: `capture status` and `check` report an older install. */
export const CAPTURE_HELPER_VERSION = 1;

/** The schema's comment, which says what installed it and at which version. */
export const CAPTURE_COMMENT_PREFIX = 'pg-ddl-sync capture helper ';

/** The first major with what the trigger reads: pg_event_trigger_ddl_commands() (9.5). */
export const CAPTURE_MIN_VERSION_NUM = 90500;

/** sha256() came with 11; 10 and older have md5() only. */
export function captureAlgorithm(versionNum: number): 'sha256' | 'md5' {
  return versionNum >= 110000 ? 'sha256' : 'md5';
}

/** Settings of CAPTURED_SETTINGS that not every major has: the first major with it, the last. */
const SETTING_MAJORS: Partial<Record<(typeof CAPTURED_SETTINGS)[number], { from?: number; to?: number }>> = {
  default_table_access_method: { from: 120000 },
  default_toast_compression: { from: 140000 },
  default_with_oids: { to: 119999 },
};

/** The CAPTURED_SETTINGS this major has. */
export function capturedSettingsOf(versionNum: number): string[] {
  return CAPTURED_SETTINGS.filter((name) => {
    const span = SETTING_MAJORS[name];
    return !span || (versionNum >= (span.from ?? 0) && versionNum <= (span.to ?? Infinity));
  });
}

/** A single-quoted SQL literal of a text we write ourselves (names, fixed words). */
function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** `H(text)` in hex, H the major's hash, over the text's UTF-8 bytes as core/capture computes it. */
function hashHex(alg: 'sha256' | 'md5', text: string): string {
  const bytes = `pg_catalog.convert_to(${text}, 'UTF8'::pg_catalog.name)`;
  return alg === 'sha256' ? `pg_catalog.encode(pg_catalog.sha256(${bytes}), 'hex'::pg_catalog.text)` : `pg_catalog.md5(${bytes})`;
}

const CAT = 'OPERATOR(pg_catalog.||)';

/**
 * The event trigger's function for one major. Its record goes to the log only, never to the client
 * (client_min_messages): a role that saw its own records could write them again, elsewhere. It
 * never lets the DDL fail: an error of its own is
 * written as an `{"error": SQLSTATE}` record (MAC'd when the key could be read), and an error in
 * writing that is swallowed.
 * @param versionNum the server's server_version_num
 */
export function captureFunctionSql(versionNum: number): string {
  const alg = captureAlgorithm(versionNum);
  const settings = capturedSettingsOf(versionNum)
    .map((name) => `${literal(name)}::pg_catalog.text, pg_catalog.current_setting(${literal(name)}::pg_catalog.text)`)
    .join(',\n          ');
  const mac = (payload: string): string => hashHex(alg, `v_key ${CAT} ${hashHex(alg, `v_key ${CAT} ${payload}`)}`);
  const prefix = `'pg-ddl-sync capture 1 ${alg} '::pg_catalog.text`;
  const record = (payload: string): string => `${prefix} ${CAT} ${mac(payload)} ${CAT} ' '::pg_catalog.text ${CAT} ${payload}`;
  return `CREATE FUNCTION ${CAPTURE_SCHEMA}.on_ddl() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET client_min_messages = warning AS $pgds$
DECLARE
  v_key pg_catalog.text;
  v_top pg_catalog.int8;
  v_sub pg_catalog.int8;
  v_epoch pg_catalog.int8;
  v_payload pg_catalog.text;
BEGIN
  BEGIN
    SELECT k.key INTO v_key FROM ${CAPTURE_SCHEMA}.key k LIMIT 1;
    IF v_key IS NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'P0002';
    END IF;
    -- The top-level transaction's xid, with its epoch; it assigns one if the DDL did not.
    v_top := pg_catalog.txid_current();
${SUB_XID}${payloadSql(settings)}    RAISE LOG '%', ${record('v_payload')};
  EXCEPTION WHEN OTHERS THEN
    BEGIN
      v_payload := pg_catalog.json_build_object('error'::pg_catalog.text, SQLSTATE)::pg_catalog.text;
      IF v_key IS NULL THEN
        -- No key to sign with: the record says so, and no reader can take it for a proven one.
        RAISE LOG '%', 'pg-ddl-sync capture 1 ${alg} nokey '::pg_catalog.text ${CAT} v_payload;
      ELSE
        RAISE LOG '%', ${record('v_payload')};
      END IF;
    EXCEPTION WHEN OTHERS THEN
      NULL;
    END;
  END;
END
$pgds$`;
}

/**
 * PL/pgSQL that sets v_sub to the running subtransaction's xid with its epoch (v_top holds the
 * top-level one's): the newest xid this backend holds a lock on (the xids of subtransactions rolled
 * back are let go; the ones released pass to their parent). That xid has no epoch: it takes the
 * top-level one's, one more when the counter wrapped between the two. pg_locks copies the server's
 * whole lock table: nothing to speak of for DDL in a transaction of its own, but a transaction holding
 * thousands of locks pays for all of them at each command.
 */
const SUB_XID = `    SELECT l.transactionid::pg_catalog.text::pg_catalog.int8 INTO v_sub
      FROM pg_catalog.pg_locks l
     WHERE l.pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid()
       AND l.locktype OPERATOR(pg_catalog.=) 'transactionid'::pg_catalog.text
       AND l.granted
     ORDER BY pg_catalog.age(l.transactionid)
     LIMIT 1;
    IF v_sub IS NULL THEN
      v_sub := v_top;
    ELSE
      v_epoch := v_top OPERATOR(pg_catalog./) 4294967296::pg_catalog.int8;
      IF v_sub OPERATOR(pg_catalog.<) (v_top OPERATOR(pg_catalog.%) 4294967296::pg_catalog.int8) THEN
        v_epoch := v_epoch OPERATOR(pg_catalog.+) 1::pg_catalog.int8;
      END IF;
      v_sub := (v_epoch OPERATOR(pg_catalog.*) 4294967296::pg_catalog.int8) OPERATOR(pg_catalog.+) v_sub;
    END IF;
`;

/**
 * PL/pgSQL that sets v_payload to the record's JSON (core/capture's CapturePayload).
 * @param settings the json_build_object arguments of the settings the major has
 */
function payloadSql(settings: string): string {
  return `    v_payload := pg_catalog.json_build_object(
      'xid'::pg_catalog.text, v_top::pg_catalog.text,
      'sub'::pg_catalog.text, v_sub::pg_catalog.text,
      'tag'::pg_catalog.text, TG_TAG,
      -- Inside SECURITY DEFINER current_user is the owner: the role that ran the DDL is the session's
      -- role setting (SET ROLE), or its session user.
      'role'::pg_catalog.text, CASE WHEN pg_catalog.current_setting('role'::pg_catalog.text) OPERATOR(pg_catalog.=) 'none'::pg_catalog.text
                               THEN session_user::pg_catalog.text ELSE pg_catalog.current_setting('role'::pg_catalog.text) END,
      'session_user'::pg_catalog.text, session_user::pg_catalog.text,
      'settings'::pg_catalog.text, pg_catalog.json_build_object(
          ${settings}),
      'commands'::pg_catalog.text, COALESCE((
        SELECT pg_catalog.json_agg(pg_catalog.json_build_object(
                 'tag'::pg_catalog.text, c.command_tag,
                 'type'::pg_catalog.text, c.object_type,
                 'identity'::pg_catalog.text, c.object_identity,
                 'schema'::pg_catalog.text, c.schema_name,
                 'in_extension'::pg_catalog.text, c.in_extension))
          FROM pg_catalog.pg_event_trigger_ddl_commands() c), '[]'::pg_catalog.json)
    )::pg_catalog.text;
`;
}

/** How one database drops the helper; the event trigger first, so that its own DDL writes no record. */
export const CAPTURE_REMOVE_SQL = [
  `DROP EVENT TRIGGER IF EXISTS ${CAPTURE_SCHEMA}`,
  `DROP SCHEMA IF EXISTS ${CAPTURE_SCHEMA} CASCADE`,
];

/**
 * How one database gets the helper, to run in one transaction after CAPTURE_REMOVE_SQL's first
 * statement; `$1` is the key. The event trigger comes last: what comes before it writes no record.
 * @param versionNum the server's server_version_num
 */
export function captureInstallSql(versionNum: number): string[] {
  return [
    `DROP SCHEMA IF EXISTS ${CAPTURE_SCHEMA} CASCADE`,
    `CREATE SCHEMA ${CAPTURE_SCHEMA}`,
    `REVOKE ALL ON SCHEMA ${CAPTURE_SCHEMA} FROM PUBLIC`,
    `COMMENT ON SCHEMA ${CAPTURE_SCHEMA} IS ${literal(`${CAPTURE_COMMENT_PREFIX}${CAPTURE_HELPER_VERSION}`)}`,
    `CREATE TABLE ${CAPTURE_SCHEMA}.key (key pg_catalog.text NOT NULL)`,
    `REVOKE ALL ON TABLE ${CAPTURE_SCHEMA}.key FROM PUBLIC`,
    `INSERT INTO ${CAPTURE_SCHEMA}.key (key) VALUES ($1)`,
    captureFunctionSql(versionNum),
    `REVOKE ALL ON FUNCTION ${CAPTURE_SCHEMA}.on_ddl() FROM PUBLIC`,
    `CREATE EVENT TRIGGER ${CAPTURE_SCHEMA} ON ddl_command_end EXECUTE PROCEDURE ${CAPTURE_SCHEMA}.on_ddl()`,
  ];
}
