/**
 * The capture helper's records: what the event trigger `capture install` puts on the primary writes
 * into the csvlog (`RAISE LOG`) at the end of each DDL command, in the session and transaction that
 * ran it. Under `log_statement = 'ddl'` they carry what the log does not: the transaction (and
 * subtransaction) the statement ran in, so the primary can be asked whether it committed; the role and
 * the settings it ran with; and DDL run inside functions, procedures and `DO` blocks, which no log
 * mode shows as statements.
 *
 * Any role can `RAISE LOG` any text, so a record counts only when it carries a MAC made with a key
 * that only superusers of the primary can read (the trigger's function is SECURITY DEFINER and reads
 * it from a table no other role may). The MAC is H(key || H(key || payload)) in hex, H being SHA-256
 * (PostgreSQL 11 and later) or MD5 (10, which has no sha256()); the nesting keeps a known MAC from
 * being extended to a longer payload.
 *
 * The message: `pg-ddl-sync capture 1 <alg> <mac> <payload>`, payload a JSON object (CapturePayload).
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export const CAPTURE_PREFIX = 'pg-ddl-sync capture 1 ';

/** The settings that change what DDL does, as the trigger reports them (those the major has). */
export const CAPTURED_SETTINGS = [
  'search_path',
  'default_tablespace',
  'default_table_access_method',
  'default_toast_compression',
  'default_with_oids',
  'check_function_bodies',
  'temp_tablespaces',
  'DateStyle',
  'IntervalStyle',
  'TimeZone',
  'standard_conforming_strings',
] as const;

/** One row of pg_event_trigger_ddl_commands(). */
export interface CapturedCommand {
  tag: string;
  type: string;
  identity: string | null;
  schema: string | null;
  inExtension: boolean;
}

export interface CapturePayload {
  /** txid_current(): the top-level transaction's xid with its epoch, in decimal. */
  xid: string;
  /** The running subtransaction's xid with its epoch (= xid outside a subtransaction). */
  sub: string;
  /** The DDL command's own tag (TG_TAG): it differs from the record's command_tag when nested. */
  tag: string;
  /** The role the statement ran as: the session's `role` setting, or its session user. */
  role: string;
  sessionUser: string;
  /** CAPTURED_SETTINGS the major has, by name. */
  settings: Record<string, string>;
  commands: CapturedCommand[];
}

export type CaptureParse =
  | { kind: 'capture'; payload: CapturePayload }
  /** The trigger caught an error of its own: the statement ran, its capture is missing. */
  | { kind: 'capture-failed'; sqlState: string }
  /** Looks like a capture record but its MAC or shape is wrong: someone wrote it by hand. */
  | { kind: 'forged'; why: string };

/** Whether a LOG message is meant as a capture record (cheap; the MAC is checked by parseCapture). */
export function looksLikeCapture(message: string): boolean {
  return message.startsWith(CAPTURE_PREFIX);
}

/** The MAC of a payload under a key, as the trigger computes it. */
export function captureMac(alg: 'sha256' | 'md5', key: string, payload: string): string {
  const h = (s: string): string => createHash(alg).update(Buffer.from(s, 'utf8')).digest('hex');
  return h(key + h(key + payload));
}

/** Reads and checks a capture message; `key` is the primary's capture key. */
export function parseCapture(message: string, key: string): CaptureParse {
  const rest = message.slice(CAPTURE_PREFIX.length);
  const m = /^(sha256|md5) ([0-9a-f]+) /.exec(rest);
  if (!m) return { kind: 'forged', why: 'no algorithm and MAC' };
  const payload = rest.slice(m[0].length);
  const want = Buffer.from(captureMac(m[1] as 'sha256' | 'md5', key, payload), 'hex');
  const got = Buffer.from(m[2], 'hex');
  if (got.length !== want.length || !timingSafeEqual(got, want)) return { kind: 'forged', why: 'its MAC is not the capture key’s' };
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return { kind: 'forged', why: 'its payload is not JSON' };
  }
  return shapeOf(value);
}

function shapeOf(v: unknown): CaptureParse {
  if (!isObject(v)) return { kind: 'forged', why: 'its payload is not an object' };
  if (typeof v.error === 'string') return { kind: 'capture-failed', sqlState: v.error };
  const ok =
    isXid(v.xid) &&
    isXid(v.sub) &&
    typeof v.tag === 'string' &&
    typeof v.role === 'string' &&
    typeof v.session_user === 'string' &&
    isObject(v.settings) &&
    Object.values(v.settings).every((s) => typeof s === 'string') &&
    Array.isArray(v.commands) &&
    v.commands.every(isCommand);
  if (!ok) return { kind: 'forged', why: 'its payload lacks a field' };
  return {
    kind: 'capture',
    payload: {
      xid: v.xid as string,
      sub: v.sub as string,
      tag: v.tag as string,
      role: v.role as string,
      sessionUser: v.session_user as string,
      settings: v.settings as Record<string, string>,
      commands: (v.commands as Record<string, unknown>[]).map((c) => ({
        tag: c.tag as string,
        type: c.type as string,
        identity: (c.identity as string | null) ?? null,
        schema: (c.schema as string | null) ?? null,
        inExtension: c.in_extension === true,
      })),
    },
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isXid(v: unknown): boolean {
  return typeof v === 'string' && /^[0-9]{1,20}$/.test(v);
}

function isCommand(c: unknown): boolean {
  return (
    isObject(c) &&
    typeof c.tag === 'string' &&
    typeof c.type === 'string' &&
    (c.identity === null || typeof c.identity === 'string') &&
    (c.schema === null || typeof c.schema === 'string') &&
    typeof c.in_extension === 'boolean'
  );
}
