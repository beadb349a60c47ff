/**
 * Writes a file so that a reader (or the next run after a crash) sees the old or the new content,
 * never a torn one: write a temp file, fsync it, rename it over, fsync the directory.
 *
 * The temp file's name is random and it is created exclusively, never through a symbolic link, with
 * its mode set on the open file: a name planted in advance (a link to a file of root's) makes the
 * write fail, never lands in another file. A write that fails (a full disk) removes the temp file.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../errors';
import { unsafeDirProblem } from './privateDir';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;

/**
 * Replaces `file` with `content`.
 * @param file the file's path; its directory must be one only this user can write (see privateDir)
 * @param content the whole new content
 * @param mode the file's permission bits, whatever the umask
 * @param keepPrevious keep the content it replaces as `FILE.prev`: one generation to go back to
 */
export function writeFileAtomic(file: string, content: string, mode = 0o600, keepPrevious = false): void {
  const problem = unsafeFileProblem(file);
  if (problem) throw new Error(problem);
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(8).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
  try {
    try {
      fs.fchmodSync(fd, mode);
      writeAll(fd, Buffer.from(content, 'utf8'));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    if (keepPrevious) keepAsPrevious(file);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  const dirFd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(dirFd);
  } finally {
    fs.closeSync(dirFd);
  }
}

/**
 * What makes `file` unsafe to trust or replace, in words for the user, or null: its directory can be
 * written by others (see privateDir), or it is a symbolic link (a rename would put our file in its
 * place unseen; a read would take another file's content).
 * @param file the file's path
 */
export function unsafeFileProblem(file: string): string | null {
  const dirProblem = unsafeDirProblem(path.dirname(file));
  if (dirProblem) return dirProblem;
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch {
    return null;
  }
  return st.isSymbolicLink() ? `${file} is a symbolic link; refusing to use it (give the path it points to)` : null;
}

/**
 * Makes `FILE.prev` a second name of the file about to be replaced (a hard link: its old content, with
 * no copy to tear). The rename that follows replaces only `FILE`.
 */
function keepAsPrevious(file: string): void {
  const prev = previousOf(file);
  fs.rmSync(prev, { force: true });
  try {
    fs.linkSync(file, prev);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Where the generation before a file is kept (see writeFileAtomic). */
export function previousOf(file: string): string {
  return `${file}.prev`;
}

/** Writes every byte: a short write is followed by the rest, a failed one throws. */
function writeAll(fd: number, buf: Buffer): void {
  for (let off = 0; off < buf.length; ) off += fs.writeSync(fd, buf, off);
}

/**
 * Appends lines to a record file of the tool's (`STATE.skipped.jsonl`): never through a symbolic link
 * (a user who can write the directory could point it at a file root then writes, such as a shell's
 * start-up file), and only to a regular file of this user's, made 0600 if it is new.
 */
export function appendRecord(file: string, text: string): void {
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
  try {
    const st = fs.fstatSync(fd);
    const uid = process.getuid?.();
    if (!st.isFile() || (uid !== undefined && st.uid !== uid)) {
      throw new UsageError(`${file}: not a regular file of this user's (uid ${st.uid}); refusing to write the record there (remove it)`);
    }
    fs.writeSync(fd, text);
  } finally {
    fs.closeSync(fd);
  }
}
