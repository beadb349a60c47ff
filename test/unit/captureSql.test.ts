import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CAPTURED_SETTINGS } from '../../src/core/capture';
import { captureAlgorithm, captureFunctionSql, capturedSettingsOf } from '../../src/core/captureSql';

/** The function's body with its string literals and comments taken out. */
function bodyCode(versionNum: number): string {
  const sql = captureFunctionSql(versionNum);
  const body = sql.slice(sql.indexOf('$pgds$') + 6, sql.lastIndexOf('$pgds$'));
  // Comments first: their apostrophes open no literal.
  return body.replace(/--[^\n]*/g, '').replace(/'(?:[^']|'')*'/g, "''");
}

describe('capture helper SQL', () => {
  for (const versionNum of [100000, 110000, 150000, 180000]) {
    it(`${versionNum}: no operator and no function is left for search_path to pick`, () => {
      const types = [...bodyCode(versionNum).matchAll(/::\s*([\w.]+)/g)].map((m) => m[1]);
      assert.ok(types.length > 10 && types.every((t) => t.startsWith('pg_catalog.')), types.join(', '));
      const declared = [...bodyCode(versionNum).matchAll(/^\s*v_\w+ ([\w.]+);/gm)].map((m) => m[1]);
      assert.ok(declared.length >= 4 && declared.every((t) => t.startsWith('pg_catalog.')), declared.join(', '));
      const code = bodyCode(versionNum).replace(/OPERATOR\(pg_catalog\.[^)]+\)/g, ' ').replace(/::|:=|ERRCODE =/g, ' ');
      assert.deepEqual(code.match(/[-+*/<>=~!@#%^&|`?]/g), null);
      const calls = [...code.matchAll(/(^|[^.\w])([a-z_][a-z0-9_]*)\s*\(/gi)].map((m) => m[2].toUpperCase());
      // Constructs of the grammar, not functions looked up by name.
      const grammar = new Set(['COALESCE', 'IN', 'AND', 'OR', 'NOT', 'THEN', 'ELSE', 'WHEN', 'FROM', 'SELECT', 'BY']);
      // A variable before a parenthesis is not a call either.
      assert.deepEqual(calls.filter((c) => !grammar.has(c) && !c.startsWith('V_')), []);
    });
  }

  it('sha256 from 11, md5 before', () => {
    assert.equal(captureAlgorithm(100023), 'md5');
    assert.equal(captureAlgorithm(110000), 'sha256');
    assert.match(captureFunctionSql(100000), /pg_catalog\.md5\(/);
    assert.doesNotMatch(captureFunctionSql(100000), /sha256\(/);
  });

  it("each major's settings: those it has", () => {
    assert.ok(capturedSettingsOf(110000).includes('default_with_oids'));
    assert.ok(!capturedSettingsOf(120000).includes('default_with_oids'));
    assert.ok(!capturedSettingsOf(130000).includes('default_toast_compression'));
    assert.ok(capturedSettingsOf(140000).includes('default_toast_compression'));
    assert.equal(capturedSettingsOf(180000).length, CAPTURED_SETTINGS.length - 1);
  });
});
