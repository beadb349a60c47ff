/**
 * Reading the capture helper's records (core/capture) back from a test primary's csvlog.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { parse } from 'csv-parse/sync';
import { Client } from 'pg';
import { randomBytes } from 'node:crypto';
import { CaptureParse, CapturePayload, looksLikeCapture, parseCapture } from '../../src/core/capture';
import { CAPTURE_REMOVE_SQL, captureInstallSql } from '../../src/core/captureSql';
import { Cluster } from './cluster';

/** The csvlog's message column (0-based). */
const MESSAGE = 13;

/** Every capture-looking LOG message of the primary's csvlog, parsed with the key. */
export function captureRecords(primary: Cluster, key: string): { message: string; parsed: CaptureParse }[] {
  const out: { message: string; parsed: CaptureParse }[] = [];
  for (const file of primary.csvFiles()) {
    for (const row of parse(fs.readFileSync(file), { relax_column_count: true }) as string[][]) {
      const message = row[MESSAGE] ?? '';
      if (row[11] === 'LOG' && looksLikeCapture(message)) out.push({ message, parsed: parseCapture(message, key) });
    }
  }
  return out;
}

/** The payload of the one proven record that names this object. */
export function captureOf(primary: Cluster, key: string, identity: string): CapturePayload {
  const found = captureRecords(primary, key).flatMap((r) => (r.parsed.kind === 'capture' && r.parsed.payload.commands.some((c) => c.identity === identity) ? [r.parsed.payload] : []));
  assert.equal(found.length, 1, `one capture record of ${identity}`);
  return found[0];
}

/** Runs sql on the primary as role, in one simple query. */
export async function as(primary: Cluster, role: string, database: string, sql: string): Promise<void> {
  const client = new Client({ host: '127.0.0.1', port: primary.port, user: role, database, password: '' });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}


/**
 * Installs the capture helper (the installer's own SQL, core/captureSql) in `database` of `cluster`,
 * in a session that logs nothing, so its own DDL is never propagated. @returns the key
 */
export async function installCapture(cluster: Cluster, database = 'postgres', key = randomBytes(24).toString('hex')): Promise<string> {
  const client = new Client({
    host: '127.0.0.1', port: cluster.port, user: 'postgres', database, password: '',
    options: '-c log_statement=none -c log_disconnections=off',
  });
  await client.connect();
  try {
    const versionNum = Number((await client.query<{ v: string }>('SHOW server_version_num')).rows[0].v);
    await client.query('BEGIN');
    await client.query(CAPTURE_REMOVE_SQL[0]);
    for (const sql of captureInstallSql(versionNum)) await client.query(sql, sql.includes('$1') ? [key] : []);
    await client.query('COMMIT');
  } finally {
    await client.end();
  }
  return key;
}
