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
import { assertPrivateDir } from './privateDir';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;

/**
 * Replaces `file` with `content`.
 * @param file the file's path; its directory must be one only this user can write (see privateDir)
 * @param content the whole new content
 * @param mode the file's permission bits, whatever the umask
 */
export function writeFileAtomic(file: string, content: string, mode = 0o600): void {
  const dir = path.dirname(file);
  assertPrivateDir(dir);
  refuseLink(file);
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

/** A symbolic link where the file goes is refused: the rename would put our file in its place unseen. */
function refuseLink(file: string): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch {
    return;
  }
  if (st.isSymbolicLink()) throw new Error(`${file} is a symbolic link; refusing to replace it (give the path it points to)`);
}

/** Writes every byte: a short write is followed by the rest, a failed one throws. */
export function writeAll(fd: number, buf: Buffer): void {
  for (let off = 0; off < buf.length; ) off += fs.writeSync(fd, buf, off);
}
