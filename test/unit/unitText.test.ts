/**
 * A UnitTexts reads units' statements again from the log, and holds its files open to do so: a
 * resident process makes one a pass, so close() must let every one of them go.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { before, describe, it } from 'node:test';
import { loadParser } from '../../src/core/parser';
import { describeFiles } from '../../src/io/logFiles';
import { UnitTexts, withUnitTexts } from '../../src/io/unitText';
import { makePlan } from '../../src/pipeline/read';
import { fixturesOf } from '../helpers/fixtures';
import { silentLogger } from '../helpers/logger';

before(loadParser);

/** The process's open file descriptors. */
function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

describe('unit texts', () => {
  it('keeps one descriptor per log file while it reads, none after close()', async () => {
    const files = describeFiles(fixturesOf('all'));
    const plan = await makePlan(files, files.map(() => 0), undefined, { log: silentLogger() });
    assert.ok(plan.units.length > 1);
    const before = openFds();
    const texts = new UnitTexts(files);
    for (let pass = 0; pass < 2; pass++) {
      for (const u of plan.units) assert.equal(texts.get(u, 'UTF8').kind, 'ok');
    }
    const used = new Set(plan.units.map((u) => u.file.key)).size;
    assert.equal(openFds(), before + used);
    texts.close();
    assert.equal(openFds(), before);
  });

  it('withUnitTexts closes what it read, also when its use throws', async () => {
    const files = describeFiles(fixturesOf('all'));
    const plan = await makePlan(files, files.map(() => 0), undefined, { log: silentLogger() });
    const before = openFds();
    assert.throws(() =>
      withUnitTexts(files, (texts) => {
        for (const u of plan.units) texts.get(u);
        assert.ok(openFds() > before);
        throw new Error('used');
      }),
    );
    assert.equal(openFds(), before);
  });
});
