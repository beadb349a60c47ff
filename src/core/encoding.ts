/**
 * Statement bytes in a database's encoding, as text. The csvlog holds each statement in the encoding
 * of the database it ran in (one file can hold several); the targets are sent Unicode with
 * client_encoding UTF8 and convert it back, so a statement reaches a target database of the same
 * encoding byte for byte. Bytes that are not valid in the encoding are an error, never guessed at.
 */

/** Decodes bytes of one encoding; throws an EncodingError where they are not valid in it. */
export type Decoder = (bytes: Buffer) => string;

export class EncodingError extends Error {}

/** PostgreSQL server encodings that Node decodes (WHATWG names), beside UTF8, SQL_ASCII and LATIN1. */
const WHATWG: Record<string, string> = {
  LATIN2: 'iso-8859-2',
  LATIN3: 'iso-8859-3',
  LATIN4: 'iso-8859-4',
  LATIN6: 'iso-8859-10',
  LATIN7: 'iso-8859-13',
  LATIN8: 'iso-8859-14',
  LATIN9: 'iso-8859-15',
  ISO_8859_5: 'iso-8859-5',
  ISO_8859_6: 'iso-8859-6',
  ISO_8859_7: 'iso-8859-7',
  ISO_8859_8: 'iso-8859-8',
  KOI8R: 'koi8-r',
  KOI8U: 'koi8-u',
  WIN866: 'ibm866',
  WIN874: 'windows-874',
  WIN1250: 'windows-1250',
  WIN1251: 'windows-1251',
  WIN1252: 'windows-1252',
  WIN1253: 'windows-1253',
  WIN1254: 'windows-1254',
  WIN1255: 'windows-1255',
  WIN1256: 'windows-1256',
  WIN1257: 'windows-1257',
  WIN1258: 'windows-1258',
  // GBK is a superset of EUC-CN's byte pairs, with the same characters.
  EUC_CN: 'gbk',
  EUC_JP: 'euc-jp',
  EUC_KR: 'euc-kr',
};

/**
 * The decoder for a PostgreSQL server encoding (as `SHOW server_encoding` names it), or null for one
 * this tool cannot decode (EUC_TW, EUC_JIS_2004, MULE_INTERNAL, LATIN10). Each call makes one: keep it.
 */
export function decoderFor(encoding: string): Decoder | null {
  return makeDecoder(encoding.toUpperCase());
}

function makeDecoder(name: string): Decoder | null {
  switch (name) {
    case 'UTF8':
      return strict('utf-8');
    case 'SQL_ASCII':
      // SQL_ASCII stores bytes with no encoding at all: only ASCII has a meaning that can be sent.
      return (bytes) => {
        const at = bytes.findIndex((b) => b > 0x7f);
        if (at >= 0) throw new EncodingError(`byte 0x${bytes[at].toString(16)} at ${at}: SQL_ASCII gives bytes above 0x7f no meaning`);
        return bytes.toString('latin1');
      };
    case 'LATIN1':
      // Not TextDecoder: WHATWG reads "latin1" as windows-1252, which differs at 0x80-0x9f.
      return (bytes) => bytes.toString('latin1');
    case 'LATIN5':
      return withC1Controls(strict('windows-1254'));
    default: {
      const label = WHATWG[name];
      return label ? strict(label) : null;
    }
  }
}

function strict(label: string): Decoder {
  const decoder = new TextDecoder(label, { fatal: true });
  return (bytes) => {
    try {
      return decoder.decode(bytes);
    } catch {
      throw new EncodingError('an invalid byte sequence');
    }
  };
}

/** ISO 8859-9 is windows-1254 but for 0x80-0x9f, which are the C1 controls in ISO 8859. */
function withC1Controls(decode: Decoder): Decoder {
  return (bytes) => {
    let out = '';
    let from = 0;
    for (let i = 0; i <= bytes.length; i++) {
      if (i < bytes.length && (bytes[i] < 0x80 || bytes[i] > 0x9f)) continue;
      out += decode(bytes.subarray(from, i));
      if (i < bytes.length) out += String.fromCharCode(bytes[i]);
      from = i + 1;
    }
    return out;
  };
}

/**
 * A record's bytes as the judge reads them, before its database's encoding is known: UTF-8 text
 * when the bytes are valid UTF-8 (most databases), else one character a byte, each byte above 0x7f
 * as a private-use character (U+F780 to U+F7FF). Either way distinct bytes stay distinct and the
 * ASCII that gives a statement its shape stays ASCII (every server encoding is ASCII-safe), so it
 * splits, parses and compares as the statement does; and `formBytes` gives the bytes back.
 */
export function judgeForm(bytes: Buffer): string {
  try {
    const text = UTF8_STRICT.decode(bytes);
    if (!PRIVATE_BYTES.test(text)) return text;
  } catch {
    // not UTF-8: one character a byte
  }
  let out = '';
  for (let from = 0; from < bytes.length; ) {
    let to = from;
    while (to < bytes.length && bytes[to] < 0x80) to++;
    out += bytes.toString('latin1', from, to);
    if (to < bytes.length) out += String.fromCharCode(0xf700 + bytes[to++]);
    from = to;
  }
  return out;
}

/** The bytes a judgeForm text was made from. */
export function formBytes(text: string): Buffer {
  if (!PRIVATE_BYTES.test(text)) return Buffer.from(text, 'utf8');
  const out = Buffer.alloc(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out[i] = c >= 0xf780 && c <= 0xf7ff ? c - 0xf700 : c;
  }
  return out;
}

const UTF8_STRICT = new TextDecoder('utf-8', { fatal: true });
const PRIVATE_BYTES = /[\uf780-\uf7ff]/;
