#!/usr/bin/env node
'use strict';
// A run lasts about a second. V8's default is to optimize a function as soon as it is warm, which
// suits a long-lived process: here the optimizing compiles cost more CPU than the code they make
// saves. A larger budget leaves that to code that stays hot; not much larger, since every record of
// a busy log is classified in TypeScript (recordClass), which is slow until it is optimized (4,000,000
// cost a busy log's replay a tenth more CPU than 1,000,000; a run with nothing to read is the same).
require('node:v8').setFlagsFromString('--interrupt-budget=1000000');
require('../dist/src/cli/main.js')
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  });
