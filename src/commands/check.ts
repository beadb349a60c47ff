/**
 * `check`: is everything in place for runs to work? The config (already validated by the settings
 * step), the primary's logging settings (through --source, or --data-dir's configuration files), the
 * csvlog directory and the state file, every target and every database it will be sent DDL for, and
 * the password file as libpq reads it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { APPLICATION_NAME, echoOf, whyLeftOut } from '../core/echo';
import { CAPTURE_HELPER_VERSION } from '../core/captureSql';
import { loadParser } from '../core/parser';
import { isOn } from '../core/pgConf';
import { analyzeRecord } from '../core/statements';
import { listLogFiles } from '../io/logFiles';
import { CaptureDatabase, captureLine, captureStatus } from '../io/captureHelper';
import { LEDGER_SCHEMA } from '../io/ledger';
import { readRecords } from '../io/logReader';
import { loadState } from '../io/state';
import { withClient } from '../io/connect';
import { namedDatabase } from '../io/target';
import { Settings } from '../io/settings';

export interface Finding {
  level: 'ok' | 'warning' | 'error';
  /** What was checked: a setting, a target, a file. */
  subject: string;
  message: string;
}

const LOGGING = [
  'logging_collector', 'log_destination', 'log_directory', 'log_filename', 'log_statement', 'log_disconnections',
  'log_truncate_on_rotation', 'lc_messages', 'log_min_messages',
] as const;

/** What the server uses when a setting is not set anywhere. */
const DEFAULTS: Record<string, string> = {
  logging_collector: 'off',
  log_destination: 'stderr',
  log_directory: 'log',
  log_filename: 'postgresql-%Y-%m-%d_%H%M%S.log',
  log_statement: 'none',
  log_disconnections: 'off',
  log_truncate_on_rotation: 'off',
  lc_messages: '',
  log_min_messages: 'warning',
};

export interface CheckDeps {
  /** Where libpq looks for the password file when PGPASSFILE is not set. */
  home?: string;
}

/** Every finding, in order: what is fine, what is risky, what is wrong. */
export async function check(settings: Settings, deps: CheckDeps = {}): Promise<Finding[]> {
  const findings: Finding[] = [];
  await primarySettings(settings, findings);
  if (await captureHelper(settings, findings)) exactWithHelper(findings);
  files(settings, findings);
  await ignoredRolesInUse(settings, findings);
  passwordFile(deps.home ?? os.homedir(), findings);
  await targets(settings, findings);
  return findings;
}

/** 0 only when there is nothing but `ok`. */
export function checkExitCode(findings: Finding[]): 0 | 1 {
  return findings.every((f) => f.level === 'ok') ? 0 : 1;
}

