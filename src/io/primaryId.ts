/**
 * Which primary a state file belongs to: the real path of the log directory it reads and, when the
 * data directory is known, the primary's system identifier. A state file used for another primary's
 * log would take that log's files for new ones and replay all of it.
 *
 * The system identifier is the first field of global/pg_control in every PostgreSQL version: made at
 * initdb, kept by a promoted standby, different for every other cluster. It is read when it can be
 * (the data directory given, the file readable) and otherwise left out: the log directory alone
 * still tells one primary from another on one machine.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface PrimaryId {
  /** The csvlog directory's real path. */
  logDir: string;
  /** pg_control's system_identifier, in decimal. */
  systemId?: string;
}

/**
 * The primary a run reads, as far as it can be told cheaply.
 * @param csvlogDir the csvlog directory
 * @param dataDir the primary's data directory, when given
 */
export function identifyPrimary(csvlogDir: string, dataDir?: string): PrimaryId {
  let logDir: string;
  try {
    logDir = fs.realpathSync(csvlogDir);
  } catch {
    logDir = path.resolve(csvlogDir); // listing it says what is wrong
  }
  const systemId = dataDir ? systemIdOf(dataDir) : undefined;
  return systemId ? { logDir, systemId } : { logDir };
}

function systemIdOf(dataDir: string): string | undefined {
  let fd: number;
  try {
    fd = fs.openSync(path.join(dataDir, 'global', 'pg_control'), 'r');
  } catch {
    return undefined;
  }
  try {
    const buf = Buffer.alloc(8);
    if (fs.readSync(fd, buf, 0, 8, 0) < 8) return undefined;
    // Written in the server's byte order, which is this machine's.
    return (os.endianness() === 'LE' ? buf.readBigUInt64LE(0) : buf.readBigUInt64BE(0)).toString();
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Why a state file recorded for `saved` must not be used for `now`, in words for the user, or null.
 * A state file that records no primary (written before this was kept) is taken as this one's.
 */
export function primaryMismatch(saved: PrimaryId | undefined, now: PrimaryId): string | null {
  if (!saved) return null;
  const fresh = 'give this primary a state file of its own (--state-file NEW_FILE: a new file reads the log directory from its start)';
  if (saved.systemId && now.systemId && saved.systemId !== now.systemId) {
    return `it belongs to the primary of system identifier ${saved.systemId}, not to this one (${now.systemId}); ${fresh}`;
  }
  if (saved.logDir !== now.logDir) {
    return (
      `it belongs to the primary logging to ${saved.logDir}, not to ${now.logDir}; ${fresh}, ` +
      `or, if that primary's log directory moved here, set "primary.logDir" in the state file to ${now.logDir}`
    );
  }
  return null;
}

/** The identity to save: what is known now, and the system identifier saved when it is not known now. */
export function primaryToSave(saved: PrimaryId | undefined, now: PrimaryId): PrimaryId {
  const systemId = now.systemId ?? saved?.systemId;
  return systemId ? { logDir: now.logDir, systemId } : { logDir: now.logDir };
}
