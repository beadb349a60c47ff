/**
 * Preloaded (`node -r`) into a process the benchmark measures: writes its peak resident memory (KB)
 * to the file PGDS_BENCH_RSS names when it exits.
 */
import * as fs from 'node:fs';

const out = process.env.PGDS_BENCH_RSS;
if (out) process.on('exit', () => fs.writeFileSync(out, String(process.resourceUsage().maxRSS)));
