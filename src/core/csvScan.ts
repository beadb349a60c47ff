/**
 * A chunk of csvlog and the fast scan of its records (csvScan.wat, compiled into csvScanWasm.ts): the
 * chunk lives in the scanner's WebAssembly memory, so that a file is read straight into the place it is
 * scanned in. Where the fast scan does not accept a record whole, scanInto looks at it, and says why.
 */
import * as v8 from 'node:v8';
import { FIELD_ROOM, scanInto } from './csvRecord';
import { CSV_SCAN_WASM } from './csvScanWasm';
import type { PlainKind } from './plainText';
import { PLAIN_CODES, classifyInto } from './recordClass';

interface WasmExports {
  scan(pos: number, len: number): number;
  plain(from: number, to: number): number;
}

// Node has WebAssembly; TypeScript declares it only with the DOM library, which this project leaves out.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: { env: { memory: WasmMemory } }) => { exports: WasmExports };
  Memory: new (size: { initial: number }) => WasmMemory;
};

/** Where the chunk starts in the scanner's memory (the field bounds come first). */
const CHUNK_AT = 1024;
const PAGE = 64 * 1024;

let compiled: object | null = null;

/**
 * Compiles the module with V8's optimizing compiler at once. By default V8 compiles WebAssembly with
 * its baseline compiler first and optimizes a function once it is hot, on another thread: on one core
 * that is the first hundred megabytes read at half speed. The module is small; the flag is V8's at
 * compile time, and is set back at once.
 */
function compileOptimized(bytes: Uint8Array): object {
  v8.setFlagsFromString('--no-liftoff');
  try {
    return new WebAssembly.Module(bytes);
  } finally {
    v8.setFlagsFromString('--liftoff');
  }
}

export class ChunkScanner {
  /** The chunk: read into it, then scan records of its first bytes. Replaced when it grows. */
  chunk!: Buffer;
  /** The field bounds of the record scanned last, laid out as scanInto writes them. */
  fields!: Int32Array;
  private readonly memory: WasmMemory;
  private readonly wasm: WasmExports;

  /** @param capacity the chunk's size in bytes */
  constructor(capacity: number) {
    compiled ??= compileOptimized(Buffer.from(CSV_SCAN_WASM, 'base64'));
    this.memory = new WebAssembly.Memory({ initial: Math.ceil((CHUNK_AT + capacity) / PAGE) });
    this.wasm = new WebAssembly.Instance(compiled, { env: { memory: this.memory } }).exports;
    this.grow(capacity);
  }

  get capacity(): number {
    return this.chunk.length;
  }

  /**
   * Makes the chunk at least `capacity` bytes, keeping what it holds. Where the memory must grow for
   * it (a record larger than the chunk), the views made before are detached: take them again.
   */
  grow(capacity: number): void {
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
    const end = this.wasm.scan(pos, len);
    if (end >= 0) return end;
    const chunk = this.chunk.subarray(0, len);
    const slow = scanInto(chunk, pos, this.fields);
    if (slow >= 0) classifyInto(chunk, this.fields);
    return slow;
  }

  /** What the module's plain test says of the chunk's bytes [from, to) (see plainKind). */
  plainKind(from: number, to: number): PlainKind | null {
    return PLAIN_CODES[this.wasm.plain(from, to)];
  }
}
