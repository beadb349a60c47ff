// Writes the README's options table from the settings table (run after `npm run build`).
const fs = require('node:fs');
const path = require('node:path');
const { withOptionsTable } = require('../dist/src/cli/optionsDoc.js');

const readme = path.join(__dirname, '..', 'README.md');
fs.writeFileSync(readme, withOptionsTable(fs.readFileSync(readme, 'utf8')));
