import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { main } from '../../src/cli/main';
import { OPTIONS_TABLE_END, OPTIONS_TABLE_START, optionsTable } from '../../src/cli/optionsDoc';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const BIN = path.join(ROOT, 'bin', 'pg-ddl-sync.js');

/** The README's options table, between its markers. */
function readmeOptionsBlock(): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(OPTIONS_TABLE_START);
  const end = readme.indexOf(OPTIONS_TABLE_END);
  assert.ok(start >= 0 && end > start, 'README.md has the options-table markers');
  return readme.slice(start + OPTIONS_TABLE_START.length, end).trim();
}

/** The commands that set a host up: their options are in docs/install.md, not the README table. */
const SETUP_COMMANDS = ['install-files', 'completion', 'man'];

/** The CLI's stdout for these arguments. */
async function output(...args: string[]): Promise<string> {
  let out = '';
  const code = await main(['node', 'pg-ddl-sync', ...args], { stdout: (t) => (out += t), stderr: () => undefined });
  assert.equal(code, 0);
  return out;
}

/** Every command's name and long options, as --help lists them. */
async function helpTable(): Promise<Map<string, string[]>> {
  const commands = (await output('--help')).split('Commands:')[1].match(/^ {2}([a-z-]+)/gm)!.map((c) => c.trim()).filter((c) => c !== 'help');
  const table = new Map<string, string[]>();
  for (const c of commands) {
    const options = [...(await output(c, '--help')).matchAll(/^ {2}(?:-\w, )?(--[a-z-]+)/gm)].map((m) => m[1]);
    table.set(c, options.filter((o) => o !== '--help'));
  }
  return table;
}

describe('man page and completion', () => {
  it('the committed man page is the one the CLI makes (npm run build:man)', async () => {
    assert.equal(fs.readFileSync(path.join(ROOT, 'man', 'pg-ddl-sync.1'), 'utf8'), await output('man'));
  });

  it('the man page has every command and option --help has, and their exit codes', async () => {
    const page = (await output('man')).replace(/\\-/g, '-');
    for (const [cmd, options] of await helpTable()) {
      assert.ok(page.includes(`.SS "pg-ddl-sync ${cmd} `), cmd);
      for (const o of options) assert.ok(page.includes(o), `${cmd} ${o}`);
    }
    assert.match(page, /2 {2}bad usage, config, state or log data: needs a person/);
  });

  it('bash completion offers commands, options and the config\'s target names', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgds-completion-'));
    const script = path.join(dir, 'pg-ddl-sync.bash');
    fs.writeFileSync(script, await output('completion', 'bash'));
    fs.symlinkSync(BIN, path.join(dir, 'pg-ddl-sync'));
    const config = path.join(dir, 'inst.json');
    fs.writeFileSync(config, JSON.stringify({ csvlogDir: dir, targets: ['standby1=postgresql://s@h1/postgres', 'standby2=postgresql://s@h2/postgres'] }));
    const complete = (...words: string[]): string[] => {
      const line = words.map((w) => `'${w}'`).join(' ');
      const out = execFileSync('bash', ['-c', `source '${script}'; COMP_WORDS=(${line}); COMP_CWORD=${words.length - 1}; _pg_ddl_sync; printf '%s\\n' "\${COMPREPLY[@]}"`], {
        env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
      });
      return out.toString().split('\n').filter((l) => l !== '');
    };
    assert.deepEqual(complete('pg-ddl-sync', 'sta'), ['status']);
    assert.deepEqual(complete('pg-ddl-sync', 'install-files', '--for'), ['--force']);
    for (const [cmd, options] of await helpTable()) assert.deepEqual(complete('pg-ddl-sync', cmd, '--').sort(), [...options, '--help'].sort(), cmd);
    assert.deepEqual(complete('pg-ddl-sync', 'skip', '-c', config, '--target', ''), ['standby1', 'standby2']);
    assert.deepEqual(complete('pg-ddl-sync', 'verify', `--config=${config}`, '--target', 'standby2'), ['standby2']);
    assert.deepEqual(complete('pg-ddl-sync', 'run', '--log-level', 'd'), ['debug']);
  });

  it("the README's options table is the one the settings table makes (npm run build:options)", () => {
    assert.equal(readmeOptionsBlock(), optionsTable());
  });

  it("the README's options table has every option the syncing commands take, and no other", async () => {
    const block = readmeOptionsBlock();
    const flagColumn = block.split('\n').map((l) => l.split('|')[1] ?? '');
    const documented = new Set(flagColumn.flatMap((cell) => cell.match(/--[a-z][a-z-]*/g) ?? []));
    const taken = new Set<string>();
    for (const [cmd, options] of await helpTable()) {
      if (SETUP_COMMANDS.includes(cmd)) continue;
      for (const o of options) {
        taken.add(o);
        // A --no- form is told in its setting's row.
        assert.ok(documented.has(o) || new RegExp(`\`${o}\``).test(block), `${cmd} ${o} is not in the README's options table`);
      }
    }
    for (const o of documented) assert.ok(taken.has(o), `${o} is in the README's options table but no command takes it`);
  });
});
