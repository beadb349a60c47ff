/**
 * The reader scans records with WebAssembly (csvScan.wat), or with scanInto alone where
 * PG_DDL_SYNC_NO_WASM=1. Tests of what is read run both ways, so that the two stay equal.
 */
import { after, before, describe } from 'node:test';

export const SCAN_PATHS = [
  { name: 'the WebAssembly scan', noWasm: false },
  { name: 'PG_DDL_SYNC_NO_WASM=1', noWasm: true },
] as const;

/** Sets or clears PG_DDL_SYNC_NO_WASM for what runs next. */
export function useScan(noWasm: boolean): void {
  if (noWasm) process.env.PG_DDL_SYNC_NO_WASM = '1';
  else delete process.env.PG_DDL_SYNC_NO_WASM;
}

/** Declares the tests of `body` once for each scan path. */
export function forEachScan(body: () => void): void {
  for (const { name, noWasm } of SCAN_PATHS) {
    describe(`read with ${name}`, () => {
      before(() => useScan(noWasm));
      after(() => useScan(false));
      body();
    });
  }
}
