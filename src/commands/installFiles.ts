/**
 * `install-files`: makes the config, state and log directories and a commented config file on a
 * database host, with the owners and modes the README gives (core/hostFiles), and returns the crontab
 * line and systemd units to run the tool with. What exists and differs is left alone unless forced:
 * every path is checked before any is changed, so a refusal changes nothing.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HostPlan, HostValues, PlannedPath, hostPlan } from '../core/hostFiles';
import { UsageError } from '../errors';
import { writeFileAtomic } from '../io/atomicFile';
import { readConfigFile, resolveSettings } from '../io/settings';

/** A user's numeric ids. */
export interface UserIds {
  uid: number;
  gid: number;
}

export interface InstallFilesOptions {
  /** Change what exists and differs. */
  force: boolean;
  /** Where `/` is: the files go under it, the config names them as on the host. */
  root?: string;
  /** Looks a user up (default: `id`, which asks the system's user database, LDAP included). */
  lookUp?: (user: string) => UserIds;
  /** The ids the process runs with (default: its own). */
  self?: UserIds;
}

export interface InstalledPath {
  path: string;
  action: 'created' | 'changed' | 'kept';
  owner: string;
  mode: string;
}

export interface InstallFilesResult {
  paths: InstalledPath[];
  plan: HostPlan;
}

/**
 * Makes the files for one primary.
 * @param values what the DBA gave, paths as on the host
 * @param opts see InstallFilesOptions
 */
export function installFiles(values: HostValues, opts: InstallFilesOptions): InstallFilesResult {
  if (!Number.isInteger(values.intervalMinutes) || values.intervalMinutes < 1 || values.intervalMinutes > 60) {
    throw new UsageError(`interval "${values.intervalMinutes}" must be a whole number of minutes from 1 to 60`);
  }
  if (!/^[A-Za-z0-9._-]+$/.test(values.name)) throw new UsageError(`name "${values.name}" may hold only letters, digits, '.', '_' and '-'`);
  const plan = hostPlan(values);
  const root = path.resolve(opts.root ?? '/');
  const self = opts.self ?? { uid: process.getuid!(), gid: process.getgid!() };
  const user = (opts.lookUp ?? lookUpUser)(values.user);
  if (self.uid !== 0 && self.uid !== user.uid) {
    throw new UsageError(`only root can give files to ${values.user}: run install-files as root, or as ${values.user}`);
  }
  // Not root: everything is the user's own (a test, or a DBA installing for the account it is).
  const rootIds = self.uid === 0 ? { uid: 0, gid: 0 } : user;
  const want = (p: PlannedPath): UserIds => ({ uid: p.owner === 'root' ? rootIds.uid : user.uid, gid: p.userGroup ? user.gid : rootIds.gid });
  validateConfig(plan, root);
  const on = (p: PlannedPath): string => path.join(root, p.path);
  const actions = plan.paths.map((p) => actionFor(p, on(p), want(p), opts.force));
  const out = plan.paths.map((p, i): InstalledPath => {
    const ids = want(p);
    if (actions[i] !== 'kept') make(p, on(p), self.uid === 0 ? ids : undefined);
    return { path: p.path, action: actions[i], owner: `${ids.uid}:${ids.gid}`, mode: modeText(p.mode) };
  });
  return { paths: out, plan };
}

/** The settings step reads the config as a run will, so that a bad value is said now, not by cron. */
function validateConfig(plan: HostPlan, root: string): void {
  const file = plan.paths.find((p) => p.path === plan.configFile)!;
  const probe = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-ddl-sync-config-'));
  try {
    const tmp = path.join(probe, path.basename(file.path));
    fs.writeFileSync(tmp, file.text!);
    resolveSettings({}, readConfigFile(tmp));
  } finally {
    fs.rmSync(probe, { recursive: true, force: true });
  }
  if (!fs.existsSync(root)) throw new UsageError(`--root ${root} does not exist`);
}

/** What to do with a path: refuses (without force) what exists and differs. */
function actionFor(p: PlannedPath, at: string, ids: UserIds, force: boolean): InstalledPath['action'] {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(at);
  } catch {
    return 'created';
  }
  const isKind = p.kind === 'dir' ? st.isDirectory() : st.isFile();
  if (!isKind) throw new UsageError(`${at} exists and is not a ${p.kind === 'dir' ? 'directory' : 'regular file'}; move it away first`);
  const same = (st.mode & 0o7777) === p.mode && st.uid === ids.uid && st.gid === ids.gid;
  if (p.kind === 'dir' && same) return 'kept';
  if (!force) {
    const what = p.kind === 'file' ? 'exists' : `exists with owner ${st.uid}:${st.gid} mode ${modeText(st.mode & 0o7777)}, not ${ids.uid}:${ids.gid} ${modeText(p.mode)}`;
    throw new UsageError(`${at} ${what}; nothing was changed (give --force to ${p.kind === 'file' ? 'replace it' : 'change it'})`);
  }
  return 'changed';
}

/** Makes a path with its mode, and its owner when `ids` is given (only root can give them). */
function make(p: PlannedPath, at: string, ids: UserIds | undefined): void {
  if (p.kind === 'dir') {
    fs.mkdirSync(path.dirname(at), { recursive: true, mode: 0o755 });
    if (!fs.existsSync(at)) fs.mkdirSync(at, { mode: p.mode });
  } else {
    writeFileAtomic(at, p.text!, p.mode);
  }
  fs.chmodSync(at, p.mode);
  if (ids) fs.chownSync(at, ids.uid, ids.gid);
}

function modeText(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

/** A user's ids from the system's user database, through `id`. */
function lookUpUser(user: string): UserIds {
  const id = (flag: string): number => {
    for (const cmd of ['id', '/usr/bin/id', '/bin/id']) {
      try {
        return Number(execFileSync(cmd, [flag, user], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim());
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') break;
      }
    }
    throw new UsageError(`no OS user "${user}" (id ${flag} ${user} failed): give --user, the user that reads the primary's csvlog`);
  };
  return { uid: id('-u'), gid: id('-g') };
}
