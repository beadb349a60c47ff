/** Paths of the committed csvlog fixtures (written by test/fixtures/make-fixtures.ts). */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const FIXTURE_DIR = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'csvlog');

export function fixture(name: string): string {
  return path.join(FIXTURE_DIR, name);
}

/** Every fixture file of one log_statement mode, one per server major. */
export function fixturesOf(mode: 'ddl' | 'all'): string[] {
  return fs
    .readdirSync(FIXTURE_DIR)
    .filter((f) => f.endsWith(`-${mode}.csv`))
    .sort()
    .map(fixture);
}
