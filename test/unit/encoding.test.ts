import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EncodingError, decoderFor, formBytes, judgeForm } from '../../src/core/encoding';

const decode = (encoding: string, bytes: number[] | Buffer): string => decoderFor(encoding)!(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes));

describe('decoderFor', () => {
  it('reads UTF8 strictly', () => {
    assert.equal(decode('UTF8', Buffer.from('CREATE TABLE "café" ()')), 'CREATE TABLE "café" ()');
    assert.throws(() => decode('UTF8', [0x63, 0x61, 0x66, 0xe9]), EncodingError);
  });

  it('reads LATIN1 as ISO 8859-1, C1 controls included (not as windows-1252)', () => {
    assert.equal(decode('LATIN1', [0x63, 0x61, 0x66, 0xe9]), 'café');
    assert.equal(decode('latin1', [0x80, 0x9f]), '\u0080\u009f');
  });

  it('reads LATIN5 as ISO 8859-9', () => {
    assert.equal(decode('LATIN5', [0x80, 0xdd, 0xfe, 0x41]), '\u0080İşA');
  });

  it('reads EUC_CN', () => {
    // 表格 in EUC-CN (GB 2312).
    assert.equal(decode('EUC_CN', [0xb1, 0xed, 0xb8, 0xf1]), '表格');
    assert.throws(() => decode('EUC_CN', [0xb1]), EncodingError);
  });

  it('reads the other single-byte encodings PostgreSQL servers use', () => {
    assert.equal(decode('WIN1251', [0xcf, 0xf0, 0xe8]), 'При');
    assert.equal(decode('KOI8R', [0xf0, 0xd2, 0xc9]), 'При');
    assert.equal(decode('LATIN2', [0xb1]), 'ą');
    assert.equal(decode('EUC_KR', [0xc7, 0xd1]), '한');
    assert.equal(decode('EUC_JP', [0xc6, 0xfc]), '日');
  });

  it('refuses bytes above 0x7f in SQL_ASCII, whose meaning is unknown', () => {
    assert.equal(decode('SQL_ASCII', Buffer.from('CREATE TABLE t ()')), 'CREATE TABLE t ()');
    assert.throws(() => decode('SQL_ASCII', [0x41, 0xc3, 0xa9]), /byte 0xc3 at 1/);
  });

  it('has no decoder for encodings Node cannot read', () => {
    for (const e of ['EUC_TW', 'MULE_INTERNAL', 'EUC_JIS_2004', 'LATIN10']) assert.equal(decoderFor(e), null, e);
  });
});

describe('judgeForm', () => {
  it('is the UTF-8 text when the bytes are UTF-8, and gives them back', () => {
    const bytes = Buffer.from('CREATE TABLE "таблица_表" (a text DEFAULT \'\u00a0\')');
    assert.equal(judgeForm(bytes), bytes.toString('utf8'));
    assert.deepEqual(formBytes(judgeForm(bytes)), bytes);
  });

  it('keeps bytes that are not UTF-8 one character a byte, each apart, ASCII as it is', () => {
    const e9 = Buffer.from('DROP TABLE "tmp_\xe9"', 'latin1');
    const e8 = Buffer.from('DROP TABLE "tmp_\xe8"', 'latin1');
    assert.notEqual(judgeForm(e9), judgeForm(e8));
    assert.ok(judgeForm(e9).startsWith('DROP TABLE "tmp_'));
    assert.equal(judgeForm(e9).length, e9.length);
    assert.deepEqual(formBytes(judgeForm(e9)), e9);
    // EUC_CN: two names of the same length, other bytes.
    const a = Buffer.from([0xc1, 0xd9, 0xca, 0xb1]);
    const b = Buffer.from([0xd3, 0xc0, 0xbe, 0xc3]);
    assert.notEqual(judgeForm(a), judgeForm(b));
    assert.deepEqual(formBytes(judgeForm(b)), b);
  });

  it('UTF-8 text that holds the private characters it uses is kept one character a byte too', () => {
    const bytes = Buffer.from('COMMENT ON TABLE t IS \'\uf7a0\'');
    assert.notEqual(judgeForm(bytes), bytes.toString('utf8'));
    assert.deepEqual(formBytes(judgeForm(bytes)), bytes);
  });
});
