/**
 * Every connection goes through one door (src/io/connect.ts), which ends it on every path: a login
 * that fails half-way, a set-up query that fails, a caller's work that fails. Counted on a real
 * server: no session of the tool's is left behind.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { APPLICATION_NAME } from '../../src/core/echo';
import { openClient, openSession, withClient } from '../../src/io/connect';
import { TargetApplier } from '../../src/io/applier';
import { parseTarget } from '../../src/io/target';
import { Cluster, sleep } from '../helpers/cluster';

const OPTS = { connectTimeoutMs: 5000 };

describe('the connection factory ends what it opened', () => {
  let server: Cluster;

  before(async () => {
    server = await Cluster.start({ name: 'target' });
    server.psql('postgres', "CREATE ROLE pgds_connect_pw LOGIN SUPERUSER PASSWORD 'pw-3e7a';\nCREATE ROLE ledger_thief;\nCREATE DATABASE foreign_ledger OWNER ledger_thief;\n");
    server.psql('foreign_ledger', 'CREATE SCHEMA ddl_sync AUTHORIZATION ledger_thief;\n');
    const hba = path.join(server.dataDir, 'pg_hba.conf');
    fs.writeFileSync(hba, `host all pgds_connect_pw 127.0.0.1/32 scram-sha-256\n${fs.readFileSync(hba, 'utf8')}`);
    await server.query('postgres', 'SELECT pg_reload_conf()');
  });

  after(async () => {
    await server?.destroy();
  });

  /** The tool's sessions on the server (its application_name), once the server has seen them go. */
  async function toolSessions(): Promise<number> {
    let n = -1;
    for (let i = 0; i < 20; i++) {
      const rows = await server.query('postgres', `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = '${APPLICATION_NAME}'`);
      n = (rows[0] as { n: number }).n;
      if (n === 0) break;
      await sleep(100);
    }
    return n;
  }

  /** Backends still waiting for a password: a login pg gave up on but did not close. */
  function waitingForPassword(): number {
    // Such a backend is in no view before it has logged in; its process title says what it waits for.
    const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    return ps.split('\n').filter((l) => l.includes('pgds_connect_pw') && l.includes('authentication')).length;
  }

  test('a login that fails for want of a password leaves no backend waiting for it', async () => {
    const spec = parseTarget(`postgresql://pgds_connect_pw@127.0.0.1:${server.port}/postgres`);
    const saved = { pw: process.env.PGPASSWORD, file: process.env.PGPASSFILE };
    delete process.env.PGPASSWORD;
    process.env.PGPASSFILE = '/nonexistent/pgpass';
    try {
      await assert.rejects(openClient(spec, undefined, OPTS), /password/);
    } finally {
      if (saved.pw !== undefined) process.env.PGPASSWORD = saved.pw;
      if (saved.file !== undefined) process.env.PGPASSFILE = saved.file;
      else delete process.env.PGPASSFILE;
    }
    let left = waitingForPassword();
    for (let i = 0; i < 20 && left > 0; i++) {
      await sleep(100);
      left = waitingForPassword();
    }
    assert.equal(left, 0, 'a backend still waits for the password of a login the tool gave up');
  });

  test('a set-up that fails ends the connection', async () => {
    const spec = parseTarget(server.syncUrl);
    await assert.rejects(
      openSession(spec, 'postgres', OPTS, async (client) => {
        await client.query('SELECT 1/0');
        return client;
      }),
      /division by zero/,
    );
    assert.equal(await toolSessions(), 0);
  });

  test('work that fails on a connection ends it', async () => {
    const spec = parseTarget(server.syncUrl);
    await assert.rejects(withClient(spec, 'postgres', OPTS, (client) => client.query('SELECT no_such_column')), /no_such_column/);
    assert.equal(await toolSessions(), 0);
  });

  test('an applier whose ledger set-up fails (another role owns it) leaves no session', async () => {
    const applier = new TargetApplier(parseTarget(server.syncUrl), OPTS, new Map());
    const res = await applier.encodingOf('foreign_ledger');
    assert.equal(res.kind, 'failed');
    assert.equal(await toolSessions(), 0);
    await applier.close();
  });
});