async function primarySettings(settings: Settings, findings: Finding[]): Promise<void> {
  let values: Record<string, string> | undefined;
  let from = '';
  if (settings.source) {
    try {
      await withClient(settings.source, undefined, { connectTimeoutMs: settings.connectTimeoutMs }, async (client) => {
        const rows = await client.query<{ name: string; setting: string }>('SELECT name, setting FROM pg_catalog.pg_settings WHERE name OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.text[])', [[...LOGGING]]);
        values = Object.fromEntries(rows.rows.map((r) => [r.name, r.setting]));
        from = 'the primary (--source)';
      });
    } catch (err) {
      findings.push({ level: 'error', subject: 'primary', message: `cannot connect through --source: ${(err as Error).message}` });
    }
  }
  if (!values && settings.dataDir) {
    values = { ...DEFAULTS, ...pick(settings.dataDir.settings) };
    from = `the configuration files of ${settings.dataDir.dir}`;
  }
  if (!values) {
    findings.push({ level: 'warning', subject: 'primary', message: "its settings were not checked: give --source URL or --data-dir DIR" });
    return;
  }
  const v = (name: string): string => values![name] ?? DEFAULTS[name];
  const finding = (ok: boolean, subject: string, good: string, bad: string, level: Finding['level'] = 'error'): void => {
    findings.push(ok ? { level: 'ok', subject, message: `${good} (read from ${from})` } : { level, subject, message: bad });
  };
  finding(isOn(v('logging_collector')), 'logging_collector', 'on', `is ${v('logging_collector')}: no csvlog is written; set logging_collector = on (needs a restart)`);
  const destinations = v('log_destination').toLowerCase().split(/\s*,\s*/);
  finding(destinations.includes('csvlog'), 'log_destination', `'${v('log_destination')}'`, `is '${v('log_destination')}', without csvlog; add csvlog (log_destination = 'csvlog')`);
  logStatement(v('log_statement'), from, findings);
  finding(
    isOn(v('log_disconnections')),
    'log_disconnections',
    'on',
    `is ${v('log_disconnections')}: the last DDL of a session waits until the session logs again${settings.source ? ' or --source settles it' : ''}; set log_disconnections = on`,
    settings.source ? 'warning' : 'error',
  );
  const lc = v('lc_messages');
  finding(lc === '' || /^(C|POSIX|en[_.-]|en$)/i.test(lc), 'lc_messages', `'${lc || 'C'}'`, `is '${lc}': the log's messages are not in English and the tool does not recognise them; set lc_messages = 'C'`);
  finding(
    !['fatal', 'panic'].includes(v('log_min_messages').toLowerCase()),
    'log_min_messages',
    `'${v('log_min_messages')}'`,
    `is '${v('log_min_messages')}': statements (logged at LOG) are not written; set it to warning`,
  );
  const name = v('log_filename');
  // A name comes round again unless it holds the whole date (or the epoch).
  const repeats = !(/%s/.test(name) || (/%[YyG]/.test(name) && (/%j/.test(name) || (/%[mbB]/.test(name) && /%[de]/.test(name)))));
  finding(
    !(repeats && isOn(v('log_truncate_on_rotation'))),
    'log_filename',
    `'${name}'`,
    `'${name}' with log_truncate_on_rotation = on: a file is emptied when its name comes round again, maybe before the tool read it; keep log_truncate_on_rotation = off or put the date in the name`,
    'warning',
  );
  if (settings.dataDir && settings.csvlogDir && path.resolve(settings.csvlogDir) !== settings.dataDir.csvlogDir) {
    findings.push({ level: 'error', subject: 'csvlog directory', message: `--csvlog-dir ${settings.csvlogDir} is not where ${settings.dataDir.dir} logs (${settings.dataDir.csvlogDir})` });
  }
}

/**
 * log_statement: 'all' lets the judge see every block's end. Under 'ddl' (or 'mod') no BEGIN, COMMIT
 * or ROLLBACK is logged: DDL inside a block that ends in a ROLLBACK without an error is sent as if it
 * committed, and nothing the tool can ask the primary tells it otherwise. Runs name each such
 * statement; here it is a warning, with its cost.
 */
function logStatement(value: string, from: string, findings: Finding[]): void {
  const subject = 'log_statement';
  if (value === 'all') {
    findings.push({ level: 'ok', subject, message: `'all' (read from ${from})` });
  } else if (value === 'ddl' || value === 'mod') {
    findings.push({
      level: 'warning',
      subject,
      message:
        `'${value}' (read from ${from}): BEGIN, COMMIT and ROLLBACK are not logged, so DDL inside a transaction block that is rolled back without an error is sent as if it committed ` +
        "(each run names such statements on stderr and in run --dry-run); install the capture helper (pg-ddl-sync capture install), or set log_statement = 'all'",
    });
  } else {
    findings.push({ level: 'error', subject, message: `is '${value}': DDL is not logged; set log_statement = 'ddl' or 'all'` });
  }
}

/**
 * The capture helper in each database of the primary: a database without it, where others have it,
 * writes no capture records, and an older version writes what this tool may no longer read.
 */
