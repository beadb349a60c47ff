/**
 * The state file's shape, checked field by field as it is read: a field of the wrong kind is one line
 * naming its key path (`key "journal.entries[3].offset" must be …`), never a crash further on.
 *
 * Version 2 declares the judge's part itself (core/stateFormat.ts); version 1 wrote the judge's own
 * records, whose booleans may be absent (false): files written before they existed. A version-1 file
 * is checked as it was written, then migrated (io/stateMigration.ts).
 *
 * Keys not known here are let through when a file is read (a later version 2 may have added one);
 * the tests check strictly, so that what is written is what is declared.
 */

/** What is wrong with `v` at key path `at`, or null; `strict`: a key not declared is wrong too. */
type Check = (v: unknown, at: string, strict: boolean) => string | null;

const must = (at: string, what: string): string => `key "${at}" must be ${what}`;

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const is =
  (test: (v: unknown) => boolean, what: string): Check =>
  (v, at) =>
    test(v) ? null : must(at, what);

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isTime = (v: unknown): boolean => typeof v === 'string' && !Number.isNaN(Date.parse(v));

const str = is((v) => typeof v === 'string', 'a string');
const count = is(isCount, 'a whole number, 0 or more');
const int = is((v) => Number.isSafeInteger(v), 'a whole number');
const bool = is((v) => typeof v === 'boolean', 'true or false');
const time = is(isTime, 'a time (ISO 8601)');
const seqNo = is(isCount, 'a journal sequence number');

function nullable(c: Check): Check {
  return (v, at, strict) => (v === null ? null : c(v, at, strict));
}

function oneOf(...values: string[]): Check {
  return is((v) => values.includes(v as string), `one of ${values.join(', ')}`);
}

function list(c: Check): Check {
  return (v, at, strict) => {
    if (!Array.isArray(v)) return must(at, 'an array');
    for (const [i, x] of v.entries()) {
      const p = c(x, `${at}[${i}]`, strict);
      if (p) return p;
    }
    return null;
  };
}

function dict(c: Check): Check {
  return (v, at, strict) => {
    if (!isObject(v)) return must(at, 'an object');
    for (const [k, x] of Object.entries(v)) {
      const p = c(x, `${at}.${k}`, strict);
      if (p) return p;
    }
    return null;
  };
}

/** Keys ending in `?` may be absent (undefined). */
function obj(fields: Record<string, Check>, what = 'an object'): Check {
  return (v, at, strict) => {
    if (!isObject(v)) return must(at, what);
    const pathOf = (key: string): string => (at === '' ? key : `${at}.${key}`);
    if (strict) {
      const declared = new Set(Object.keys(fields).map((n) => n.replace(/\?$/, '')));
      const extra = Object.keys(v).find((k) => !declared.has(k));
      if (extra !== undefined) return `key "${pathOf(extra)}" is not part of the format`;
    }
    for (const [name, c] of Object.entries(fields)) {
      const optional = name.endsWith('?');
      const key = optional ? name.slice(0, -1) : name;
      const path = pathOf(key);
      if (v[key] === undefined) {
        if (optional) continue;
        return `key "${path}" is missing`;
      }
      const p = c(v[key], path, strict);
      if (p) return p;
    }
    return null;
  };
}

const fileRef = obj({ key: str, name: str, ino: int });
const place = obj({ file: fileRef, offset: count, end: count, part: count });
const unitSpec = {
  file: fileRef,
  offset: count,
  end: count,
  key: count,
  parts: list(count),
  settings: list(str),
  database: str,
  user: str,
  sessionId: str,
  logTime: str,
  runsAlone: bool,
  actsOnDatabase: bool,
  'prepares?': list(place),
  'rewrites?': dict(str),
  'resets?': dict(obj({ statements: list(str), restoresRole: bool })),
  'stop?': str,
  'leftBehind?': oneOf('invalid-index'),
};
const view = obj({ settings: dict(str), temp: list(str) });
const savepoint = obj({ name: str, units: count, parts: count, view, local: dict(str) });
const lastStatement = obj({ tx: count, 'textHash?': str, record: str, 'units?': list(count) });
const capture = obj({ xid: str, sub: str, 'status?': oneOf('committed', 'aborted', 'in progress', 'unknown') });
const nestedDdl = obj({ at: str, fileKey: str, database: str, sessionId: str, logTime: str, tag: str, objects: list(obj({ identity: nullable(str), type: str, action: str })), statement: str });

