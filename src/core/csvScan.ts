/**
 * A chunk of csvlog and the scan of its records. The field bounds are found by csvScan.wat (compiled
 * into csvScanWasm.ts) where it accepts a record whole, else by scanInto, which also says why a record
 * is none; either way the record's class is written by classifyInto. With the WebAssembly scan, the
 * chunk lives in its memory, so that a file is read straight into the place it is scanned in.
 */
import { COUNT_SLOT, FIELD_ROOM, NEWEST_COLUMN_COUNT, isColumnCount, scanInto } from './csvRecord';
import { CSV_SCAN_WASM } from './csvScanWasm';
import type { FindByte } from './plainText';
import { classifyInto } from './recordClass';

// Node has WebAssembly; TypeScript declares it only with the DOM library, which this project leaves out.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmGlobal {
  readonly value: number;
}
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: { env: Record<string, WasmMemory | WasmGlobal> }) => { exports: { scan(pos: number, len: number): number; find(byte: number, from: number, to: number): number } };
  Memory: new (size: { initial: number }) => WasmMemory;
  Global: new (type: { value: 'i32' }, value: number) => WasmGlobal;
};

/**
 * The module's memory: the field bounds as scanInto writes them (FIELD_ROOM words from 0), then the
 * chunk, from a multiple of 64 bytes. The module is given these offsets, never has its own.
 */
const CHUNK_AT = Math.ceil((FIELD_ROOM * 4) / 64) * 64;
const PAGE = 64 * 1024;

export interface ScannerOptions {
  /** False: scanInto alone, no WebAssembly (PG_DDL_SYNC_NO_WASM=1; the tests read both ways). */
  wasm?: boolean;
}

export class ChunkScanner {
  /** The chunk: read into it, then scan records of its first bytes. Replaced when it grows. */
  chunk!: Buffer;
  /** The field bounds and class of the record scanned last, laid out as scanInto and classifyInto write them. */
  fields!: Int32Array;
  private readonly memory: WasmMemory | null;
  private readonly scanWasm: ((pos: number, len: number) => number) | null;
  /** The WebAssembly search for a byte, which classifyInto hands to plainKind. */
  private readonly find: FindByte | undefined;

  /** @param capacity the chunk's size in bytes */
  constructor(capacity: number, opts: ScannerOptions = {}) {
    if (opts.wasm === false) {
      this.memory = null;
      this.scanWasm = null;
      this.find = undefined;
      this.chunk = Buffer.alloc(capacity);
      this.fields = new Int32Array(FIELD_ROOM);
      return;
    }
    this.memory = new WebAssembly.Memory({ initial: Math.ceil((CHUNK_AT + capacity) / PAGE) });
    const i32 = (value: number): WasmGlobal => new WebAssembly.Global({ value: 'i32' }, value);
    const env = { memory: this.memory, chunkAt: i32(CHUNK_AT), countAt: i32(COUNT_SLOT * 4), maxFields: i32(NEWEST_COLUMN_COUNT) };
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(CSV_SCAN_WASM, 'base64')), { env });
    this.scanWasm = exports.scan;
    this.find = exports.find;
    this.grow(capacity);
  }

  get capacity(): number {
    return this.chunk.length;
  }

  /**
   * Makes the chunk at least `capacity` bytes, keeping what it holds. Where it must grow (a record
   * larger than the chunk), `chunk` and `fields` are replaced: take them again.
   */
  grow(capacity: number): void {
    if (this.memory === null) {
      if (capacity <= this.chunk.length) return;
      const chunk = Buffer.alloc(capacity);
      this.chunk.copy(chunk);
      this.chunk = chunk;
      return;
    }
    const need = CHUNK_AT + capacity;
    if (need > this.memory.buffer.byteLength) this.memory.grow(Math.ceil((need - this.memory.buffer.byteLength) / PAGE));
    // Growing memory detaches the views made before.
    this.chunk = Buffer.from(this.memory.buffer, CHUNK_AT, capacity);
    this.fields = new Int32Array(this.memory.buffer, 0, FIELD_ROOM);
  }

  /**
   * Scans the record at `pos` of the chunk's first `len` bytes into `fields`, with its class
   * (recordClass): what scanInto returns (its end, or a negative code).
   */
  scan(pos: number, len: number): number {
    const fast = this.scanWasm === null ? -1 : this.scanWasm(pos, len);
    const end = fast >= 0 && isColumnCount(this.fields[COUNT_SLOT]) ? fast : scanInto(this.chunk, pos, this.fields, len);
    if (end >= 0) classifyInto(this.chunk, this.fields, this.find);
    return end;
  }
}