async function captureHelper(settings: Settings, findings: Finding[]): Promise<boolean> {
  if (!settings.source) return false;
  let dbs: CaptureDatabase[];
  try {
    dbs = await captureStatus(settings);
  } catch (err) {
    findings.push({ level: 'warning', subject: 'capture helper', message: `cannot tell whether it is installed: ${(err as Error).message}` });
    return false;
  }
  const anywhere = dbs.some((d) => d.version !== null);
  for (const d of dbs) {
    const ok = d.version === CAPTURE_HELPER_VERSION || (!anywhere && d.version === null);
    findings.push({ level: ok ? 'ok' : 'warning', subject: `capture helper in ${d.database}`, message: captureLine(d) });
  }
  return dbs.length > 0 && dbs.every((d) => d.version === CAPTURE_HELPER_VERSION);
}

/**
 * With the capture helper in every database, log_statement = 'ddl' is exact: the primary says which
 * transactions rolled back, and the records carry the role and settings.
 */
function exactWithHelper(findings: Finding[]): void {
  const i = findings.findIndex((f) => f.subject === 'log_statement' && f.level === 'warning' && f.message.startsWith("'ddl'"));
  if (i >= 0) findings[i] = { level: 'ok', subject: 'log_statement', message: `${findings[i].message.split(':')[0]}: with the capture helper in every database, exact` };
}

function pick(settings: Record<string, string>): Record<string, string> {
  return Object.fromEntries(LOGGING.filter((n) => settings[n] !== undefined).map((n) => [n, settings[n]]));
}

function files(settings: Settings, findings: Finding[]): void {
  if (!settings.csvlogDir) {
    findings.push({ level: 'error', subject: 'csvlog directory', message: 'none given: give --csvlog-dir DIR or --data-dir DIR' });
  } else {
    try {
      const logs = listLogFiles(settings.csvlogDir);
      const unreadable = logs.filter((f) => {
        try {
          fs.accessSync(f.path, fs.constants.R_OK);
          return false;
        } catch {
          return true;
        }
      });
      if (unreadable.length > 0) {
        const first = unreadable[0].path;
        findings.push({ level: 'error', subject: 'csvlog directory', message: `cannot read ${unreadable.map((f) => f.name).join(', ')}: ${modeProblem(first, fs.constants.R_OK)}` });
      }
      else findings.push({ level: logs.length > 0 ? 'ok' : 'warning', subject: 'csvlog directory', message: `${settings.csvlogDir}: ${logs.length} csvlog file(s)` });
    } catch (err) {
      const denied = modeProblem(settings.csvlogDir, fs.constants.R_OK | fs.constants.X_OK);
      findings.push({ level: 'error', subject: 'csvlog directory', message: denied.startsWith('mode') ? `${(err as Error).message}: ${denied}` : (err as Error).message });
    }
  }
  try {
    loadState(settings.stateFile);
    fs.mkdirSync(path.dirname(settings.stateFile), { recursive: true, mode: 0o700 });
    fs.accessSync(path.dirname(settings.stateFile), fs.constants.W_OK);
    findings.push({ level: 'ok', subject: 'state file', message: settings.stateFile });
  } catch (err) {
    findings.push({ level: 'error', subject: 'state file', message: (err as Error).message });
  }
}

/** How much of the newest csvlog files `check` reads for the DDL of ignored roles. */
const RECENT_LOG_BYTES = 64 * 1024 * 1024;

/** DDL statements of one role in the newest files, and the applications that ran them. */
interface RoleDdl {
  count: number;
  apps: Set<string>;
}

/**
 * What the newest csvlog files show of the roles left out (core/echo): a sync role or an ignored role
 * that ran DDL no pg-ddl-sync sent (applications or DBAs share it, and their DDL is never propagated),
 * and DDL marked as a pg-ddl-sync's under a role that is neither (someone else sets that
 * application_name, or another instance's tool connects under a role this config does not name).
 */
