/**
 * Where a target stands in the log: a file (by inode and fingerprint, with its name for people) and
 * the byte offset of the next record it has not yet dealt with.
 */
import { LogFilesError } from '../errors';
import { LogFile, fingerprint } from './logFiles';

export interface SavedPosition {
  file: string;
  ino: number;
  fingerprint: string | null;
  offset: number;
}

/** A position within one run's list of files. */
export interface RunPosition {
  file: number;
  offset: number;
}

export function comparePositions(a: RunPosition, b: RunPosition): number {
  return a.file - b.file || a.offset - b.offset;
}

/**
 * Finds a saved position in the current list of files.
 * @param files this run's files, oldest first
 * @param saved the position from the state file
 */
export function locate(files: LogFile[], saved: SavedPosition): RunPosition {
  const index = files.findIndex((f) => f.ino === saved.ino);
  const file = files[index];
  const sameContent = file && (saved.fingerprint === null || file.fingerprint === saved.fingerprint);
  if (!file || !sameContent) {
    throw new LogFilesError(
      `the csvlog file pg-ddl-sync was reading (${saved.file}, offset ${saved.offset}) is gone or was ` +
        'truncated and reused; records after that offset may be lost. Check the targets against the primary ' +
        'and start over (see README, "When a log file is gone").',
    );
  }
  if (file.size < saved.offset) {
    throw new LogFilesError(`csvlog ${file.name} is ${file.size} bytes, shorter than the saved offset ${saved.offset}`);
  }
  return { file: index, offset: saved.offset };
}

/** The saved form of a run position. */
export function toSaved(files: LogFile[], pos: RunPosition): SavedPosition {
  const file = files[pos.file];
  // A file listed before its first line was complete has one now, if the run read past it.
  const print = file.fingerprint ?? (pos.offset > 0 ? fingerprint(file.path) : null);
  return { file: file.name, ino: file.ino, fingerprint: print, offset: pos.offset };
}
