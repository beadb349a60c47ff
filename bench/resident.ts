/**
 * The resident run (`run --interval`), measured: latency from the primary's log time of a statement
 * to the moment every target has it, DDL coming at a steady rate, with 1, 8 and 64 targets, each behind
 * a port of its own of bench/delayProxy; then a bounded soak (statements, then idle beats) for its RSS
 * and idle CPU.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { fieldText, scanRecords } from '../src/core/csvRecord';
import { Cluster, PRIMARY_SETTINGS, SYNC_USER } from '../test/helpers/cluster';

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'pg-ddl-sync.js');

export interface ResidentOptions {
  /** Delay the proxy adds each way, in ms. */
  delayMs: number;
  /** Statements a second in the latency runs, and for how long. */
  rate: number;
  seconds: number;
  soakStatements: number;
  soakIdleSeconds: number;
  say: (line?: string) => void;
  delayProxy: (delayMs: number, ports: number[]) => Promise<{ ports: number[]; pid: number; stop: () => void }>;
}

export interface Goal {
  name: string;
  figure: string;
  met: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

/** Starts a resident run; its JSON log goes to `logDir`. */
function startResident(args: string[]): ChildProcess {
  return spawn(process.execPath, [BIN, 'run', ...args, '--interval', '1', '--log-format', 'json'], { stdio: 'ignore', env: { ...process.env, PGPASSFILE: '/nonexistent' } });
}

async function stopResident(child: ChildProcess): Promise<void> {
  const ended = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGTERM');
  await ended;
}

/** The tool's JSON log lines. */
function toolLog(dir: string): Record<string, unknown>[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .flatMap((f) => fs.readFileSync(path.join(dir, f), 'utf8').split('\n'))
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The log time of each statement of the primary's csvlog that names a `prefix…` table, by name. */
function logTimes(primary: Cluster, prefix: string): Map<string, number> {
  const out = new Map<string, number>();
  const re = new RegExp(`CREATE TABLE (${prefix}\\w+)`);
  for (const f of primary.csvFiles()) {
    const buf = fs.readFileSync(f);
    for (const r of scanRecords(buf, 0).records) {
      const m = re.exec(fieldText(buf, r, 13));
      if (m) out.set(m[1], Date.parse(fieldText(buf, r, 0).replace(' ', 'T').replace(/ (\w+)$/, (_, z: string) => (z === 'UTC' ? 'Z' : ''))));
    }
  }
  return out;
}

/** Runs a CREATE TABLE of each name in `database` of the primary, each in a session of its own, at `rate` a second. */
async function steady(primary: Cluster, database: string, names: string[], rate: number): Promise<void> {
  const started = Date.now();
  await Promise.all(
    names.map(async (name, i) => {
      await sleep(started + (i * 1000) / rate - Date.now());
      const c = new Client({ host: '127.0.0.1', port: primary.port, user: 'postgres', database });
      await c.connect();
      await c.query(`CREATE TABLE ${name} (id int PRIMARY KEY, note text)`);
      await c.end();
    }),
  );
}

/** Waits until the tool's log shows every name applied on every target. */
async function appliedTimes(logDir: string, names: string[], targets: string[], timeoutMs: number): Promise<Map<string, number>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const last = new Map<string, number>();
    const seen = new Map<string, Set<string>>();
    for (const l of toolLog(logDir)) {
      if (l.message !== 'applied') continue;
      const name = /CREATE TABLE (\w+)/.exec(String(l.sql))?.[1];
      if (!name) continue;
      const t = Date.parse(String(l.timestamp));
      last.set(name, Math.max(last.get(name) ?? 0, t));
      (seen.get(name) ?? seen.set(name, new Set()).get(name)!).add(String(l.target));
    }
    if (names.every((n) => seen.get(n)?.size === targets.length)) return last;
    if (Date.now() > deadline) throw new Error(`not every statement reached every target in ${timeoutMs} ms`);
    // Each look reads the whole log again: 64 targets make thousands of lines.
    await sleep(500);
  }
}

/** RSS of a process, in bytes. */
function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** CPU seconds of a process; with `reaped`, of the children it has waited for too (a postmaster's backends). */
function cpuSeconds(pid: number, ticks: number, reaped = false): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12]) + (reaped ? Number(f[13]) + Number(f[14]) : 0)) / ticks;
}

