/**
 * `status`: where each target stands, from the state file and the log directory, without connecting
 * to anything (see statusReport.ts).
 */
import { captureStatus } from '../io/captureHelper';
import { Settings } from '../io/settings';
import { Status, statusReport } from '../pipeline/statusReport';

export { STATUS_VERSION } from '../pipeline/statusReport';
export type { Status, TargetStatus, WaitingStatus } from '../pipeline/statusReport';

/** Reads the state and the log directory into a Status, the waiting statements' text included. */
export function status(settings: Settings, now = new Date()): Promise<Status> {
  return statusReport(settings, now, true);
}

/**
 * 0 when every configured target is caught up, no gap is unacknowledged, no statement's outcome is
 * unknown and no nested DDL is unhandled; 1 otherwise.
 */
export function statusExitCode(s: Status): 0 | 1 {
  return s.gaps.length === 0 && s.unknown.length === 0 && s.nested.length === 0 && s.targets.every((t) => !t.configured || t.state === 'caught-up') ? 0 : 1;
}

/**
 * The status with the capture helper of each primary database, asked of the primary: a connection
 * that `run`'s own use of the status (its metrics) does without.
 */
export async function withCapture(s: Status, settings: Settings): Promise<Status> {
  if (!settings.source) return s;
  try {
    return { ...s, capture: { databases: await captureStatus(settings) } };
  } catch (err) {
    return { ...s, capture: { error: (err as Error).message } };
  }
}
