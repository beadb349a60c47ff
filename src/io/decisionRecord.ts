/** The state's record file: what people decided (skips, acknowledged gaps, adoptions, resolves). */
import { StateError } from '../errors';
import { appendRecord } from './atomicFile';

/** The file skipped statements are kept in. */
export function skippedFile(stateFile: string): string {
  return `${stateFile}.skipped.jsonl`;
}

/**
 * Appends what a person decided (a skip, acknowledged gaps, an adoption, a resolve) to the state's
 * record file, one JSON line each; where it cannot be written, a StateError saying what was not
 * recorded, before the state changes.
 * @param what what the records are, for the error: "the skipped statement", …
 * @returns the record file
 */
export function recordDecisions(stateFile: string, what: string, records: object[]): string {
  const file = skippedFile(stateFile);
  try {
    appendRecord(file, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  } catch (err) {
    throw new StateError(stateFile, `cannot record ${what} in ${file}: ${(err as Error).message}`);
  }
  return file;
}
