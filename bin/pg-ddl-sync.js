#!/usr/bin/env -S node --max-semi-space-size=2
// A small young generation: reading a big log makes much short-lived garbage, and a larger one only
// raises the peak memory (and is no faster).
'use strict';
require('../dist/src/cli/main.js')
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  });
