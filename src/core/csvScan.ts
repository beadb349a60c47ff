/**
 * A chunk of csvlog and the fast scan of its records (csvScan.wat, compiled into csvScanWasm.ts): the
 * chunk lives in the scanner's WebAssembly memory, so that a file is read straight into the place it is
 * scanned in. Where the fast scan does not accept a record whole, scanInto looks at it, and says why.
 */
import { FIELD_ROOM, scanInto } from './csvRecord';
import { CSV_SCAN_WASM } from './csvScanWasm';

// Node has WebAssembly; TypeScript declares it only with the DOM library, which this project leaves out.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: { env: { memory: WasmMemory } }) => { exports: { scan: (pos: number, len: number) => number } };
  Memory: new (size: { initial: number }) => WasmMemory;
};

/** Where the chunk starts in the scanner's memory (the field bounds come first). */
const CHUNK_AT = 1024;
const PAGE = 64 * 1024;

let compiled: object | null = null;

export class ChunkScanner {
  /** The chunk: read into it, then scan records of its first bytes. Replaced when it grows. */
  chunk!: Buffer;
  /** The field bounds of the record scanned last, laid out as scanInto writes them. */
  fields!: Int32Array;
  private readonly memory: WasmMemory;
  private readonly scanWasm: (pos: number, len: number) => number;

  /** @param capacity the chunk's size in bytes */
  constructor(capacity: number) {
    compiled ??= new WebAssembly.Module(Buffer.from(CSV_SCAN_WASM, 'base64'));
    this.memory = new WebAssembly.Memory({ initial: Math.ceil((CHUNK_AT + capacity) / PAGE) });
    this.scanWasm = new WebAssembly.Instance(compiled, { env: { memory: this.memory } }).exports.scan;
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
   * Scans the record at `pos` of the chunk's first `len` bytes into `fields`: what scanInto returns
   * (its end, or a negative code).
   */
  scan(pos: number, len: number): number {
    const end = this.scanWasm(pos, len);
    return end >= 0 ? end : scanInto(this.chunk.subarray(0, len), pos, this.fields);
  }
}
