/**
 * Reads csvlog records from a position to the end of the newest file, in bounded chunks: memory is
 * the chunk size plus the largest record, whatever the log's size.
 */
import * as fs from 'node:fs';
import { scanRecords } from '../core/csvRecord';
import { LogRecord, StatementRecord, toLogRecord } from '../core/logRecord';
import { LogFile, openLog } from './logFiles';
import { RunPosition } from './position';

const CHUNK = 4 * 1024 * 1024;

export interface Damage {
  file: number;
  offset: number;
  problem: string;
}

/** Receives a record, its file's index and its raw bytes; `'stop'` ends the read just after it. */
export type OnRecord = (record: LogRecord, file: number, raw: Buffer) => void | 'stop';

export interface ReadResult {
  /** Where the next run continues: just past the last complete record, or at the damage. */
  end: RunPosition;
  /** True when onRecord stopped the read. */
  stopped?: boolean;
  /** A record that is not csvlog, or a record cut off at the end of a file the server left. */
  damage?: Damage;
  bytesRead: number;
}

/**
 * Calls onRecord for every complete record from `from` on, in log order.
 * @param files the run's files, oldest first
 * @param from the first record to read
 * @param onRecord receives each record and the index of its file
 */
export function readRecords(files: LogFile[], from: RunPosition, onRecord: OnRecord): ReadResult {
  let bytesRead = 0;
  let end: RunPosition = from;
  for (let index = from.file; index < files.length; index++) {
    const start = index === from.file ? from.offset : 0;
    const res = readFile(files[index], start, (r, raw) => onRecord(r, index, raw));
    bytesRead += res.bytesRead;
    end = { file: index, offset: res.end };
    if (res.stopped) return { end, stopped: true, bytesRead };
    if (res.damage) return { end, damage: { file: index, ...res.damage }, bytesRead };
    const last = index === files.length - 1;
    if (!last && res.tail > 0) {
      // The server never appends to a file it rotated away from: a partial record there is damage.
      return {
        end,
        damage: { file: index, offset: res.end, problem: 'a record cut off at the end of a rotated file' },
        bytesRead,
      };
    }
    if (!last) end = { file: index + 1, offset: 0 };
  }
  return { end, bytesRead };
}

interface FileResult {
  end: number;
  stopped?: boolean;
  /** Bytes after `end` that do not yet form a complete record. */
  tail: number;
  damage?: { offset: number; problem: string };
  bytesRead: number;
}

function readFile(file: LogFile, start: number, onRecord: (r: LogRecord, raw: Buffer) => void | 'stop'): FileResult {
  const fd = openLog(file.path);
  try {
    let buf = Buffer.alloc(CHUNK);
    let filled = 0; // bytes of buf in use
    let base = start; // file offset of buf[0]
    let bytesRead = 0;
    for (;;) {
      if (filled === buf.length) {
        // One record larger than the buffer: grow to hold it.
        const bigger = Buffer.alloc(buf.length * 2);
        buf.copy(bigger, 0, 0, filled);
        buf = bigger;
      }
      const n = fs.readSync(fd, buf, filled, buf.length - filled, base + filled);
      bytesRead += n;
      filled += n;
      const view = buf.subarray(0, filled);
      const { records, stop } = scanRecords(view, 0);
      for (const span of records) {
        if (onRecord(toLogRecord(view, span, base), view.subarray(span.start, span.end)) === 'stop') {
          return { end: base + span.end, tail: 0, stopped: true, bytesRead };
        }
      }
      if (stop.kind === 'damaged') {
        return { end: base + stop.at, tail: filled - stop.at, damage: { offset: base + stop.at, problem: stop.problem }, bytesRead };
      }
      if (n === 0) return { end: base + stop.at, tail: filled - stop.at, bytesRead };
      // Keep the incomplete tail at the front of the buffer and read on.
      buf.copy(buf, 0, stop.at, filled);
      base += stop.at;
      filled -= stop.at;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The statement record at `offset` of a file, read again to apply or list its unit; null when the
 * bytes there are no longer that statement (the file changed under the same identity).
 */
export function readStatementAt(file: LogFile, offset: number, end: number): StatementRecord | null {
  const fd = openLog(file.path);
  try {
    const buf = Buffer.alloc(end - offset);
    const n = fs.readSync(fd, buf, 0, buf.length, offset);
    const { records } = scanRecords(buf.subarray(0, n), 0);
    if (records.length !== 1 || records[0].end !== buf.length) return null;
    const record = toLogRecord(buf, records[0], offset);
    return record.kind === 'statement' ? record : null;
  } finally {
    fs.closeSync(fd);
  }
}
