import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MASK, isSecretKey, isSecretOption, maskDefinition, maskInString, maskMessage, redact, redactSpans } from '../../src/core/redact';

/** Each case: the statement, and it as shown. */
function cases(list: [string, string][]): void {
  for (const [input, want] of list) it(input, () => assert.equal(redact(input), want));
}

describe('redact', () => {
  describe('roles and the statements it had masked before', () => {
    cases([
      ["CREATE ROLE r PASSWORD 'se''cret'", `CREATE ROLE r PASSWORD '${MASK}'`],
      ["ALTER USER r WITH ENCRYPTED password 'x' VALID UNTIL 'infinity'", `ALTER USER r WITH ENCRYPTED password '${MASK}' VALID UNTIL 'infinity'`],
      ["alter role r password E'a\\'b'", `alter role r password E'${MASK}'`],
      ['CREATE ROLE r PASSWORD $p$x$p$', `CREATE ROLE r PASSWORD $p$${MASK}$p$`],
      ['CREATE ROLE r PASSWORD $é$x$é$', `CREATE ROLE r PASSWORD $é$${MASK}$é$`],
      [`CREATE ROLE r PASSWORD $${'t'.repeat(300)}$x$${'t'.repeat(300)}$`, `CREATE ROLE r PASSWORD $${'t'.repeat(300)}$${MASK}$${'t'.repeat(300)}$`],
      [`CREATE ROLE r PASSWORD 'a'${' '.repeat(5000)}\n'b'`, `CREATE ROLE r PASSWORD '${MASK}'${' '.repeat(5000)}\n'${MASK}'`],
      ['CREATE ROLE r PASSWORD /* why */ \'x\'', `CREATE ROLE r PASSWORD /* why */ '${MASK}'`],
      [String.raw`CREATE ROLE r PASSWORD U&'d\0061t\+000061'`, `CREATE ROLE r PASSWORD U&'${MASK}'`],
      ["CREATE ROLE r PASSWORD 'ab'\n  'cd' LOGIN", `CREATE ROLE r PASSWORD '${MASK}'\n  '${MASK}' LOGIN`],
      ["CREATE ROLE r PASSWORD N'x'", `CREATE ROLE r PASSWORD N'${MASK}'`],
      ['CREATE ROLE r PASSWORD NULL', 'CREATE ROLE r PASSWORD NULL'],
      ["COMMENT ON TABLE password IS 'not a secret'", "COMMENT ON TABLE password IS 'not a secret'"],
      ["CREATE TABLE t (\"password\" text DEFAULT 'x', token text CHECK (token <> ''))", "CREATE TABLE t (\"password\" text DEFAULT 'x', token text CHECK (token <> ''))"],
    ]);
  });

  describe('options of servers, user mappings and wrappers', () => {
    cases([
      [
        "CREATE USER MAPPING FOR u SERVER s OPTIONS (user 'bob', password 'pw')",
        `CREATE USER MAPPING FOR u SERVER s OPTIONS (user 'bob', password '${MASK}')`,
      ],
      [
        "CREATE USER MAPPING FOR u SERVER s OPTIONS (user 'bob', passwd 'pw', sslpassword 'kp', ssl_key_password 'k2', password_required 'false')",
        `CREATE USER MAPPING FOR u SERVER s OPTIONS (user 'bob', passwd '${MASK}', sslpassword '${MASK}', ssl_key_password '${MASK}', password_required 'false')`,
      ],
      [
        "ALTER USER MAPPING FOR u SERVER s OPTIONS (SET password 'a', ADD \"Passwd\" 'b', DROP user)",
        `ALTER USER MAPPING FOR u SERVER s OPTIONS (SET password '${MASK}', ADD "Passwd" '${MASK}', DROP user)`,
      ],
      [
        "CREATE SERVER m FOREIGN DATA WRAPPER mysql_fdw OPTIONS (host 'h', ssl_key '/k.pem', sslkey '/k2', passfile '/p', secret 'a', token 'b', api_key 'c', aws_secret_access_key 'd', private_key 'e', pem_pwd 'f', bindpw 'g', oauth_client_secret 'h', credentials 'i', tokenizer 'j')",
        `CREATE SERVER m FOREIGN DATA WRAPPER mysql_fdw OPTIONS (host 'h', ssl_key '/k.pem', sslkey '/k2', passfile '/p', secret '${MASK}', token '${MASK}', api_key '${MASK}', aws_secret_access_key '${MASK}', private_key '${MASK}', pem_pwd '${MASK}', bindpw '${MASK}', oauth_client_secret '${MASK}', credentials '${MASK}', tokenizer 'j')`,
      ],
      ['CREATE USER MAPPING FOR u SERVER s OPTIONS ("password" \'x\', "user" \'bob\')', `CREATE USER MAPPING FOR u SERVER s OPTIONS ("password" '${MASK}', "user" 'bob')`],
      [String.raw`CREATE USER MAPPING FOR u SERVER s OPTIONS (U&"pass\0077ord" 'x')`, String.raw`CREATE USER MAPPING FOR u SERVER s OPTIONS (U&"pass\0077ord" '${MASK}')`],
      ["CREATE SERVER f FOREIGN DATA WRAPPER w OPTIONS (dsn 'postgresql://db1:5432/app')", "CREATE SERVER f FOREIGN DATA WRAPPER w OPTIONS (dsn 'postgresql://db1:5432/app')"],
    ]);
  });

  describe('secrets inside literals', () => {
    cases([
      ["CREATE SUBSCRIPTION s CONNECTION 'host=h password=pw dbname=d' PUBLICATION p", `CREATE SUBSCRIPTION s CONNECTION 'host=h password=${MASK} dbname=d' PUBLICATION p`],
      ["ALTER SUBSCRIPTION s CONNECTION 'host=h sslpassword=kp'", `ALTER SUBSCRIPTION s CONNECTION 'host=h sslpassword=${MASK}'`],
      ["CREATE SUBSCRIPTION s CONNECTION 'postgresql://rep:S3cret@db1/app' PUBLICATION p", `CREATE SUBSCRIPTION s CONNECTION 'postgresql://rep:${MASK}@db1/app' PUBLICATION p`],
      ["CREATE SUBSCRIPTION s CONNECTION 'postgresql://rep@db1/app?sslpassword=x&sslmode=require' PUBLICATION p", `CREATE SUBSCRIPTION s CONNECTION 'postgresql://rep@db1/app?sslpassword=${MASK}&sslmode=require' PUBLICATION p`],
      // A doubled quote, an escape or two pieces: the literal is hidden whole.
      ["CREATE SUBSCRIPTION s CONNECTION 'host=db1 password=''my secret'' user=rep' PUBLICATION p", `CREATE SUBSCRIPTION s CONNECTION '${MASK}' PUBLICATION p`],
      ["CREATE SUBSCRIPTION s CONNECTION E'host=h \\x70assword=pw' PUBLICATION p", `CREATE SUBSCRIPTION s CONNECTION E'${MASK}' PUBLICATION p`],
      ["CREATE SUBSCRIPTION s CONNECTION 'host=h password='\n'pw' PUBLICATION p", `CREATE SUBSCRIPTION s CONNECTION '${MASK}'\n'${MASK}' PUBLICATION p`],
      ['CREATE SUBSCRIPTION s CONNECTION $c$host=h password=pw$c$ PUBLICATION p', `CREATE SUBSCRIPTION s CONNECTION $c$host=h password=${MASK}$c$ PUBLICATION p`],
      [String.raw`CREATE SUBSCRIPTION s CONNECTION U&'pass\0077ord=pw' PUBLICATION p`, `CREATE SUBSCRIPTION s CONNECTION U&'${MASK}' PUBLICATION p`],
      [
        "CREATE VIEW v AS SELECT * FROM dblink('host=h password=s3 dbname=d', 'select 1') AS t(a int)",
        `CREATE VIEW v AS SELECT * FROM dblink('host=h password=${MASK} dbname=d', 'select 1') AS t(a int)`,
      ],
      ["CREATE VIEW v AS SELECT dblink_connect('c', 'hostaddr=1.2.3.4 PWD=x')", `CREATE VIEW v AS SELECT dblink_connect('c', 'hostaddr=1.2.3.4 PWD=${MASK}')`],
      ["ALTER SYSTEM SET primary_conninfo = 'host=h password=pw'", `ALTER SYSTEM SET primary_conninfo = 'host=h password=${MASK}'`],
      [`CREATE SERVER s FOREIGN DATA WRAPPER w OPTIONS (config '{"api_key": "k1", "region": "eu"}')`, `CREATE SERVER s FOREIGN DATA WRAPPER w OPTIONS (config '{"api_key": ${MASK}, "region": "eu"}')`],
    ]);
  });

  describe('role and database settings', () => {
    cases([
      ["ALTER ROLE r SET app.api_token = 'x'", `ALTER ROLE r SET app.api_token = '${MASK}'`],
      ['ALTER ROLE r IN DATABASE d SET app.secret TO abc, 12', `ALTER ROLE r IN DATABASE d SET app.secret TO ${MASK}, ${MASK}`],
      ['ALTER DATABASE d SET "app.password" = -5', `ALTER DATABASE d SET "app.password" = -${MASK}`],
      ["ALTER ROLE r SET password_encryption = 'scram-sha-256'", "ALTER ROLE r SET password_encryption = 'scram-sha-256'"],
      ["ALTER ROLE r SET search_path = 'a', b", "ALTER ROLE r SET search_path = 'a', b"],
    ]);
  });

  describe("a literal read otherwise when backslashes escape (standard_conforming_strings off): all after it hidden", () => {
    cases([
      [String.raw`CREATE ROLE r PASSWORD 'ab\'SECRET' LOGIN`, `CREATE ROLE r PASSWORD '${MASK}`],
      [String.raw`COMMENT ON TABLE t IS 'a\'; ALTER ROLE r PASSWORD ''SECRET'' --'`, `COMMENT ON TABLE t IS '${MASK}`],
      [String.raw`CREATE USER MAPPING FOR u SERVER s OPTIONS (user 'a\', password 'SECRET')`, `CREATE USER MAPPING FOR u SERVER s OPTIONS (user '${MASK}`],
      // Read the same both ways: only its place decides.
      [String.raw`CREATE ROLE r PASSWORD 'a\\b' LOGIN`, `CREATE ROLE r PASSWORD '${MASK}' LOGIN`],
      [String.raw`CREATE SUBSCRIPTION s CONNECTION 'host=h \x70assword=pw' PUBLICATION p`, `CREATE SUBSCRIPTION s CONNECTION '${MASK}' PUBLICATION p`],
      [String.raw`COMMENT ON TABLE t IS 'C:\dir'`, String.raw`COMMENT ON TABLE t IS 'C:\dir'`],
    ]);
  });

  describe('comments and names are read as the server reads them', () => {
    cases([
      // Block comments nest: the quote inside is the comment's.
      ["CREATE ROLE r /* /* */ 'a */ PASSWORD 'SECRET'", `CREATE ROLE r /* /* */ 'a */ PASSWORD '${MASK}'`],
      ["CREATE ROLE r -- it's\n PASSWORD 'SECRET'", `CREATE ROLE r -- it's\n PASSWORD '${MASK}'`],
      ["CREATE ROLE \"it's\" PASSWORD 'SECRET'", `CREATE ROLE "it's" PASSWORD '${MASK}'`],
      ["CREATE ROLE r$x PASSWORD 'SECRET'", `CREATE ROLE r$x PASSWORD '${MASK}'`],
    ]);
  });

  it('says what it hid', () => {
    assert.deepEqual(redactSpans("CREATE ROLE r PASSWORD 'pw1' VALID UNTIL 'x'").hidden, ['pw1']);
  });
});

