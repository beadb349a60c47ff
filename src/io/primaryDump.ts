/**
 * Reading objects' current definitions from the primary, for `nested --copy`: which relation an
 * identity names there (and the relation an index or owned sequence comes with), and pg_dump's
 * schema-only script of the relations, through the same connection details as `--source`.
 */
import { execFile } from 'node:child_process';
import { APPLICATION_NAME } from '../core/echo';
import { maskInString } from '../core/redact';
import { answerTimeoutMs, withClient } from './connect';
import { ConnectOptions, TargetSpec } from './target';

/** A relation of the primary, as its catalog has it now. */
export interface PrimaryRelation {
  identity: string;
  schema: string;
  name: string;
  owner: string;
  /** The relation it comes with in a dump: an index's table, an owned sequence's owner; else itself. */
  dumpedWith: { schema: string; name: string };
}

// to_regclass takes an identity as pg_event_trigger_ddl_commands prints it (quoted where needed) and
// answers NULL, not an error, for a name that is gone. An index comes with its table; a sequence with
// the relation that owns it (pg_depend 'a': OWNED BY).
const RELATIONS = `
SELECT i.identity, n.nspname AS schema, c.relname AS name, pg_catalog.pg_get_userbyid(c.relowner) AS owner,
       coalesce(wn.nspname, n.nspname) AS with_schema, coalesce(w.relname, c.relname) AS with_name
  FROM pg_catalog.unnest($1::pg_catalog.text[]) AS i(identity)
  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(i.identity)
  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
  LEFT JOIN pg_catalog.pg_index x ON x.indexrelid OPERATOR(pg_catalog.=) c.oid
  LEFT JOIN pg_catalog.pg_depend d ON c.relkind OPERATOR(pg_catalog.=) 'S' AND d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
        AND d.objid OPERATOR(pg_catalog.=) c.oid AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
        AND d.deptype OPERATOR(pg_catalog.=) 'a'
  LEFT JOIN pg_catalog.pg_class w ON w.oid OPERATOR(pg_catalog.=) coalesce(x.indrelid, d.refobjid)
  LEFT JOIN pg_catalog.pg_namespace wn ON wn.oid OPERATOR(pg_catalog.=) w.relnamespace`;

/**
 * The relations of one database of the primary that these identities name; an identity that names
 * none there now is left out.
 */
export async function primaryRelations(source: TargetSpec, database: string, opts: ConnectOptions, identities: string[]): Promise<PrimaryRelation[]> {
  return withClient(source, database, opts, async (client) => {
    const res = await client.query<{ identity: string; schema: string; name: string; owner: string; with_schema: string; with_name: string }>(RELATIONS, [identities]);
    return res.rows.map((r) => ({ identity: r.identity, schema: r.schema, name: r.name, owner: r.owner, dumpedWith: { schema: r.with_schema, name: r.with_name } }));
  });
}

/** The source's URI with another database in it (libpq takes the URI's database over PGDATABASE). */
export function uriForDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/**
 * pg_dump's schema-only script of the relations matching these `-t` patterns (dumpPattern), from one
 * database of the primary. `--strict-names`: a pattern that matches nothing is an error, not an empty
 * script.
 * @param pgDump the pg_dump program (its major must be the primary's or newer)
 * @returns the script, or throws with pg_dump's own message
 */
export function dumpRelations(source: TargetSpec, database: string, opts: ConnectOptions, patterns: string[], pgDump = 'pg_dump'): Promise<string> {
  // A password in the URI goes to pg_dump in its environment, not its arguments, which any local
  // user can read (ps).
  const uri = new URL(uriForDatabase(source.url, database));
  const password = uri.password ? decodeURIComponent(uri.password) : (uri.searchParams.get('password') ?? undefined);
  uri.password = '';
  uri.searchParams.delete('password');
  const args = ['--schema-only', '--strict-names', ...patterns.flatMap((p) => ['-t', p]), `--dbname=${uri.toString()}`];
  const env = {
    ...process.env,
    PGAPPNAME: APPLICATION_NAME,
    PGCONNECT_TIMEOUT: String(Math.max(1, Math.ceil(opts.connectTimeoutMs / 1000))),
    ...(password !== undefined && { PGPASSWORD: password }),
  };
  return new Promise((resolve, reject) => {
    execFile(pgDump, args, { env, maxBuffer: 64 * 1024 * 1024, timeout: answerTimeoutMs(opts, 20) }, (err, stdout, stderr) => {
      if (err) {
        const said = stderr.trim().split('\n').pop() ?? '';
        // Its message may quote the connection string.
        reject(new Error(`${pgDump} failed: ${maskInString(said || err.message)}`));
        return;
      }
      resolve(stdout);
    });
  });
}
