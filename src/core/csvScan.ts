/**
 * A chunk of csvlog and the fast scan of its records (csvScan.wat, compiled into csvScanWasm.ts): the
 * chunk lives in the scanner's WebAssembly memory, so that a file is read straight into the place it is
 * scanned in. Where the fast scan does not accept a record whole, scanInto looks at it, and says why.
 */
import * as v8 from 'node:v8';
import { FIELD_ROOM, scanInto } from './csvRecord';
import { CSV_SCAN_WASM } from './csvScanWasm';
import type { PlainKind } from './plainText';
import { PLAIN_CODES, classifyInto, timeOf } from './recordClass';

interface WasmExports {
  scan(pos: number, len: number): number;
  pass(pos: number, len: number, base: number, file: number): number;
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

/** Where the quiet sessions' table starts in the scanner's memory (after the field bounds), its slots. */
const TABLE_AT = 1024;
const SLOTS = 2048;
/** A slot's size, in 32-bit words (see csvScan.wat's pass for what it holds). */
const SLOT_WORDS = 16;

/** The slot of a pid in the quiet pass's table, as the pass finds it. */
export function quietSlot(pid: number): number {
  return Math.imul(pid, 0x9e3779b1) >>> 21;
}

/** The first word of a pid's slot in the table. */
function slotOf(pid: number): number {
  return quietSlot(pid) * SLOT_WORDS;
}
/** Where the chunk starts in the scanner's memory: after the table. */
const CHUNK_AT = TABLE_AT + SLOTS * SLOT_WORDS * 4;
const PAGE = 64 * 1024;
/** Where the quiet pass writes the end of the record it stopped at, how many it passed, how many were DML. */
const PASS_OUT_AT = 548;

/** A bare BEGIN the quiet pass held back: whose, and where it is. */
export interface QuietHeld {
  pid: number;
  /** The session's start time: with the pid, the session's id. */
  time: number;
  file: number;
  offset: number;
  end: number;
  /** Its virtual xid (VXID_BACKEND_SLOT, VXID_LOCAL_SLOT). */
  backend: number;
  local: number;
}

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
  /** How many records the quiet pass passed over that were DML, since the sessions were last reset. */
  quietDml = 0;
  private readonly memory: WasmMemory;
  private readonly wasm: WasmExports;
  private table!: Int32Array;
  private tableF64!: Float64Array;
  private passOut!: Int32Array;

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
    this.passOut = new Int32Array(this.memory.buffer, PASS_OUT_AT, 3);
    this.table = new Int32Array(this.memory.buffer, TABLE_AT, SLOTS * SLOT_WORDS);
    this.tableF64 = new Float64Array(this.memory.buffer, TABLE_AT, (SLOTS * SLOT_WORDS) / 2);
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

  /**
   * The quiet pass (csvScan.wat's pass): from `pos` of the chunk's first `len` bytes, passes over the
   * records a JudgeGate on this scanner would, of sessions it does not own, until one it would not.
   * `base` is the chunk's offset in file `file`.
   * @returns where it stopped, and how many it passed over; `end` is the end of the record there, its
   *   bounds and class in `fields`, or -1 where scan() must look at it
   */
  passQuiet(pos: number, len: number, base: number, file: number): { at: number; passed: number; end: number } {
    const at = this.wasm.pass(pos, len, base, file);
    const out = this.passOut;
    this.quietDml += out[2];
    return { at, passed: out[1], end: out[0] };
  }

  /** Forgets every session of the quiet pass: none owned, none held back. */
  resetSessions(): void {
    this.table.fill(0);
    this.quietDml = 0;
  }

  /**
   * Hands a pid's session to the gate's JavaScript side: the quiet pass leaves every record of its
   * slot to it until giveBack. What the slot held back of this pid (any session of it) comes with it.
   */
  takeSession(pid: number): QuietHeld | null {
    const w = slotOf(pid);
    const t = this.table;
    t[w + 7]++;
    if (t[w + 1] === 0 || t[w] !== pid) return null;
    t[w + 1] = 0;
    return this.heldAt(w);
  }

  /** The quiet pass may pass over a pid's records again (see takeSession). */
  giveBack(pid: number): void {
    this.table[slotOf(pid) + 7]--;
  }

  /** Every bare BEGIN the quiet pass holds back, let go of. */
  takeAllHeld(): QuietHeld[] {
    const held: QuietHeld[] = [];
    for (let w = 0; w < this.table.length; w += SLOT_WORDS) {
      if (this.table[w + 1] === 0) continue;
      this.table[w + 1] = 0;
      held.push(this.heldAt(w));
    }
    return held;
  }

  private heldAt(w: number): QuietHeld {
    const t = this.table;
    return {
      pid: t[w],
      time: timeOf(t[w + 2], t[w + 3]),
      backend: t[w + 4],
      local: t[w + 5],
      file: t[w + 6],
      offset: this.tableF64[w / 2 + 4],
      end: this.tableF64[w / 2 + 5],
    };
  }

  /** What the module's plain test says of the chunk's bytes [from, to) (see plainKind). */
  plainKind(from: number, to: number): PlainKind | null {
    return PLAIN_CODES[this.wasm.plain(from, to)];
  }
}
