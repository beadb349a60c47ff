/**
 * The plainest statement texts, told from their bytes: one statement led by a word that is not DDL
 * (`SELECT`, `INSERT`, …), or a bare `BEGIN`, `COMMIT` or `ROLLBACK`. Under `log_statement = 'all'`
 * nearly every logged text is one of these; telling them without decoding, splitting or parsing is
 * what lets a busy log be read at the speed of scanning it.
 *
 * Bytes, not text, so that a record can be judged before anything of it is decoded: only ASCII bytes
 * decide, and every server encoding is ASCII-safe (a byte below 0x80 is always that character), so
 * the answer is the same for the bytes and for their text in any encoding.
 */
import { isScannerSpace } from './sqlSplit';

export type PlainKind = 'dml' | 'begin' | 'commit' | 'rollback';

/**
 * Leading words of one statement that is neither DDL nor changes what later DDL of the session does,
 * and the bare transaction verbs, with what they are.
 */
const WORDS = new Map<string, PlainKind>([
  ['insert', 'dml'],
  ['update', 'dml'],
  ['delete', 'dml'],
  ['select', 'dml'],
  ['values', 'dml'],
  ['fetch', 'dml'],
  ['move', 'dml'],
  ['show', 'dml'],
  ['begin', 'begin'],
  ['start', 'begin'],
  ['end', 'commit'],
  ['commit', 'commit'],
  ['rollback', 'rollback'],
  ['abort', 'rollback'],
]);
/**
 * Where the words above can be: no two share a first letter and a length, so a text's first word is
 * compared with one of them at most (entry (LONGEST + 1) × letter + length; `null` where none is).
 */
interface Word {
  word: string;
  kind: PlainKind;
}
const LONGEST = 8;
const WORD_AT: (Word | null)[] = Array.from({ length: 26 * (LONGEST + 1) }, () => null);
for (const [word, kind] of WORDS) {
  const slot = (word.charCodeAt(0) - 0x61) * (LONGEST + 1) + word.length;
  if (WORD_AT[slot] !== null || word.length > LONGEST) throw new Error(`plainText: ${word} needs a slot of its own`);
  WORD_AT[slot] = { word, kind };
}

/**
 * Where the first `byte` in bytes[from, to) is, or -1, in the very bytes plainKind is given: the
 * WebAssembly scan's (csvScan.wat) searches its own chunk, sixteen bytes a step, so only the scan
 * hands it over (ChunkScanner); without it, a loop here does.
 */
export type FindByte = (byte: number, from: number, to: number) => number;

const SEMICOLON = 0x3b;

/**
 * What bytes[start, end) is, if it is one of the plainest texts; null for anything else (which takes
 * the long way: split, and parsed where it may be DDL). A SELECT with INTO anywhere takes the long
 * way. Read by hand, not by a regular expression: one that backtracks over white space would let a
 * text of many spaces stall every run.
 */
export function plainKind(bytes: Uint8Array, start: number, end: number, find?: FindByte): PlainKind | null {
  let from = start;
  let to = end;
  while (from < to && isScannerSpace(bytes[from])) from++;
  while (to > from && isScannerSpace(bytes[to - 1])) to--;
  const wordEnd = lettersFrom(bytes, from, to);
  const found = wordAt(bytes, from, wordEnd);
  if (found === null) return null;
  const { word, kind } = found;
  if (kind === 'dml') {
    // `\b` after the word: a word character would make it another word.
    if (wordEnd < to && isWordChar(bytes[wordEnd])) return null;
    return oneQuery(bytes, wordEnd, to, word === 'select', find) ? kind : null;
  }
  // What may follow a verb: white space, WORK or TRANSACTION (START takes only TRANSACTION), white
  // space, `;`.
  let at = wordEnd;
  while (at < to && isScannerSpace(bytes[at])) at++;
  const second = at > wordEnd ? lettersFrom(bytes, at, to) : at;
  if (isWord(bytes, at, second, 'transaction') || (word !== 'start' && isWord(bytes, at, second, 'work'))) at = second;
  else if (word === 'start') return null;
  while (at < to && isScannerSpace(bytes[at])) at++;
  return at === to || (at === to - 1 && bytes[at] === SEMICOLON) ? kind : null;
}

/** Which of WORDS bytes[from, to) (ASCII letters) is, in any case. */
function wordAt(bytes: Uint8Array, from: number, to: number): Word | null {
  const length = to - from;
  if (length === 0 || length > LONGEST) return null;
  const found = WORD_AT[((bytes[from] | 0x20) - 0x61) * (LONGEST + 1) + length];
  return found !== null && isWord(bytes, from, to, found.word) ? found : null;
}

/** Where the run of ASCII letters at i ends. */
function lettersFrom(bytes: Uint8Array, i: number, to: number): number {
  let j = i;
  while (j < to && isLetter(bytes[j])) j++;
  return j;
}

/** bytes[from, to) is `word` (lower case), in any case. */
function isWord(bytes: Uint8Array, from: number, to: number, word: string): boolean {
  if (to - from !== word.length) return false;
  for (let k = 0; k < word.length; k++) if ((bytes[from + k] | 0x20) !== word.charCodeAt(k)) return false;
  return true;
}

/**
 * bytes[from, to) ends its statement, with at most a `;` at the very end, and (for a SELECT, `select`)
 * holds no INTO, a SELECT … INTO being a CREATE TABLE AS. This runs on nearly every record, over
 * every byte of its text: for all but a SELECT, the loop tests one thing a byte.
 */
function oneQuery(bytes: Uint8Array, from: number, to: number, select: boolean, find?: FindByte): boolean {
  const last = to - 1;
  if (!select && find) return find(SEMICOLON, from, last) < 0;
  if (!select) {
    for (let i = from; i < last; i++) if (bytes[i] === SEMICOLON) return false;
    return true;
  }
  for (let i = from; i < to; i++) {
    const c = bytes[i];
    if (c === SEMICOLON && i < last) return false;
    if ((c | 0x20) === 0x69 && isWord(bytes, i, Math.min(i + 4, to), 'into')) return false;
  }
  return true;
}

function isLetter(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** A character of `\w`: ASCII letter, digit or `_`. */
function isWordChar(c: number): boolean {
  return isLetter(c) || (c >= 0x30 && c <= 0x39) || c === 0x5f;
}
