/**
 * The state file's shape, checked field by field as it is read: a field of the wrong kind is one line
 * naming its key path (`key "journal.entries[3].offset" must be …`), never a crash further on.
 *
 * Booleans of the judge's own records may be absent (false): files written before they existed.
 * Keys not known here are let through: they are the business of a newer format version.
 */

/** What is wrong with `v` at key path `at`, or null. */
type Check = (v: unknown, at: string) => string | null;

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
  return (v, at) => (v === null ? null : c(v, at));
}

function oneOf(...values: string[]): Check {
  return is((v) => values.includes(v as string), `one of ${values.join(', ')}`);
}

function list(c: Check): Check {
  return (v, at) => {
    if (!Array.isArray(v)) return must(at, 'an array');
    for (const [i, x] of v.entries()) {
      const p = c(x, `${at}[${i}]`);
      if (p) return p;
    }
    return null;
  };
}

function dict(c: Check): Check {
  return (v, at) => {
    if (!isObject(v)) return must(at, 'an object');
    for (const [k, x] of Object.entries(v)) {
      const p = c(x, `${at}.${k}`);
      if (p) return p;
    }
    return null;
  };
}

/** Keys ending in `?` may be absent (undefined). */
function obj(fields: Record<string, Check>, what = 'an object'): Check {
  return (v, at) => {
    if (!isObject(v)) return must(at, what);
    for (const [name, c] of Object.entries(fields)) {
      const optional = name.endsWith('?');
      const key = optional ? name.slice(0, -1) : name;
      const path = at === '' ? key : `${at}.${key}`;
      if (v[key] === undefined) {
        if (optional) continue;
        return `key "${path}" is missing`;
      }
      const p = c(v[key], path);
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
};
const view = obj({ settings: dict(str), temp: list(str) });
const session = obj({
  id: str,
  pid: int,
  'exact?': bool,
  txs: list(count),
  view,
  prepared: dict(place),
  'last?': obj({ tx: count, 'textHash?': str, record: str, 'units?': list(count) }),
});
const tx = obj({
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
  savepoints: list(obj({ name: str, units: count, parts: count, view, local: dict(str) })),
  units: list(count),
  'multi?': bool,
  dropOnCommit: list(str),
  'gid?': str,
  'commitBy?': count,
  'rollbackBy?': count,
  'crashedAt?': str,
  'ambiguous?': bool,
  'knownRunning?': bool,
});
const capture = obj({ xid: str, sub: str, 'status?': oneOf('committed', 'aborted', 'in progress', 'unknown') });
const judge = obj({
  nextOrder: count,
  nextTx: count,
  sessions: list(session),
  txs: list(tx),
  pending: list(obj({ ...unitSpec, order: count, tx: count, 'dropped?': bool, textHash: str, 'captures?': list(capture) })),
  prepared: dict(count),
  'nested?': list(obj({ at: str, fileKey: str, database: str, sessionId: str, logTime: str, tag: str, objects: list(obj({ type: str, action: str })), statement: str })),
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

/** The shape of a state file's content, the version left to the caller. */
export const checkStateShape: (v: unknown) => string | null = (v) =>
  obj({
    'primary?': obj({ logDir: str, 'systemId?': str }),
    'log?': obj({ files: list(fileMark), 'listedAt?': time, judge }),
    'gaps?': list(obj({ file: str, offset: count, size: count, problem: str, foundAt: time })),
    journal: obj({ nextSeq: seqNo, entries: list(obj({ seq: seqNo, ...unitSpec })) }, 'an object holding "nextSeq" and "entries"'),
    targets: dict(target),
    'lastRun?': time,
  })(v, '');
