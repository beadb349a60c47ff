/**
 * What `install-files` puts on a database host, as text and modes: the config, state and log
 * directories, a commented config file, and the crontab line and systemd units that run the tool.
 * Pure: the command (commands/installFiles) makes the files.
 */

/** The values a DBA gives for one primary on this host. */
export interface HostValues {
  /** Names this primary: the config file `NAME.json`, the state file, the ledger's source name. */
  name: string;
  dataDir?: string;
  csvlogDir?: string;
  /** `[NAME=]URL` strings. */
  targets: string[];
  configDir: string;
  stateDir: string;
  logDir: string;
  logPrefix: string;
  /** Minutes between runs, 1 to 60. */
  intervalMinutes: number;
  /** The OS user that runs the tool: it reads the csvlog and owns the state and the log. */
  user: string;
  /** The command cron and systemd run. */
  bin: string;
}

/**
 * Who owns a file: `root` (the config: the run user reads it and cannot change where DDL goes or
 * as whom), or the run user.
 */
export type Owner = 'root' | 'user';

export interface PlannedPath {
  path: string;
  kind: 'dir' | 'file';
  owner: Owner;
  /** Whether the run user's group owns it (else root's). */
  userGroup: boolean;
  mode: number;
  /** A file's content. */
  text?: string;
}

export interface HostPlan {
  /** In the order they are made. */
  paths: PlannedPath[];
  configFile: string;
  crontabLine: string;
  serviceUnit: string;
  timerUnit: string;
}

/**
 * The files for one primary, and how to run the tool on them.
 * @param v the values given (paths absolute, as on the host)
 */
export function hostPlan(v: HostValues): HostPlan {
  const configFile = `${v.configDir}/${v.name}.json`;
  const paths: PlannedPath[] = [
    // Others may look in: only the files in it say anything.
    { path: v.configDir, kind: 'dir', owner: 'root', userGroup: false, mode: 0o755 },
    { path: configFile, kind: 'file', owner: 'root', userGroup: true, mode: 0o640, text: configText(v) },
    // The state and lock files are trusted by every run: no one else may write here (io/privateDir).
    { path: v.stateDir, kind: 'dir', owner: 'user', userGroup: true, mode: 0o700 },
    // Log files are made 0600; the group may list them.
    { path: v.logDir, kind: 'dir', owner: 'user', userGroup: true, mode: 0o750 },
  ];
  const run = `${v.bin} run -c ${configFile}`;
  return {
    paths,
    configFile,
    crontabLine: `${v.intervalMinutes === 1 ? '*' : `*/${v.intervalMinutes}`} * * * * ${run}`,
    serviceUnit: serviceUnit(v, run),
    timerUnit: timerUnit(v),
  };
}

/** The config file: JSON, each key explained by a `//` key before it (the settings step skips those). */
function configText(v: HostValues): string {
  const entries: [string, unknown][] = [
    ['//', `pg-ddl-sync config for ${v.name}, written by pg-ddl-sync install-files. Every key is in README "Options". Passwords go in ~${v.user}/.pgpass (mode 0600), never here.`],
  ];
  if (v.dataDir !== undefined) {
    entries.push(['// dataDir', "the primary's data directory: finds its csvlog directory and, while it runs, the primary to ask about open transactions"]);
    entries.push(['dataDir', v.dataDir]);
  }
  if (v.csvlogDir !== undefined) {
    entries.push(['// csvlogDir', "the primary's csvlog directory (log_directory)"]);
    entries.push(['csvlogDir', v.csvlogDir]);
  }
  entries.push(
    ['// targets', "the servers that take the primary's DDL, NAME=postgresql://SYNC_USER@HOST:PORT/postgres"],
    ['targets', v.targets],
    ['// stateFile', 'how far the log was read and where each target stands (mode 0600); keep it with the host'],
    ['stateFile', `${v.stateDir}/${v.name}.state.json`],
    ['// logDir', "the tool's own log, one file a day: PREFIX-YYYY-MM-DD.log"],
    ['logDir', v.logDir],
    ['logPrefix', v.logPrefix],
    ['logLevel', 'info'],
    ['// sourceName', "labels this primary's rows in the targets' ledgers"],
    ['sourceName', v.name],
    ['// interval', `the crontab line or the systemd timer runs a pass every ${v.intervalMinutes} minute(s); to stay resident with a beat of its own, set "interval" to a number of seconds here, and the same crontab line only restarts it when it is not running`],
  );
  return `${JSON.stringify(Object.fromEntries(entries), null, 2)}\n`;
}

function serviceUnit(v: HostValues, run: string): string {
  return `# /etc/systemd/system/pg-ddl-sync-${v.name}.service: one pass, started by its timer.
[Unit]
Description=pg-ddl-sync ${v.name}: replay the primary's DDL on the other instances
After=network-online.target postgresql.service

[Service]
Type=oneshot
User=${v.user}
ExecStart=${run}
# A pass that cannot finish in time is stopped; the next one goes on from what was saved.
TimeoutStartSec=15min
`;
}

function timerUnit(v: HostValues): string {
  return `# /etc/systemd/system/pg-ddl-sync-${v.name}.timer
#   systemctl daemon-reload && systemctl enable --now pg-ddl-sync-${v.name}.timer
[Unit]
Description=pg-ddl-sync ${v.name} every ${v.intervalMinutes} minute(s)

[Timer]
OnCalendar=*:0/${v.intervalMinutes}
AccuracySec=1s
Persistent=true

[Install]
WantedBy=timers.target
`;
}
