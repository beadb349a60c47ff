/**
 * `npm run bench -- --only verify`: `verify` of a database of 10,000 tables with 10 columns and 2
 * indexes each (and a primary key), against a target holding the same, on two throwaway servers.
 * The schema is made on both by the same script (not synced through the log: what is timed is the
 * comparison). Median of three runs.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { Cluster } from '../test/helpers/cluster';

export interface VerifyFigure {
  tables: number;
  objects: number;
  seconds: number[];
}

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'pg-ddl-sync.js');

/** The DDL of `tables` tables of 10 columns, a primary key and 2 indexes each. */
export function wideSchema(tables: number): string {
  const out: string[] = [];
  for (let i = 0; i < tables; i++) {
    const t = `t${String(i).padStart(5, '0')}`;
    out.push(
      `CREATE TABLE ${t} (id bigint PRIMARY KEY, c1 int NOT NULL DEFAULT 0, c2 text, c3 varchar(40), c4 numeric(12,2), c5 timestamptz DEFAULT now(), c6 boolean, c7 jsonb, c8 date, c9 int);`,
      `CREATE INDEX ${t}_c1 ON ${t} (c1);`,
      `CREATE INDEX ${t}_c2_c8 ON ${t} (c2, c8) WHERE c6;`,
    );
  }
  return `${out.join('\n')}\n`;
}

/**
 * Makes the schema on a primary and a target in `work`, then times `verify` three times.
 * @param tables how many tables (10,000 for the figure in BENCHMARKS.md)
 */
export async function benchVerify(work: string, tables = 10_000): Promise<VerifyFigure> {
  const [primary, target] = await Promise.all([Cluster.start({ name: 'vp', baseDir: work }), Cluster.start({ name: 'vt', baseDir: work })]);
  try {
    const ddl = wideSchema(tables);
    await Promise.all(
      [primary, target].map(async (c) => {
        c.psql('postgres', 'CREATE DATABASE wide;\n');
        const res = c.psql('wide', ddl);
        if (res.stderr.trim()) throw new Error(`making the schema on ${c.name}: ${res.stderr.slice(0, 500)}`);
      }),
    );
    const seconds: number[] = [];
    let objects = 0;
    for (let i = 0; i < 3; i++) {
      const start = process.hrtime.bigint();
      const res = spawnSync(process.execPath, [BIN, 'verify', '--source', primary.url, '--target', `t=${target.url}`, '--database', 'wide', '--json'], {
        encoding: 'utf8',
        maxBuffer: 1 << 28,
        env: { ...process.env, PGPASSFILE: '/nonexistent' },
      });
      seconds.push(Number(process.hrtime.bigint() - start) / 1e9);
      if (res.status !== 0) throw new Error(`verify exited ${res.status}: ${res.stderr.slice(-500)}`);
      objects = (JSON.parse(res.stdout) as { targets: { databases: { objects: number }[] }[] }).targets[0].databases[0].objects;
    }
    return { tables, objects, seconds };
  } finally {
    await Promise.all([primary, target].map((c) => c.destroy()));
  }
}
