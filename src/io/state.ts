/**
 * The state file: per target, the position in the primary's log up to which everything was dealt with
 * (applied, or dropped as failed on the primary), and the target's last success or failure.
 */
import * as fs from 'node:fs';
import { StateError } from '../errors';
import { writeFileAtomic } from './atomicFile';
import { SavedPosition } from './position';

export const STATE_VERSION = 1;

export interface TargetFailure {
  /** The statement the target stopped at, redacted. */
  statement: string;
  at: SavedPosition;
  database: string;
  sqlState?: string;
  message: string;
  /** ISO time of the first failure at this position. */
  since: string;
}

export interface TargetState {
  position: SavedPosition;
  /** ISO time of the last run that left this target caught up. */
  lastSuccess?: string;
  failure?: TargetFailure;
}

export interface State {
  version: typeof STATE_VERSION;
  targets: Record<string, TargetState>;
}

export function emptyState(): State {
  return { version: STATE_VERSION, targets: {} };
}

/** Reads the state file; a missing file is a first run, anything unreadable stops the run. */
export function loadState(file: string): State {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
    throw new StateError(file, `cannot read it: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new StateError(
      file,
      `not valid JSON (${text.length} bytes); restore it from a backup or, to start over, see README "State file"`,
    );
  }
  return validate(file, data);
}

export function saveState(file: string, state: State): void {
  writeFileAtomic(file, `${JSON.stringify(state, null, 2)}\n`);
}

function validate(file: string, data: unknown): State {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new StateError(file, 'not a pg-ddl-sync state (expected a JSON object)');
  }
  const obj = data as Record<string, unknown>;
  if (obj.version !== STATE_VERSION) {
    throw new StateError(
      file,
      `format version ${JSON.stringify(obj.version)} is not one this pg-ddl-sync reads (${STATE_VERSION}); ` +
        'was it written by another version?',
    );
  }
  if (typeof obj.targets !== 'object' || obj.targets === null || Array.isArray(obj.targets)) {
    throw new StateError(file, 'key "targets" must be an object');
  }
  for (const [name, t] of Object.entries(obj.targets as Record<string, unknown>)) {
    const pos = (t as { position?: unknown } | null)?.position as Record<string, unknown> | undefined;
    const ok =
      pos &&
      typeof pos.file === 'string' &&
      typeof pos.ino === 'number' &&
      (typeof pos.fingerprint === 'string' || pos.fingerprint === null) &&
      Number.isSafeInteger(pos.offset) &&
      (pos.offset as number) >= 0;
    if (!ok) throw new StateError(file, `key "targets.${name}.position" is not a valid log position`);
  }
  return data as State;
}
