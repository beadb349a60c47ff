import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MASK, redact } from '../../src/core/redact';

describe('redact', () => {
  const cases: [string, string][] = [
    ["CREATE ROLE r PASSWORD 'se''cret'", `CREATE ROLE r PASSWORD '${MASK}'`],
    ["ALTER USER r WITH ENCRYPTED password 'x' VALID UNTIL 'infinity'", `ALTER USER r WITH ENCRYPTED password '${MASK}' VALID UNTIL 'infinity'`],
    ["alter role r password E'a\\'b'", `alter role r password E'${MASK}'`],
    ['CREATE ROLE r PASSWORD $p$x$p$', `CREATE ROLE r PASSWORD $p$${MASK}$p$`],
    [
      "CREATE USER MAPPING FOR u SERVER s OPTIONS (user 'bob', password 'pw')",
      `CREATE USER MAPPING FOR u SERVER s OPTIONS (user 'bob', password '${MASK}')`,
    ],
    [
      "CREATE SUBSCRIPTION s CONNECTION 'host=h password=pw dbname=d' PUBLICATION p",
      `CREATE SUBSCRIPTION s CONNECTION 'host=h password=${MASK} dbname=d' PUBLICATION p`,
    ],
    ['CREATE ROLE r PASSWORD NULL', 'CREATE ROLE r PASSWORD NULL'],
    ["COMMENT ON TABLE password IS 'not a secret'", "COMMENT ON TABLE password IS 'not a secret'"],
    ["CREATE TABLE t (\"password\" text DEFAULT 'x')", "CREATE TABLE t (\"password\" text DEFAULT 'x')"],
  ];
  for (const [input, want] of cases) {
    it(input, () => assert.equal(redact(input), want));
  }
});
