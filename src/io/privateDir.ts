/**
 * Whether a directory is safe for the files a run trusts (state, lock, metrics): one where no other
 * user can plant, replace or remove them.
 *
 * A directory others can write without the sticky bit lets them rename or delete our files and put
 * their own in their place. The sticky bit (/tmp) stops that, but not the planting of a name we have
 * not created yet: a state file of theirs would be read as ours, a lock file of theirs would stop our
 * runs. So a world-writable directory is refused even with it; a group-writable one is accepted only
 * with it (a group shares a directory on purpose, and the sticky bit keeps its members' files apart).
 */
import * as fs from 'node:fs';

/**
 * What makes `dir` unsafe, in words for the user, or null when it is safe (or does not exist yet: it
 * is then made 0700).
 * @param dir the directory that holds (or is to hold) the files
 */
export function unsafeDirProblem(dir: string): string | null {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    return null;
  }
  const mode = st.mode & 0o7777;
  const sticky = (mode & 0o1000) !== 0;
  const shown = mode.toString(8).padStart(4, '0');
  if ((mode & 0o002) !== 0) {
    return `directory ${dir} can be written by every user (mode ${shown}): another user could plant or replace files there; use a directory only you can write (mkdir -m 700)`;
  }
  if ((mode & 0o020) !== 0 && !sticky) {
    return `directory ${dir} can be written by its group without the sticky bit (mode ${shown}): a member could replace files there; chmod g-w or chmod +t it, or use a directory only you can write`;
  }
  return null;
}
