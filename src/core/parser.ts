/**
 * PostgreSQL's own parser (libpg-query, the server's grammar compiled to WebAssembly), for the few
 * logged statements that matter: the DDL, `SET`s and transaction control. It is loaded once, on first
 * need, so a run with nothing new to read never pays for it.
 */
import type { Node, ParseResult } from 'libpg-query';
import * as v8 from 'node:v8';
import { trimAscii } from './sqlSplit';

export type { Node };

/** One statement of a parsed string: its text and its parse tree's top node. */
export interface ParsedStatement {
  text: string;
  /** The node's type (`CreateStmt`, `VariableSetStmt`, …) and body. */
  type: string;
  node: Record<string, unknown>;
}

type ParseSync = (sql: string) => ParseResult;
let parseSync: ParseSync | null = null;

/** Loads the parser; call (and await) before `parseStatements` can use it. */
export async function loadParser(): Promise<void> {
  if (parseSync) return;
  // The parser is a large WebAssembly module that a run calls at most some thousands of times (once
  // a DDL statement): V8 would recompile its hot functions with its optimizing compiler, which costs
  // a run more CPU than it saves (a third of a second on a busy log). It is compiled with the baseline
  // compiler only; the flag is V8's at compile time, and is set back at once for the rest.
  v8.setFlagsFromString('--liftoff-only');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const lib = require('libpg-query') as typeof import('libpg-query');
    await lib.loadModule();
    parseSync = lib.parseSync;
  } finally {
    v8.setFlagsFromString('--no-liftoff-only');
    // --liftoff-only also turned dynamic tier-up off, which --no-liftoff-only leaves off: without this,
    // every module compiled later (the csvlog scan's, which runs on every byte read) would keep the
    // baseline compiler's code. The parser's, compiled without it, still never tiers up (measured:
    // its CPU per statement is the same; with --wasm-tier-up set back as well, it would be 2.5 times).
    v8.setFlagsFromString('--wasm-dynamic-tiering');
  }
}

/** Whether loadParser has run. */
export function parserLoaded(): boolean {
  return parseSync !== null;
}

/**
 * The statements of `sql` as the server splits them, or null when the parser is not loaded or does not
 * accept the text (a grammar newer than its own). Texts are cut by the parser's byte offsets, so
 * non-ASCII text stays whole.
 */
export function parseStatements(sql: string): ParsedStatement[] | null {
  if (!parseSync) return null;
  let result: ParseResult;
  try {
    result = parseSync(sql);
  } catch {
    return null;
  }
  const bytes = Buffer.from(sql, 'utf8');
  const out: ParsedStatement[] = [];
  for (const raw of result.stmts ?? []) {
    const start = raw.stmt_location ?? 0;
    const end = raw.stmt_len ? start + raw.stmt_len : bytes.length;
    const [type, node] = Object.entries(raw.stmt ?? {})[0] ?? ['', {}];
    const text = trimAscii(bytes.toString('utf8', start, end));
    if (text !== '') out.push({ text, type, node: node as Record<string, unknown> });
  }
  return out;
}
