#!/usr/bin/env node
'use strict';
// A run lasts about a second. V8's default is to optimize a function as soon as it is warm, which
// suits a long-lived process: here the optimizing compiles cost more CPU than the code they make
// saves. A larger budget leaves that to code that stays hot; not much larger, since every record of
// a busy log is classified in TypeScript (recordClass), which is slow until it is optimized. Measured
// on the bench corpus (CPU, median of eleven): 300,000 took 0.93 s, 500,000 0.97 s, 1,000,000 1.00 s;
// a run over a small log is the same with 300,000 or 1,000,000.
require('node:v8').setFlagsFromString('--interrupt-budget=300000');
// What V8 may inline into one optimized function, in bytecode (920 by default): the scan of a record
// calls classifyInto, which calls a few small readers of its bytes; with the default, the budget ran
// out before them, and each stayed a call. Measured on the bench corpus (CPU, median of fifteen):
// 0.98 s with 4,000 against 1.03 s; a small log's run is the same.
require('node:v8').setFlagsFromString('--max-inlined-bytecode-size-cumulative=4000');
require('../dist/src/cli/main.js')
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  });