/** An object whose key `tag` says which of `variants` it is, and so which keys it has. */
function tagged(tag: string, variants: Record<string, Record<string, Check>>): Check {
  return (v, at, strict) => {
    if (!isObject(v)) return must(at, 'an object');
    const kind = v[tag];
    if (typeof kind !== 'string' || !Object.hasOwn(variants, kind)) return must(`${at}.${tag}`, `one of ${Object.keys(variants).join(', ')}`);
    return obj({ [tag]: str, ...variants[kind] })(v, at, strict);
  };
}

/** The judge's part in version 2: the types of core/stateFormat.ts. */
const judgeV2 = obj({
  nextOrder: count,
  nextTx: count,
  sessions: list(obj({ id: str, pid: int, exact: bool, txs: list(count), view, prepared: dict(place), 'last?': lastStatement })),
  txs: list(
    obj({
      id: count,
      session: str,
      pid: int,
      vxid: str,
      state: tagged('is', {
        running: {},
        aborted: { 'by?': str },
        committing: {},
        preparing: {},
        prepared: {},
        committed: {},
        failed: {},
        unknown: { crashedAt: str },
      }),
      block: oneOf('none', 'logged', 'unlogged'),
      extendedProtocol: bool,
      ownCommits: bool,
      'continues?': obj({ record: str, segment: count }),
      'gid?': str,
      'commitPreparedIn?': count,
      'rollbackPreparedIn?': count,
      view,
      before: view,
      local: dict(str),
      savepoints: list(savepoint),
      units: list(count),
      dropOnCommit: list(str),
    }),
  ),
  pending: list(obj({ ...unitSpec, order: count, tx: count, dropped: bool, textHash: str, 'captures?': list(capture) })),
  prepared: dict(count),
  'nested?': list(nestedDdl),
  'neverGot?': list(obj({ database: str, kind: str, 'schema?': str, name: str, 'path?': str, 'anySchema?': bool, why: str })),
});

/** The judge's part in version 1: the judge's own records as they were then. */
const judgeV1 = obj({
  nextOrder: count,
  nextTx: count,
  sessions: list(obj({ id: str, pid: int, 'exact?': bool, txs: list(count), view, prepared: dict(place), 'last?': lastStatement })),
  txs: list(
    obj({
      id: count,
      session: str,
      pid: int,
      vxid: str,
      'origin?': str,
      segment: int,
      'abortedBy?': str,
      'explicit?': bool,
      'beginSeen?': bool,
      'blockUnknown?': bool,
      status: oneOf('running', 'aborted', 'committing', 'preparing', 'prepared', 'committed', 'failed', 'unknown'),
      view,
      before: view,
      local: dict(str),
      savepoints: list(savepoint),
      units: list(count),
      'multi?': bool,
      dropOnCommit: list(str),
      'gid?': str,
      'commitBy?': count,
      'rollbackBy?': count,
      'crashedAt?': str,
      'ambiguous?': bool,
      'knownRunning?': bool,
    }),
  ),
  pending: list(obj({ ...unitSpec, order: count, tx: count, 'dropped?': bool, textHash: str })),
  prepared: dict(count),
});
const fileMark = obj({
  name: str,
  ino: int,
  fingerprint: nullable(str),
  firstLogTime: nullable(str),
  'partial?': obj({ length: count, hash: str }),
  'markedAt?': time,
  offset: count,
  size: count,
});
const failure = obj({
  seq: seqNo,
  statement: str,
  at: str,
  database: str,
  'sqlState?': str,
  message: str,
  since: time,
  'lockWait?': bool,
  'timedOut?': bool,
  'unreachable?': bool,
});
const target = obj(
  {
    next: seqNo,
    'lastSuccess?': time,
    'lastApplied?': obj({ seq: seqNo, at: str, logTime: str }),
    'failure?': failure,
    'totals?': obj({ applied: count, filtered: count, failedRuns: count, skipped: count }),
  },
  'an object holding "next"',
);

/**
 * What is wrong with a state file's content, or null.
 * @param v the parsed file
 * @param version the format version it says it is in (1 or 2)
 * @param strict whether a key the format does not declare is wrong too
 */
export function checkStateShape(v: unknown, version: 1 | 2, strict = false): string | null {
  return obj({
    version: is((x) => x === version, `${version}`),
    'primary?': obj({ logDir: str, 'systemId?': str }),
    'log?': obj({ files: list(fileMark), 'listedAt?': time, judge: version === 1 ? judgeV1 : judgeV2 }),
    'gaps?': list(obj({ file: str, offset: count, size: count, problem: str, foundAt: time })),
    journal: obj({ nextSeq: seqNo, entries: list(obj({ seq: seqNo, ...unitSpec })) }, 'an object holding "nextSeq" and "entries"'),
    targets: dict(target),
    'lastRun?': time,
  })(v, '', strict);
}
