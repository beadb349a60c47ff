import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MASK, isPasswordOption, maskDefinition, redact } from '../../src/core/redact';

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
    [
      "CREATE SUBSCRIPTION s CONNECTION 'postgresql://rep:S3cret@db1/app' PUBLICATION p",
      `CREATE SUBSCRIPTION s CONNECTION 'postgresql://rep:${MASK}@db1/app' PUBLICATION p`,
    ],
    [
      "CREATE SUBSCRIPTION s CONNECTION 'host=db1 password=''my secret'' user=rep' PUBLICATION p",
      `CREATE SUBSCRIPTION s CONNECTION 'host=db1 password=${MASK} user=rep' PUBLICATION p`,
    ],
    [String.raw`CREATE ROLE r PASSWORD U&'d\0061t\+000061'`, `CREATE ROLE r PASSWORD U&'${MASK}'`],
    ['CREATE USER MAPPING FOR u SERVER s OPTIONS ("password" \'x\', "user" \'bob\')', `CREATE USER MAPPING FOR u SERVER s OPTIONS ("password" '${MASK}', "user" 'bob')`],
    ["CREATE SERVER f FOREIGN DATA WRAPPER w OPTIONS (dsn 'postgresql://db1:5432/app')", "CREATE SERVER f FOREIGN DATA WRAPPER w OPTIONS (dsn 'postgresql://db1:5432/app')"],
    ['CREATE ROLE r PASSWORD NULL', 'CREATE ROLE r PASSWORD NULL'],
    ["COMMENT ON TABLE password IS 'not a secret'", "COMMENT ON TABLE password IS 'not a secret'"],
    ["CREATE TABLE t (\"password\" text DEFAULT 'x')", "CREATE TABLE t (\"password\" text DEFAULT 'x')"],
  ];
  for (const [input, want] of cases) {
    it(input, () => assert.equal(redact(input), want));
  }
});

describe('isPasswordOption', () => {
  it('takes any key holding password or passwd, in any case, whatever the value', () => {
    for (const e of ['password=x', 'PASSWORD=lo, ng', 'ssl_key_password=x', 'passwd=', 'Passwd=a=b']) assert.ok(isPasswordOption(e), e);
    for (const e of ['user=password', 'host=h', 'pass=x', 'passwords_file_note']) assert.equal(isPasswordOption(e), e === 'passwords_file_note', e);
  });
});

describe('maskDefinition', () => {
  it("masks passwords in SQL's literals, leaves an option list the reader masked as it is", () => {
    assert.equal(maskDefinition(`options (password=${MASK}, user=r)`, 'user mapping'), `options (password=${MASK}, user=r)`);
    assert.equal(
      maskDefinition("CREATE VIEW v AS SELECT dblink('host=h password=s3cret', 'q')", 'view'),
      `CREATE VIEW v AS SELECT dblink('host=h password=${MASK}', 'q')`,
    );
    assert.equal(maskDefinition('the password=s3cret of it', 'comment'), `the password=${MASK} of it`);
  });
});
