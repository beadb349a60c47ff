/**
 * Builds the benchmark's csvlog corpus, reproducibly: a throwaway primary with `log_statement = 'all'`
 * and rotation by size, a pgbench TPC-B load for a fixed time, and beside it a trickle of DDL (some
 * failing, some rolled back) so that the corpus holds what the tool is for among what it is not.
 * The csvlog files are copied to the corpus directory and the server is removed.
 *
 *   node dist/bench/corpus.js [--seconds N] [--clients N] [--out DIR]
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cluster, PRIMARY_SETTINGS, sleep } from '../test/helpers/cluster';

export const DEFAULT_CORPUS_DIR = path.resolve(__dirname, '..', '..', 'bench', '.corpus');

export interface CorpusOptions {
  seconds: number;
  clients: number;
  out: string;
}

export const DEFAULT_CORPUS: CorpusOptions = { seconds: 70, clients: 4, out: DEFAULT_CORPUS_DIR };

function options(argv: string[]): CorpusOptions {
  const o: CorpusOptions = { ...DEFAULT_CORPUS };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === '--seconds') o.seconds = Number(value);
    else if (flag === '--clients') o.clients = Number(value);
    else if (flag === '--out') o.out = path.resolve(value);
    else throw new Error(`unknown option ${flag} (--seconds N, --clients N, --out DIR)`);
  }
  return o;
}

/** DDL run beside the load, each in its own psql session: committed, failed and rolled back. */
function ddlRound(i: number): string {
  return [
    `CREATE TABLE bench_t${i} (id int PRIMARY KEY, note text);`,
    `CREATE INDEX bench_t${i}_note ON bench_t${i} (note);`,
    `ALTER TABLE bench_t${i} ADD COLUMN created timestamptz DEFAULT now();`,
    `CREATE TABLE bench_t${i} (id int);`, // fails: already exists
    `BEGIN; CREATE TABLE bench_gone${i} (a int); ROLLBACK;`,
    `BEGIN; ALTER TABLE bench_t${i} ADD COLUMN bad int; SELECT 1/0; COMMIT;`, // fails in its block
    `COMMENT ON TABLE bench_t${i} IS 'round ${i}';`,
    i % 2 === 1 ? `DROP TABLE bench_t${i - 1};` : '',
  ].join('\n');
}

function pgbench(cluster: Cluster, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('pgbench', ['-h', '127.0.0.1', '-p', String(cluster.port), '-U', 'postgres', ...args, 'postgres'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`pgbench ${args.join(' ')} failed: ${stderr.slice(-500)}`))));
  });
}

/** Builds the corpus; returns its files, oldest first. */
export async function buildCorpus(o: CorpusOptions): Promise<string[]> {
  const settings = {
    ...PRIMARY_SETTINGS,
    log_statement: "'all'",
    log_rotation_size: "'20MB'",
    log_rotation_age: "'1d'",
    log_filename: "'postgresql-%Y-%m-%d_%H%M%S.log'",
  };
  process.stdout.write(`corpus: pgbench -c ${o.clients} for ${o.seconds} s under log_statement = 'all', rotation at 20 MB\n`);
  const primary = await Cluster.start({ settings, name: 'bench' });
  try {
    await pgbench(primary, ['-i', '-q', '-s', '10']);
    let stop = false;
    const ddl = (async () => {
      for (let i = 0; !stop; i++) {
        primary.psql('postgres', ddlRound(i));
        await sleep(200);
      }
    })();
    await pgbench(primary, ['-c', String(o.clients), '-j', '2', '-T', String(o.seconds), '-n']);
    stop = true;
    await ddl;
    await sleep(1500); // the collector writes a moment after
    fs.rmSync(o.out, { recursive: true, force: true });
    fs.mkdirSync(o.out, { recursive: true });
    let bytes = 0;
    for (const file of primary.csvFiles()) {
      const to = path.join(o.out, path.basename(file));
      fs.copyFileSync(file, to);
      bytes += fs.statSync(to).size;
    }
    const files = corpusFiles(o.out);
    process.stdout.write(`corpus: ${files.length} csvlog files, ${(bytes / 1e6).toFixed(0)} MB in ${o.out}\n`);
    spawnSync('sync');
    return files;
  } finally {
    await primary.destroy();
  }
}

/** The corpus's csvlog files, oldest first (their names carry the time they were begun). */
export function corpusFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.csv'))
    .sort()
    .map((f) => path.join(dir, f));
}

if (require.main === module) {
  buildCorpus(options(process.argv.slice(2))).catch((err) => {
    process.stderr.write(`corpus: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
