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
 * The words above by their first six letters packed five bits a letter (a small integer, which a Map
 * finds fast), for finding one without making a string.
 */
const BY_KEY = new Map<number, string[]>();
for (const word of WORDS.keys()) {
  const key = keyOf(Buffer.from(word), 0, word.length);
  BY_KEY.set(key, [...(BY_KEY.get(key) ?? []), word]);
}

const SEMICOLON = 0x3b;

/**
 * What bytes[start, end) is, if it is one of the plainest texts; null for anything else (which takes
 * the long way: split, and parsed where it may be DDL). A SELECT with INTO anywhere takes the long
 * way. Read by hand, not by a regular expression: one that backtracks over white space would let a
 * text of many spaces stall every run.
 */
export function plainKind(bytes: Uint8Array, start: number, end: number): PlainKind | null {
  let from = start;
  let to = end;
  while (from < to && isScannerSpace(bytes[from])) from++;
  while (to > from && isScannerSpace(bytes[to - 1])) to--;
  const wordEnd = lettersFrom(bytes, from, to);
  const word = wordAt(bytes, from, wordEnd);
  if (word === undefined) return null;
  // One statement, ended by at most a `;` at the very end.
  for (let i = wordEnd; i < to - 1; i++) if (bytes[i] === SEMICOLON) return null;
  const kind = WORDS.get(word)!;
  if (kind === 'dml') {
    // `\b` after the word: a word character would make it another word.
    if (wordEnd < to && isWordChar(bytes[wordEnd])) return null;
    if (word === 'select' && contains(bytes, wordEnd, to, 'into')) return null;
    return kind;
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

/** The first six letters of bytes[from, to), letters all, lower-cased and packed five bits a letter. */
function keyOf(bytes: Uint8Array, from: number, to: number): number {
  let key = 0;
  for (let i = from; i < to && i < from + 6; i++) key = key * 32 + ((bytes[i] | 0x20) - 0x60);
  return key;
}

/** Which of WORDS bytes[from, to) is, in any case. */
function wordAt(bytes: Uint8Array, from: number, to: number): string | undefined {
  const candidates = BY_KEY.get(keyOf(bytes, from, to));
  if (candidates === undefined) return undefined;
  for (const word of candidates) if (isWord(bytes, from, to, word)) return word;
  return undefined;
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

/** bytes[from, to) holds `word` (lower case), in any case. */
function contains(bytes: Uint8Array, from: number, to: number, word: string): boolean {
  const first = word.charCodeAt(0);
  for (let i = from; i + word.length <= to; i++) if ((bytes[i] | 0x20) === first && isWord(bytes, i, i + word.length, word)) return true;
  return false;
}

function isLetter(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** A character of `\w`: ASCII letter, digit or `_`. */
function isWordChar(c: number): boolean {
  return isLetter(c) || (c >= 0x30 && c <= 0x39) || c === 0x5f;
}
