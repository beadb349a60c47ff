/**
 * The scanner, with the WebAssembly scan and without it (PG_DDL_SYNC_NO_WASM=1), agrees with
 * scanInto and classifyInto on every record: on logs written by real servers, on hand-made edge cases,
 * and on bytes mutated at random; and the module shipped is what csvScan.wat compiles to.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { CLASS_SLOT, COUNT_SLOT, FIELD_ROOM, scanInto } from '../../src/core/csvRecord';
import { ChunkScanner } from '../../src/core/csvScan';
import { CAPTURE, classifyInto } from '../../src/core/recordClass';
import { fixturesOf } from '../helpers/fixtures';
import { SCAN_PATHS } from '../helpers/scanPaths';

const ROOT = path.resolve(__dirname, '..', '..', '..');

for (const { name, noWasm } of SCAN_PATHS) {
  const scanner = new ChunkScanner(1 << 20, { wasm: !noWasm });

  /** Scans `bytes` at `pos` with the scanner and with scanInto; asserts they agree, and returns the answer. */
  function agree(bytes: Buffer, pos: number, where: string): number {
    // What lies past `bytes` in the chunk must not matter.
    scanner.chunk.fill(0x22, bytes.length, bytes.length + 64);
    bytes.copy(scanner.chunk);
    const fast = scanner.scan(pos, bytes.length);
    const fields = new Int32Array(FIELD_ROOM);
    const slow = scanInto(bytes, pos, fields);
    assert.equal(fast, slow, where);
    if (slow >= 0) {
      classifyInto(bytes, fields);
      const written = (f: Int32Array): number[] => [...f.subarray(0, 2 * fields[COUNT_SLOT]), ...f.subarray(COUNT_SLOT, FIELD_ROOM)];
      assert.deepEqual(written(scanner.fields), written(fields), where);
    }
    return slow;
  }

  /** Every record of `bytes`, scanned both ways from its start. */
  function agreeOnAll(bytes: Buffer, name: string): number {
    let records = 0;
    for (let pos = 0; pos < bytes.length; ) {
      const end = agree(bytes, pos, `${name} at ${pos}`);
      if (end < 0) break;
      records++;
      pos = end;
    }
    return records;
  }

  describe(`the record scan, with ${name}`, () => {
    it('is what csvScan.wat compiles to', async () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { compile, OUT } = require(path.join(ROOT, 'scripts', 'build-wasm.js')) as { compile: () => Promise<string>; OUT: string };
      assert.equal(fs.readFileSync(OUT, 'utf8'), await compile(), 'src/core/csvScanWasm.ts is out of date: npm run build:wasm');
    });

    for (const file of [...fixturesOf('all'), ...fixturesOf('ddl')]) {
      it(`${path.basename(file)}: agrees with scanInto on every record, and on every cut of the file`, () => {
        const bytes = fs.readFileSync(file);
        assert.ok(agreeOnAll(bytes, file) > 20);
        for (let cut = 0; cut < bytes.length; cut += 97) agreeOnAll(bytes.subarray(0, cut), `${file} cut at ${cut}`);
      });
    }

    it('agrees on hand-made edge cases: quotes, newlines, column counts, damage', () => {
      const base = '2026-01-01 00:00:00.000 UTC,"u","d",1,"h:1",s.1,1,"idle",2026-01-01 00:00:00 UTC,3/1,0,LOG,00000,"statement: x",,,,,,,,,"psql"';
      const cases = [
        base, `${base},"client backend"`, `${base},"client backend",,0`, `${base},"a",,0,1`, base.split(',').slice(0, 22).join(','),
        `${base},"b","c","d","e"`, base.replace('"statement: x"', '"statement: ""q"" \n; ""\n"'), base.replace('"u"', '""'),
        base.replace('3/1', '3"1'), base.replace('"idle"', '"idle"x'), base.replace('2026-01-01 00', '2026-01-0x 00'),
        base.replace('"statement: x"', '"statement: x""'), 'garbage', '', '2026', base.replace(',LOG,', ',,'),
        ...['"execute <unnamed>: SELECT 1"', '"execute S_1: BEGIN"', '"execute fetch from c: x"', '"execute fetch fro: END"', '"execute x"', '"execute :  ROLLBACK"',
          '"statement:x"', '"statement: "', '"disconnection: session time"', ',', '"stat"',
          // Names that may end at another ": ", and `fetch from` that may be a name's.
          '"execute x: SELECT 1 --: CREATE TABLE t()"', '"execute a: b: c"', '"execute x: BEGIN: "', '"execute x: : "', '"execute x:: y"',
          '"execute fetch from c: SELECT 1"', '"execute fetch from c: CREATE TABLE t()"', '"execute fetch from c: SELECT 1: 2"', '"execute fetch from c: BEGIN"',
        ].map((m) => base.replace('"statement: x"', m)),
        // Capture records (core/capture), with the context and query RAISE LOG writes, and without.
        ...['"pg-ddl-sync capture 1 sha256 ab {}"', '"pg-ddl-sync capture 1 "', '"pg-ddl-sync capture 1"', '"pg-ddl-sync capture 2 x"', '"xpg-ddl-sync capture 1 x"', 'pg-ddl-sync capture 1 x'].flatMap((m) => [
          base.replace('"statement: x",,,,,,,,,', `${m},,,,,"PL/pgSQL function f() line 3 at RAISE","SELECT mk();",,,`),
          base.replace('"statement: x"', m),
        ]),
        ...['6b05ea17.d3c', '6B05EA17.d3c', 'abc.', '.1', 'ffffffffffff.1', 'fffffffff.1', '1.400000', '1.3fffff', '1.2.3', '', 'x'].map((id) => base.replace(',s.1,', `,${id},`)),
        ...['ERROR', 'LOGX', 'LO', 'log', 'FATAL'].map((sev) => base.replace(',LOG,', `,${sev},`)),
        ...['', '3/', '/1', '3/x', '134217728/1', '134217727/1', '3/4294967296', '3/4294967295', '3/0', '3//1'].map((v) => base.replace(',3/1,', `,${v},`)),
        // A `;` at every place of a text up to forty bytes long, alone at its end or not: what the
        // scan's search finds sixteen bytes a step and then one a step, against a loop.
        ...Array.from({ length: 40 }, (_, n) => [`DELETE FROM t${' '.repeat(n)};`, `DELETE FROM t${' '.repeat(n)}; x`, `DELETE FROM t${' '.repeat(n)};;`, `SELECT 1${' '.repeat(n)};`]).flat()
          .map((text) => base.replace('"statement: x"', `"statement: ${text}"`)),
      ];
      for (const text of cases) {
        for (const tail of ['\n', '', '\n\n', `\n${base}\n`]) agreeOnAll(Buffer.from(text + tail), JSON.stringify(text + tail));
      }
    });

    it("classes a capture record as one, the trigger's or a forgery", () => {
      const base = '2026-01-01 00:00:00.000 UTC,"u","d",1,"h:1",s.1,1,"SELECT",2026-01-01 00:00:00 UTC,3/1,0,LOG,00000,"pg-ddl-sync capture 1 sha256 ab {}",,,,,"PL/pgSQL function f() line 3 at RAISE","SELECT mk();",,,"psql"\n';
      for (const text of [base, base.replace(',,,,,"PL/pgSQL function f() line 3 at RAISE","SELECT mk();",,,', ',,,,,,,,,')]) {
        agree(Buffer.from(text), 0, text);
        assert.equal(scanner.fields[CLASS_SLOT], CAPTURE, text);
      }
    });

    it('agrees on real records with bytes changed at random', () => {
      const bytes = fs.readFileSync(fixturesOf('all')[0]);
      const alphabet = Buffer.from('",\n\r x0123456789-:. ');
      let seed = 7;
      const next = (n: number): number => {
        seed = (seed * 1103515245 + 12345) >>> 0;
        return seed % n;
      };
      for (let round = 0; round < 3000; round++) {
        const copy = Buffer.from(bytes.subarray(0, 2000));
        for (let k = 1 + next(4); k > 0; k--) copy[next(copy.length)] = alphabet[next(alphabet.length)];
        agreeOnAll(copy, `round ${round}`);
      }
    });
  });
}