async function ignoredRolesInUse(settings: Settings, findings: Finding[]): Promise<void> {
  if (!settings.csvlogDir) return;
  let files;
  try {
    files = listLogFiles(settings.csvlogDir);
  } catch {
    return; // files() says why
  }
  let first = files.length;
  for (let total = 0; first > 0 && (first === files.length || total + files[first - 1].size <= RECENT_LOG_BYTES); first--) total += files[first - 1].size;
  const recent = files.slice(first);
  const ignored = new Set(settings.ignoredRoles);
  const known = new Set([...settings.syncUsers, ...settings.ignoreUsers]);
  const strays = new Map<string, RoleDdl>();
  const unknownTools = new Map<string, RoleDdl>();
  const note = (into: Map<string, RoleDdl>, user: string, app: string): void => {
    const s = into.get(user) ?? { count: 0, apps: new Set<string>() };
    s.count++;
    s.apps.add(app || '(none)');
    into.set(user, s);
  };
  try {
    await loadParser();
    readRecords(recent, recent.map(() => 0), (r) => {
      if (r.kind !== 'statement') return undefined;
      const echo = echoOf(r, ignored, known);
      // Only DDL counts: a role's monitoring queries are nothing lost.
      if ((echo === 'stray' || echo === 'unknown-tool') && analyzeRecord(r).parts.some((p) => p.kind === 'ddl')) {
        note(echo === 'stray' ? strays : unknownTools, r.userName, r.applicationName);
      }
      return undefined;
    }, { onSkip: () => undefined });
  } catch (err) {
    findings.push({ level: 'warning', subject: 'ignored roles', message: `cannot read the csvlog: ${(err as Error).message}` });
    return;
  }
  const where = `the newest ${recent.length} csvlog file(s)`;
  findings.push({ level: 'ok', subject: 'own statements', message: ownStatements(settings) });
  for (const user of settings.ignoredRoles) {
    const sync = settings.syncUsers.includes(user);
    const subject = `${sync ? 'sync' : 'ignored'} role ${user}`;
    const s = strays.get(user);
    findings.push(
      s
        ? {
            level: 'warning',
            subject,
            message: `ran ${s.count} DDL statement(s) in ${where} that no pg-ddl-sync sent (application ${[...s.apps].join(', ')}): they are never propagated (${whyLeftOut(user, settings.syncUsers)})`,
          }
        : { level: 'ok', subject, message: `ran no DDL in ${where} but what a pg-ddl-sync sent` },
    );
  }
  for (const [user, s] of unknownTools) {
    findings.push({
      level: 'warning',
      subject: `application_name ${APPLICATION_NAME}`,
      message:
        `role ${user} ran ${s.count} DDL statement(s) in ${where} as application '${APPLICATION_NAME}', and is neither a role this tool connects as nor given with --ignore-user: ` +
        `they are left out, never propagated. If ${user} is another instance's pg-ddl-sync, add --ignore-user ${user}; if not, whoever sets that application_name must stop`,
    });
  }
}

/** How the tool tells the statements never to send, and what that choice means (see core/echo). */
function ownStatements(settings: Settings): string {
  const mark = `told by their application_name '${APPLICATION_NAME}', which every pg-ddl-sync sets; a session that sets it too keeps only its own DDL from being sent`;
  const roles = settings.syncUsers.join(', ') || '(none)';
  return settings.ignoreSyncUsers
    ? `${mark}. Also left out by role (--ignore-sync-users, for a mesh): whatever ${roles} ran`
    : `${mark}. DDL that anyone else runs as ${roles}, the role(s) this tool connects as, is sent; a mesh whose tools have a role of their own may add --ignore-sync-users`;
}

