/**
 * `npm run bench`: every figure of BENCHMARKS.md, measured in one run on this machine.
 *
 * - throughput: `replay --dry-run` over a log_statement = 'all' corpus (bench/corpus.ts builds it the
 *   first time), beside the Python csv baseline (bench/baseline.py) and a raw read of the same files,
 *   each pinned to one core, taken in turn five times, median; peak RSS of each;
 * - idle: a `run` that finds nothing new, against `node -e 0` (medians of nine);
 * - incremental: a `run` after 1 MB was appended to the corpus it had read, against the first run;
 * - fan-out: 200 statements to 8 targets against the same to 1 target (medians of three rounds), of
 *   tables with a primary key and of foreign tables (the DDL this tool was first made for).
 *
 * - verify: `verify` of a database of 10,000 tables (10 columns, a primary key and 2 indexes each)
 *   against a target holding the same (bench/verify.ts), median of three.
 *
 * - resident: `run --interval 1` (bench/resident.ts): latency percentiles with 1, 8 and 64 targets
 *   behind the delay proxy (databases of 4 servers, a proxy port each), DDL at a steady rate; a
 *   bounded soak for its RSS and idle CPU.
 *
 *   npm run bench [-- --rebuild] [-- --seconds N] [-- --only throughput|incremental|targets|verify|resident]
 *     [-- --soak-statements N] [-- --soak-idle-seconds N]   (the soak: 2,000 and 60 by default;
 *     20000 and 3600 for the hour-long one)
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fieldText, scanRecords } from '../src/core/csvRecord';
import { Cluster, PRIMARY_SETTINGS, SYNC_USER, makeTempDir } from '../test/helpers/cluster';
import { DEFAULT_CORPUS, buildCorpus, corpusFiles } from './corpus';
import { benchResident } from './resident';
import { benchVerify } from './verify';

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'pg-ddl-sync.js');
const RSS_HOOK = path.join(__dirname, 'maxrss.js');
const BASELINE = path.join(ROOT, 'bench', 'baseline.py');

const say = (line = ''): void => void process.stdout.write(`${line}\n`);
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const verdict = (ok: boolean): string => (ok ? 'met' : 'NOT MET');

interface Timed {
  seconds: number;
  rssKb: number;
  status: number | null;
  stdout: string;
  stderr: string;
}

const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;

/** Runs a command, pinned to one core when asked (and taskset is there); wall time and peak RSS. */
function timed(cmd: string, args: string[], opts: { oneCore?: boolean; env?: NodeJS.ProcessEnv } = {}): Timed {
  const rssFile = path.join(os.tmpdir(), `pgds-bench-rss-${process.pid}`);
  fs.rmSync(rssFile, { force: true });
  const [c, a] = opts.oneCore && hasTaskset ? ['taskset', ['-c', '0', cmd, ...args]] : [cmd, args];
  const start = process.hrtime.bigint();
  const res = spawnSync(c, a, {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    env: { ...process.env, PGDS_BENCH_RSS: rssFile, PGPASSFILE: '/nonexistent', ...opts.env },
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (res.error) throw res.error;
  const rssKb = fs.existsSync(rssFile) ? Number(fs.readFileSync(rssFile, 'utf8')) : NaN;
  fs.rmSync(rssFile, { force: true });
  return { seconds, rssKb, status: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** The CLI as installed: its own `#!` line (and node flags), with the RSS hook preloaded. */
const tool = (args: string[], oneCore = false): Timed => timed(BIN, args, { oneCore, env: { NODE_OPTIONS: `-r ${RSS_HOOK}` } });


/** The `run finished` line of a run's JSON log. */
function finished(t: Timed): { records: number; bytes: number; applied: Record<string, number> } {
  const line = t.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l.message === 'run finished');
  if (!line) throw new Error(`the run logged no "run finished" (exit ${t.status}): ${t.stderr.slice(-800)}`);
  const applied: Record<string, number> = {};
  for (const [k, v] of Object.entries(line)) {
    const m = /^applied\[(.*)\]$/.exec(k);
    if (m) applied[m[1]] = Number(v);
  }
  return { records: Number(line.records ?? 0), bytes: Number(line.bytes ?? 0), applied };
}

function readRaw(files: string[]): number {
  const buf = Buffer.alloc(4 * 1024 * 1024);
  const start = process.hrtime.bigint();
  for (const f of files) {
    const fd = fs.openSync(f, 'r');
    while (fs.readSync(fd, buf, 0, buf.length, null) > 0);
    fs.closeSync(fd);
  }
  return Number(process.hrtime.bigint() - start) / 1e9;
}

interface Goal {
  name: string;
  figure: string;
  met: boolean;
}

async function throughput(files: string[]): Promise<Goal[]> {
  const bytes = files.reduce((n, f) => n + fs.statSync(f).size, 0);
  say(`## Throughput: ${files.length} files, ${mb(bytes)} of log_statement = 'all' csvlog${hasTaskset ? ', each pinned to one core' : ''}`);
  const runs = { tool: [] as Timed[], python: [] as Timed[], raw: [] as number[] };
  // Five rounds, each reader in turn: on a shared machine one slow second moves a median of three.
  for (let i = 0; i < 5; i++) {
    runs.raw.push(readRaw(files));
    const t = tool(['replay', '--dry-run', '--log-level', 'error', ...files], true);
    if (t.status !== 0) throw new Error(`replay --dry-run exited ${t.status}: ${t.stderr.slice(-500)}`);
    runs.tool.push(t);
    const p = timed('python3', [BASELINE, ...files], { oneCore: true });
    if (p.status !== 0) throw new Error(`the Python baseline exited ${p.status}: ${p.stderr.slice(-500)} (python3 is needed: apt-get install python3)`);
    runs.python.push(p);
  }
  const toolS = median(runs.tool.map((t) => t.seconds));
  const pyS = median(runs.python.map((t) => t.seconds));
  const rawS = median(runs.raw);
  const rate = (s: number): string => `${(bytes / 1e6 / s).toFixed(0)} MB/s`;
  const toolRss = Math.max(...runs.tool.map((t) => t.rssKb)) / 1024;
  const pyRss = Math.max(...runs.python.map((t) => t.rssKb)) / 1024;
  say(`| reader | seconds (median of 5) | MB/s | peak RSS |`);
  say(`|---|---|---|---|`);
  say(`| pg-ddl-sync replay --dry-run | ${toolS.toFixed(2)} | ${rate(toolS)} | ${toolRss.toFixed(0)} MB |`);
  say(`| Python csv baseline | ${pyS.toFixed(2)} | ${rate(pyS)} | ${pyRss.toFixed(0)} MB |`);
  say(`| raw read (4 MB reads) | ${rawS.toFixed(2)} | ${rate(rawS)} | |`);
  const statements = /^-- every target: (\d+) statement/m.exec(runs.tool[0].stdout)?.[1] ?? '?';
  say(`pg-ddl-sync found ${statements} statements to send; Python: ${runs.python[0].stdout.trim()}`);
  say(`speed-up over Python: ${(pyS / toolS).toFixed(2)}x`);
  say();
  return [
    { name: 'throughput >= 3x the Python baseline', figure: `${(pyS / toolS).toFixed(2)}x`, met: pyS / toolS >= 3 },
    { name: 'peak memory < 150 MB', figure: `${toolRss.toFixed(0)} MB`, met: toolRss < 150 },
  ];
}

/** Appends about `size` bytes of the corpus's DML records (no DDL, no errors) to `to`. */
function appendDml(from: string, to: string, size: number): number {
  const buf = fs.readFileSync(from).subarray(0, 8 * size);
  const { records } = scanRecords(buf, 0);
  const picked: Buffer[] = [];
  let n = 0;
  for (const r of records) {
    if (n >= size) break;
    const message = fieldText(buf, r, 13);
    if (fieldText(buf, r, 11) !== 'LOG' || !/^statement: (UPDATE|SELECT|INSERT|BEGIN|END)\b/.test(message)) continue;
    picked.push(buf.subarray(r.start, r.end));
    n += r.end - r.start;
  }
  fs.appendFileSync(to, Buffer.concat(picked));
  return n;
}

async function incremental(files: string[], work: string): Promise<Goal[]> {
  say('## Incremental: a run after 1 MB was appended to a log it had read');
  const target = await Cluster.start({ name: 'incr', baseDir: work });
  try {
    const dir = path.join(work, 'incr-log');
    fs.mkdirSync(dir);
    for (const [i, f] of files.entries()) {
      const to = path.join(dir, path.basename(f));
      if (i === files.length - 1) fs.copyFileSync(f, to);
      else fs.linkSync(f, to);
    }
    // At debug: a run with nothing to do logs its summary at debug only.
    const args = ['run', '--csvlog-dir', dir, '--target', `t=${target.url}`, '--state-file', path.join(work, 'incr.state.json'), '--log-format', 'json', '--log-level', 'debug'];
    const first = tool(args);
    const firstRead = finished(first);
    const added = appendDml(files[Math.min(1, files.length - 1)], path.join(dir, path.basename(files[files.length - 1])), 1_000_000);
    const second = tool(args);
    const secondRead = finished(second);
    say(`| run | bytes read | records | seconds |`);
    say(`|---|---|---|---|`);
    say(`| first (whole log) | ${firstRead.bytes} | ${firstRead.records} | ${first.seconds.toFixed(2)} |`);
    say(`| after ${added} bytes appended | ${secondRead.bytes} | ${secondRead.records} | ${second.seconds.toFixed(2)} |`);
    say();
    return [
      {
        name: 'incremental: reads only what was added',
        figure: `${secondRead.bytes} bytes read of ${added} added, ${second.seconds.toFixed(2)} s vs ${first.seconds.toFixed(2)} s`,
        met: secondRead.bytes === added,
      },
    ];
  } finally {
    await target.destroy();
  }
}

/** CPU seconds a process has used, with its children that ended (fields 14 to 17 of /proc/PID/stat). */
function cpuSeconds(pid: number | string, own = true): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // After "(comm) ", the state is field 3.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((own ? Number(f[11]) + Number(f[12]) : 0) + Number(f[13]) + Number(f[14])) / CLOCK_TICKS;
}

/** CPU seconds a cluster has used: its postmaster, and the backends it has reaped. */
function serverCpuSeconds(c: Cluster): number {
  return cpuSeconds(fs.readFileSync(path.join(c.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
}

/** CPU seconds of the commands this benchmark ran and waited for. */
const childrenCpuSeconds = (): number => cpuSeconds(process.pid, false);

/** /proc counts CPU time in these per second. */
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/** Starts bench/delayProxy in front of these ports; its ports, in the same order. */
async function delayProxy(delayMs: number, ports: number[]): Promise<{ ports: number[]; pid: number; stop: () => void }> {
  const child = spawn(process.execPath, [path.join(__dirname, 'delayProxy.js'), String(delayMs), ...ports.map(String)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    child.on('exit', (code) => reject(new Error(`delay proxy exited ${code}`)));
  });
  return { ports: JSON.parse(line) as number[], pid: child.pid!, stop: () => child.kill() };
}

async function idleAndFanOut(work: string): Promise<Goal[]> {
  const primary = await Cluster.start({ name: 'primary', baseDir: work, settings: PRIMARY_SETTINGS });
  // Nine targets on this machine, and nine more as if across a network: 1 ms each way, a round trip
  // of 2 ms (hosts in one region, other zones). Each set has its own ledgers.
  const targets = await Promise.all(Array.from({ length: 9 }, (_, i) => Cluster.start({ name: `t${i}`, baseDir: work })));
  const farTargets = await Promise.all(Array.from({ length: 9 }, (_, i) => Cluster.start({ name: `f${i}`, baseDir: work })));
  const NETWORK_DELAY_MS = 1;
  const far = await delayProxy(NETWORK_DELAY_MS, farTargets.map((t) => t.port));
  try {
    const goals: Goal[] = [];
    const base = ['run', '--csvlog-dir', primary.logDir, '--log-format', 'json'];
    // As the tool's own sync role: the DDL run as postgres on the primary is then sent (a sync role's
    // own DDL is not).
    const urlOf = (i: number, remote: boolean): string => (remote ? `postgresql://${SYNC_USER}@127.0.0.1:${far.ports[i]}/postgres` : targets[i].syncUrl);
    const argsFor = (remote: boolean): { one: string[]; eight: string[]; servers: Cluster[] } => {
      const tag = remote ? 'far' : 'near';
      const servers = remote ? farTargets : targets;
      return {
        one: [...base, '--state-file', path.join(work, `one-${tag}.state.json`), '--target', `${servers[0].name}=${urlOf(0, remote)}`],
        eight: [...base, '--state-file', path.join(work, `eight-${tag}.state.json`), ...servers.slice(1).flatMap((t, i) => ['--target', `${t.name}=${urlOf(i + 1, remote)}`])],
        servers,
      };
    };
    const near = argsFor(false);
    const remote = argsFor(true);

    /**
     * One run to one target, one to eight; wall seconds and the targets' CPU seconds of each.
     * @param expected how many statements each target must have applied (a run that sent nothing is
     *   not a figure)
     */
    const sync = (label: string, args: { one: string[]; eight: string[]; servers: Cluster[] }, expected: number) => {
      const out = { one: 0, eight: 0, oneCpu: 0, eightCpu: 0, oneTool: 0, eightTool: 0 };
      for (const key of ['one', 'eight'] as const) {
        const servers = key === 'one' ? args.servers.slice(0, 1) : args.servers.slice(1);
        const cpuBefore = servers.reduce((n, c) => n + serverCpuSeconds(c), 0);
        const toolBefore = childrenCpuSeconds();
        const t = tool(args[key]);
        out[key === 'one' ? 'oneTool' : 'eightTool'] = childrenCpuSeconds() - toolBefore;
        if (t.status !== 0) throw new Error(`run (${label}, ${key}) exited ${t.status}: ${t.stderr.slice(-800)}`);
        for (const c of servers) {
          const applied = finished(t).applied[c.name];
          if (applied !== expected) throw new Error(`run (${label}, ${key}) applied ${applied} statements to ${c.name}, not ${expected}: ${t.stderr.slice(-800)}`);
        }
        spawnSync('sleep', ['0.3']); // the backends end and are reaped
        out[key] = t.seconds;
        out[key === 'one' ? 'oneCpu' : 'eightCpu'] = servers.reduce((n, c) => n + serverCpuSeconds(c), 0) - cpuBefore;
      }
      return out;
    };
    // What the foreign tables need, synced before anything is timed (each state file on its own).
    primary.psql('postgres', 'CREATE EXTENSION file_fdw;\nCREATE SERVER files FOREIGN DATA WRAPPER file_fdw;');
    await primary.waitForLog('CREATE SERVER files');
    sync('setup', near, 2);
    sync('setup', remote, 2);

    say('## Fan-out: 200 statements to 1 target, and to 8 (medians of 3 rounds)');
    say();
    say(`Local targets share this machine's ${os.cpus().length} cores with each other; "${NETWORK_DELAY_MS} ms each way" puts bench/delayProxy in front of nine more such targets.`);
    say('Target CPU is what the target servers used for the run, summed over them; tool CPU what pg-ddl-sync used.');
    say();
    say('| statements | targets | 1 target, s | 8 targets, s | ratio | target CPU, 1 / 8 targets, s | tool CPU, 1 / 8 targets, s |');
    say('|---|---|---|---|---|---|---|');
    const kinds = [
      { label: 'CREATE TABLE … PRIMARY KEY', sql: (name: string) => `CREATE TABLE ${name} (id int PRIMARY KEY, note text);` },
      { label: 'CREATE FOREIGN TABLE', sql: (name: string) => `CREATE FOREIGN TABLE ${name} (id int, note text) SERVER files OPTIONS (filename '/dev/null', format 'csv');` },
    ];
    for (const [k, kind] of kinds.entries()) {
      const times = { near: [] as ReturnType<typeof sync>[], far: [] as ReturnType<typeof sync>[] };
      for (let round = 0; round < 3; round++) {
        const name = (i: number): string => `fan_${k}_${round}_${i}`;
        primary.psql('postgres', Array.from({ length: 200 }, (_, i) => kind.sql(name(i))).join('\n'));
        await primary.waitForLog(name(199));
        times.near.push(sync(kind.label, near, 200));
        times.far.push(sync(kind.label, remote, 200));
      }
      for (const where of ['near', 'far'] as const) {
        const m = (key: keyof ReturnType<typeof sync>): number => median(times[where].map((t) => t[key]));
        const ratio = m('eight') / m('one');
        const label = where === 'near' ? 'local' : `${NETWORK_DELAY_MS} ms each way`;
        say(`| ${kind.label} | ${label} | ${m('one').toFixed(2)} | ${m('eight').toFixed(2)} | ${ratio.toFixed(2)} | ${m('oneCpu').toFixed(2)} / ${m('eightCpu').toFixed(2)} | ${m('oneTool').toFixed(2)} / ${m('eightTool').toFixed(2)} |`);
        goals.push({
          name: `fan-out (${kind.label}, ${label}): 8 targets <= 1.5x the time of 1`,
          figure: `${ratio.toFixed(2)}x${where === 'near' ? `; the 8 targets used ${m('eightCpu').toFixed(2)} s of CPU on ${os.cpus().length} cores` : ''}`,
          met: ratio <= 1.5,
        });
      }
    }
    say();

    say('## Idle: a run that finds nothing new');
    const idle: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < 9; i++) {
      const t = tool(near.one);
      if (t.status !== 0) throw new Error(`idle run exited ${t.status}: ${t.stderr.slice(-800)}`);
      idle.push(t.seconds);
      bare.push(timed(process.execPath, ['-e', '0']).seconds);
    }
    const [idleS, bareS] = [median(idle), median(bare)];
    say(`| command | seconds (median of 9) |`);
    say(`|---|---|`);
    say(`| node -e 0 | ${bareS.toFixed(3)} |`);
    say(`| pg-ddl-sync run (nothing new) | ${idleS.toFixed(3)} |`);
    say(`ratio: ${(idleS / bareS).toFixed(2)}`);
    say();
    goals.push({ name: 'idle run <= 2.5x node -e 0', figure: `${(idleS / bareS).toFixed(2)}x`, met: idleS / bareS <= 2.5 });
    return goals;
  } finally {
    far.stop();
    await Promise.all([primary, ...targets, ...farTargets].map((c) => c.destroy()));
  }
}

async function verifyWide(work: string): Promise<Goal[]> {
  const f = await benchVerify(work);
  const s = median(f.seconds);
  say(`## verify: ${f.tables.toLocaleString('en')} tables, 10 columns, a primary key and 2 indexes each (${f.objects.toLocaleString('en')} objects)`);
  say(`| command | seconds (median of 3) | runs |`);
  say(`|---|---|---|`);
  say(`| pg-ddl-sync verify --database wide | ${s.toFixed(2)} | ${f.seconds.map((x) => x.toFixed(2)).join(', ')} |`);
  say();
  return [{ name: `verify of ${f.tables.toLocaleString('en')} tables < 30 s`, figure: `${s.toFixed(2)} s`, met: s < 30 }];
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const seconds = argv.includes('--seconds') ? Number(argv[argv.indexOf('--seconds') + 1]) : DEFAULT_CORPUS.seconds;
  let files = corpusFiles(DEFAULT_CORPUS.out);
  if (argv.includes('--only') && !['throughput', 'incremental', 'targets', 'verify', 'resident'].includes(argv[argv.indexOf('--only') + 1])) {
    throw new Error('--only takes throughput, incremental, targets, verify or resident');
  }
  const flag = (name: string, fallback: number): number => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : fallback);
  const needsCorpus = !argv.includes('--only') || ['throughput', 'incremental'].includes(argv[argv.indexOf('--only') + 1]);
  if (needsCorpus && (files.length === 0 || argv.includes('--rebuild'))) files = await buildCorpus({ ...DEFAULT_CORPUS, seconds });
  say(`# pg-ddl-sync benchmark, ${new Date().toISOString()}`);
  say(`${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GB, Node ${process.version}, ${os.type()} ${os.release()}`);
  say();
  const work = makeTempDir('pgds-bench-');
  try {
    const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : undefined;
    const goals = [
      ...(only === undefined || only === 'throughput' ? await throughput(files) : []),
      ...(only === undefined || only === 'incremental' ? await incremental(files, work) : []),
      ...(only === undefined || only === 'targets' ? await idleAndFanOut(work) : []),
      ...(only === undefined || only === 'verify' ? await verifyWide(work) : []),
      ...(only === undefined || only === 'resident'
        ? await benchResident(
            work,
            // 2 ms each way: a round trip of 4 ms, hosts in other zones of a region, or a nearby site.
            { delayMs: 2, rate: 5, seconds: 30, soakStatements: flag('--soak-statements', 2000), soakIdleSeconds: flag('--soak-idle-seconds', 60), say, delayProxy },
            CLOCK_TICKS,
          )
        : []),
    ];
    say('## Goals');
    for (const g of goals) say(`- ${g.name}: ${g.figure}: ${verdict(g.met)}`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`bench: ${(err as Error).message}\n`);
  process.exit(1);
});