/** CPU seconds of the target servers, their ended backends included. */
function serversCpu(servers: Cluster[], ticks: number): number {
  return servers.reduce((n, c) => n + cpuSeconds(Number(fs.readFileSync(path.join(c.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]), ticks, true), 0);
}

/** Servers that hold the targets' databases, and the most targets a case has. */
const SERVERS = 4;
const MOST_TARGETS = 64;
const CASES = [1, 8, MOST_TARGETS];

/**
 * Target k: database `t{k}` of server k mod SERVERS, reached through a port of its own of the delay
 * proxy, as if each were a host of its own. It takes only the primary database `from`, under its own
 * name: the cases' statements stay apart, and a case's targets do not first catch up on the ones
 * before it.
 */
function targetConfig(k: number, from: string, port: number): Record<string, unknown> {
  return { name: `t${k}`, url: `postgresql://${SYNC_USER}@127.0.0.1:${port}/postgres`, includeDatabases: [from], databaseMap: { [from]: `t${k}` } };
}

/** Writes a config file for the first `n` targets, taking the primary database `from`. */
function writeConfig(file: string, n: number, from: string, ports: number[]): string {
  fs.writeFileSync(file, JSON.stringify({ targets: Array.from({ length: n }, (_, k) => targetConfig(k, from, ports[k])) }, null, 2));
  return file;
}

/** Databases made on the primary in a session that logs nothing: no run sees them made. */
function quietCreateDatabases(c: Cluster, names: string[]): void {
  const out = c.psql('postgres', ["SET log_statement = 'none';", ...names.map((n) => `CREATE DATABASE ${n};`)].join('\n'), ['-v', 'ON_ERROR_STOP=1']);
  if (out.stderr.trim()) throw new Error(`CREATE DATABASE on ${c.name}: ${out.stderr}`);
}

export async function benchResident(work: string, opts: ResidentOptions, ticks: number): Promise<Goal[]> {
  const { say } = opts;
  const primary = await Cluster.start({ name: 'rprimary', baseDir: work, settings: PRIMARY_SETTINGS });
  const servers = await Promise.all(Array.from({ length: SERVERS }, (_, i) => Cluster.start({ name: `r${i}`, baseDir: work, settings: { max_connections: 100 } })));
  quietCreateDatabases(primary, [...CASES.map((n) => `lat${n}`), 'soak']);
  servers.forEach((c, i) => quietCreateDatabases(c, Array.from({ length: MOST_TARGETS / SERVERS }, (_, j) => `t${j * SERVERS + i}`)));
  const serverOf = (k: number): Cluster => servers[k % SERVERS];
  const proxy = await opts.delayProxy(opts.delayMs, Array.from({ length: MOST_TARGETS }, (_, k) => serverOf(k).port));
  const goals: Goal[] = [];
  try {
    say(`## Resident run: latency, DDL at ${opts.rate} a second for ${opts.seconds} s, targets behind the delay proxy (${opts.delayMs} ms each way)`);
    say();
    say(`From the log time of each statement on the primary to the moment the last target committed it (the tool logs "applied" right after), \`run --interval 1\`. Target k is database t{k} of server k mod ${SERVERS} (${SERVERS} servers for every case), reached through a proxy port of its own; the tool keeps one connection to each.`);
    say();
    say('Besides the tool: the CPU the four target servers and the delay proxy used from its start to its stop (the servers\' backends end with the connections, at the stop).');
    say();
    say('| targets | statements | p50, ms | p99, ms | max, ms | tool CPU, s | servers\' CPU, s | proxy CPU, s | tool RSS at the end, MB |');
    say('|---|---|---|---|---|---|---|---|---|');
    const p50s = new Map<number, number>();
    for (const n of CASES) {
      const tag = `lat${n}_`;
      const logDir = path.join(work, `resident-${n}`);
      const config = writeConfig(path.join(work, `resident-${n}.json`), n, `lat${n}`, proxy.ports);
      const others0 = [serversCpu(servers, ticks), cpuSeconds(proxy.pid, ticks)];
      const child = startResident(['-c', config, '--csvlog-dir', primary.logDir, '--state-file', path.join(work, `resident-${n}.state.json`), '--log-dir', logDir]);
      await sleep(1500);
      const cpu0 = cpuSeconds(child.pid!, ticks);
      const names = Array.from({ length: opts.rate * opts.seconds }, (_, i) => `${tag}${i}`);
      await steady(primary, `lat${n}`, names, opts.rate);
      const applied = await appliedTimes(logDir, names, Array.from({ length: n }, (_, k) => `t${k}`), 120_000);
      const [cpu, rssEnd] = [cpuSeconds(child.pid!, ticks) - cpu0, rss(child.pid!)];
      await stopResident(child);
      await sleep(300); // the backends end and are reaped
      const [serverCpu, proxyCpu] = [serversCpu(servers, ticks) - others0[0], cpuSeconds(proxy.pid, ticks) - others0[1]];
      const logged = logTimes(primary, tag);
      const lat = names.map((name) => applied.get(name)! - logged.get(name)!);
      const [p50, p99, max] = [pct(lat, 50), pct(lat, 99), Math.max(...lat)];
      p50s.set(n, p50);
      say(`| ${n} | ${names.length} | ${p50} | ${p99} | ${max} | ${cpu.toFixed(2)} | ${serverCpu.toFixed(2)} | ${proxyCpu.toFixed(2)} | ${(rssEnd / 1e6).toFixed(1)} |`);
      if (n === 8) {
        goals.push({ name: 'resident latency, 8 targets: p99 < 1 s', figure: `${p99} ms`, met: p99 < 1000 });
        goals.push({ name: 'resident latency, 8 targets: p50 < 300 ms', figure: `${p50} ms`, met: p50 < 300 });
      }
    }
    say();
    const ratio = (n: number): number => p50s.get(n)! / p50s.get(1)!;
    goals.push({ name: 'resident fan-out: p50 latency of 8 targets <= 1.5x that of 1', figure: `${ratio(8).toFixed(2)}x`, met: ratio(8) <= 1.5 });
    goals.push({ name: `resident fan-out: p50 latency of ${MOST_TARGETS} targets <= 4x that of 1`, figure: `${ratio(MOST_TARGETS).toFixed(2)}x`, met: ratio(MOST_TARGETS) <= 4 });
    goals.push(...(await soak(work, primary, serverOf, proxy.ports, opts, ticks)));
    return goals;
  } finally {
    proxy.stop();
    await Promise.all([primary, ...servers].map((c) => c.destroy()));
  }
}

/** The soak: statements in chunks, each waited for on every target, then idle beats; RSS and CPU. */
async function soak(work: string, primary: Cluster, serverOf: (k: number) => Cluster, ports: number[], opts: ResidentOptions, ticks: number): Promise<Goal[]> {
  const { say } = opts;
  const n = 8;
  say(`## Resident run: soak, ${opts.soakStatements} statements then ${opts.soakIdleSeconds} s of idle beats (interval 1 s, ${n} targets)`);
  say();
  const config = writeConfig(path.join(work, 'soak.json'), n, 'soak', ports);
  const child = startResident(['-c', config, '--csvlog-dir', primary.logDir, '--state-file', path.join(work, 'soak.state.json'), '--log-dir', path.join(work, 'soak'), '--log-level', 'warn']);
  await sleep(3000);
  const pid = child.pid!;
  const chunk = 500;
  let rssStart = 0;
  for (let done = 0; done < opts.soakStatements; done += chunk) {
    const m = Math.min(chunk, opts.soakStatements - done);
    primary.psql('soak', Array.from({ length: m }, (_, i) => `CREATE TABLE soak_${done + i} (id int);`).join('\n'));
    // Caught up before the next chunk: every target has the chunk's last table.
    const last = `soak_${done + m - 1}`;
    for (let k = 0; k < n; k++) {
      while ((await serverOf(k).query(`t${k}`, `SELECT 1 FROM pg_class WHERE relname = '${last}'`)).length === 0) await sleep(100);
    }
    if (done === 0) rssStart = rss(pid);
  }
  const rssBusy = rss(pid);
  await sleep(5000);
  const cpu0 = cpuSeconds(pid, ticks);
  const idleStart = Date.now();
  await sleep(opts.soakIdleSeconds * 1000);
  const idleCpu = (cpuSeconds(pid, ticks) - cpu0) / ((Date.now() - idleStart) / 1000);
  const rssEnd = rss(pid);
  await stopResident(child);
  const growth = (rssEnd - rssStart) / 1e6;
  say('| RSS after the first 500 statements | after all | after the idle beats | growth | idle CPU (share of one core) |');
  say('|---|---|---|---|---|');
  say(`| ${(rssStart / 1e6).toFixed(1)} MB | ${(rssBusy / 1e6).toFixed(1)} MB | ${(rssEnd / 1e6).toFixed(1)} MB | ${growth.toFixed(1)} MB | ${(idleCpu * 100).toFixed(2)} % |`);
  say();
  return [
    { name: `resident soak (${opts.soakStatements} statements, ${opts.soakIdleSeconds} s idle): RSS growth < 10 MB`, figure: `${growth.toFixed(1)} MB`, met: growth < 10 },
    { name: 'resident idle CPU < 1% of a core', figure: `${(idleCpu * 100).toFixed(2)} %`, met: idleCpu < 0.01 },
  ];
}