/** libpq ignores a password file that group or others can read. */
function passwordFile(home: string, findings: Finding[]): void {
  const file = process.env.PGPASSFILE || path.join(home, '.pgpass');
  let mode: number;
  try {
    mode = fs.statSync(file).mode;
  } catch {
    return;
  }
  if ((mode & 0o077) !== 0) {
    findings.push({ level: 'warning', subject: 'password file', message: `${file} has mode ${(mode & 0o777).toString(8)}: libpq ignores it unless it is 0600 or stricter (chmod 0600 ${file})` });
  } else {
    findings.push({ level: 'ok', subject: 'password file', message: `${file} (mode ${(mode & 0o777).toString(8)})` });
  }
}

async function targets(settings: Settings, findings: Finding[]): Promise<void> {
  if (settings.targets.length === 0) findings.push({ level: 'error', subject: 'targets', message: 'none given: give --target [NAME=]URL' });
  let state;
  try {
    state = loadState(settings.stateFile);
  } catch {
    state = undefined;
  }
  await Promise.all(
    settings.targets.map(async (t) => {
      // The databases it will be sent DDL for: those of the entries it has yet to apply, and its own.
      const next = state?.targets[t.name]?.next ?? 0;
      const pending = (state?.journal.entries ?? []).filter((e) => e.seq >= next).map((e) => t.filters.databaseMap[e.database] ?? e.database);
      // A run connects only to the databases it sends DDL to: a URI that names none (which run
      // takes) is checked on postgres, not on libpq's default of a database named as the user.
      const own = namedDatabase(t) ?? 'postgres';
      const databases: string[] = [own, ...new Set(pending.filter((db) => db !== own))];
      for (const db of databases) {
        const subject = `target ${t.name}${db !== own ? ` database ${db}` : ''}`;
        try {
          await withClient(t, db, { connectTimeoutMs: settings.connectTimeoutMs }, async (client) => {
            const who = await client.query<{ usr: string; su: boolean; db: string }>('SELECT current_user AS usr, rolsuper AS su, pg_catalog.current_database() AS db FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) current_user');
            const r = who.rows[0];
            if (r.usr === LEDGER_SCHEMA) {
              findings.push({ level: 'error', subject, message: `connected as ${r.usr}, the name of the tool's ledger schema: "$user" in search_path puts unqualified objects the tool creates as ${r.usr} into that schema; use a sync user of another name` });
            }
            findings.push(
              r.su
                ? { level: 'ok', subject, message: `connected as ${r.usr} (superuser) to ${r.db}` }
                : { level: 'warning', subject, message: `connected as ${r.usr} to ${r.db}, not a superuser: it must own whatever the primary's DDL alters` },
            );
          });
        } catch (err) {
          findings.push({ level: 'error', subject, message: `cannot connect: ${(err as Error).message}` });
        }
      }
    }),
  );
}

/**
 * Why this user cannot use a path of the primary's log, from the modes on the way to it: the first
 * directory it may not enter, or the file's own mode, with what makes it readable.
 * @param target the csvlog directory or a csvlog file
 * @param need the access wanted of the target itself
 */
function modeProblem(target: string, need: number): string {
  const chain: string[] = [];
  for (let p = path.resolve(target); ; p = path.dirname(p)) {
    chain.unshift(p);
    if (p === path.dirname(p)) break;
  }
  for (const p of chain) {
    const last = p === chain[chain.length - 1];
    try {
      fs.accessSync(p, last ? need : fs.constants.X_OK);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EACCES') return (err as Error).message;
      const st = fs.statSync(p);
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
      return (
        `mode ${mode} of ${p} (uid ${st.uid}, gid ${st.gid}) keeps this user (uid ${process.getuid?.()}) out: ` +
        'let the server\'s group read its log (initdb --allow-group-access, or chmod 0750 the data directory and the log directory), ' +
        'set log_file_mode = 0640 on the primary, and add this user to that group; or run pg-ddl-sync as the server\'s OS user'
      );
    }
  }
  return 'permission denied';
}