describe('isSecretKey', () => {
  it('takes the names of secrets of libpq, core and common FDWs, in any case', () => {
    for (const k of ['password', 'PASSWORD', 'sslpassword', 'ssl_key_password', 'passwd', 'odbc_PWD', 'pem_pwd', 'bindpw', 'db_pass', 'passphrase',
      'secret', 'client_secret', 'oauth_client_secret', 'aws_secret_access_key', 'aws_session_token', 'token', 'authToken', 'api_key', 'apikey',
      'access_key', 'private_key', 'credentials', 'app.token']) {
      assert.ok(isSecretKey(k), k);
    }
  });
  it('leaves ordinary options alone: paths, flags, columns', () => {
    for (const k of ['user', 'host', 'sslkey', 'ssl_key', 'sslcert', 'passfile', 'password_required', 'password_encryption', 'use_scram_passthrough',
      'key', 'tokenizer', 'keep_connections', 'require_auth', 'dbname', 'table_name', 'singleton_key']) {
      assert.equal(isSecretKey(k), false, k);
    }
  });
  it('takes option elements as the catalogs keep them', () => {
    for (const e of ['password=x', 'PASSWORD=lo, ng', 'ssl_key_password=x', 'passwd=', 'Passwd=a=b', 'sslpassword=x']) assert.ok(isSecretOption(e), e);
    for (const e of ['user=password', 'host=h', 'password_required=false']) assert.equal(isSecretOption(e), false, e);
  });
});

describe('maskInString', () => {
  it('masks conninfo values, quoted or with escapes, to their end', () => {
    assert.equal(maskInString('host=h password=a\\ b user=u'), `host=h password=${MASK}`);
    assert.equal(maskInString("password='a b' user=u"), `password=${MASK} user=u`);
    assert.equal(maskInString('postgres://u:p w@h/db'), `postgres://u:${MASK}@h/db`);
  });
});

describe('maskMessage', () => {
  it("hides in a target's error what the statement's redaction hides", () => {
    const sql = String.raw`CREATE ROLE r PASSWORD 'ab\'SECRET9 LOGIN'`;
    assert.equal(maskMessage('syntax error at or near "SECRET9"', [sql]), `syntax error at or near "${MASK}"`);
    assert.equal(maskMessage('invalid connection option "password=x"', ['SELECT 1']), `invalid connection option "password=${MASK}`);
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
