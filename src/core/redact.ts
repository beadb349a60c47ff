/**
 * Redaction: statements as the tool shows them (dry-run listings, its log, its state). The statement
 * sent to a target is never redacted; only what people and files see.
 *
 * Hidden: the string after a `PASSWORD` word (`CREATE ROLE … PASSWORD '…'`, user mapping and server
 * `OPTIONS (password '…')`), and `password=…` inside any string (a conninfo, as in
 * `CREATE SUBSCRIPTION … CONNECTION '…'`).
 */

export const MASK = '********';

/** The statement with every password it holds replaced by MASK. */
export function redact(sql: string): string {
  let out = '';
  let copied = 0;
  let i = 0;
  let afterPassword = false;
  const n = sql.length;
  const emit = (from: number, to: number, replacement: string): void => {
    out += sql.slice(copied, from) + replacement;
    copied = to;
  };
  while (i < n) {
    const c = sql[i];
    if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? n : nl + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const close = sql.indexOf('*/', i + 2);
      i = close < 0 ? n : close + 2;
    } else if (c === "'" || (c === '$' && dollarTag(sql, i) !== null)) {
      const [bodyStart, bodyEnd, end] = literalBounds(sql, i);
      if (afterPassword) {
        emit(bodyStart, bodyEnd, MASK);
      } else {
        const body = sql.slice(bodyStart, bodyEnd);
        const masked = body.replace(/(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s']+)/gi, `$1${MASK}`);
        if (masked !== body) emit(bodyStart, bodyEnd, masked);
      }
      afterPassword = false;
      i = end;
    } else if (c === '"') {
      const close = sql.indexOf('"', i + 1);
      i = close < 0 ? n : close + 1;
      afterPassword = false;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_$]/.test(sql[j])) j++;
      const word = sql.slice(i, j).toLowerCase();
      // E'…' strings: the E is a prefix, not a word; keep the PASSWORD flag across it.
      if (!(word === 'e' && sql[j] === "'")) afterPassword = word === 'password';
      i = j;
    } else {
      if (!/\s/.test(c)) afterPassword = false;
      i++;
    }
  }
  return out + sql.slice(copied);
}

/** [body start, body end, end] of the literal ('…' or $tag$…$tag$) at i. */
function literalBounds(sql: string, i: number): [number, number, number] {
  if (sql[i] === "'") {
    const backslash = i > 0 && (sql[i - 1] === 'E' || sql[i - 1] === 'e');
    let j = i + 1;
    while (j < sql.length) {
      if (backslash && sql[j] === '\\') j += 2;
      else if (sql[j] === "'" && sql[j + 1] === "'") j += 2;
      else if (sql[j] === "'") return [i + 1, j, j + 1];
      else j++;
    }
    return [i + 1, sql.length, sql.length];
  }
  const tag = dollarTag(sql, i) as string;
  const close = sql.indexOf(tag, i + tag.length);
  if (close < 0) return [i + tag.length, sql.length, sql.length];
  return [i + tag.length, close, close + tag.length];
}

function dollarTag(sql: string, i: number): string | null {
  const m = /^\$([A-Za-z_][A-Za-z_0-9]*)?\$/.exec(sql.slice(i, i + 64));
  return m ? m[0] : null;
}
