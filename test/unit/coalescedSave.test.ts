/**
 * The state saves of targets that finish close together: made once, a moment after the first asks;
 * none after the run stops them; a failed one thrown where the run can report it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CoalescedSave } from '../../src/pipeline/save';

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('CoalescedSave', () => {
  it('makes one save for the asks within its delay, and another for a later ask', async () => {
    let saves = 0;
    const save = new CoalescedSave(() => void saves++, 30);
    save.soon();
    save.soon();
    save.soon();
    assert.equal(saves, 0);
    await pause(80);
    assert.equal(saves, 1);
    save.soon();
    await pause(80);
    assert.equal(saves, 2);
    save.stop();
    save.rethrow();
  });

  it('makes no save once stopped', async () => {
    let saves = 0;
    const save = new CoalescedSave(() => void saves++, 30);
    save.soon();
    save.stop();
    await pause(80);
    assert.equal(saves, 0);
  });

  it('throws the error of a save that failed, and asks for no more saves after it', async () => {
    let saves = 0;
    const save = new CoalescedSave(() => {
      saves++;
      throw new Error('disk full');
    }, 10);
    save.soon();
    await pause(50);
    save.soon();
    await pause(50);
    assert.equal(saves, 1);
    save.stop();
    assert.throws(() => save.rethrow(), /disk full/);
  });
});
