#!/usr/bin/env node
'use strict';
// A run lasts about a second. V8's default is to optimize a function as soon as it is warm, which
// suits a long-lived process: here the optimizing compiles cost more CPU than the code they make
// saves (a seventh of a busy log's replay). A larger budget leaves that to code that stays hot.
require('node:v8').setFlagsFromString('--interrupt-budget=4000000');
require('../dist/src/cli/main.js')
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  });
