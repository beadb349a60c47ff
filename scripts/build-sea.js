#!/usr/bin/env node
'use strict';
/**
 * `npm run build:sea`: the release's one file, `release/pg-ddl-sync-VERSION-linux-x64`, a copy of the
 * node binary that runs this one with the tool inside (Node's single executable application): it runs
 * on a host with no Node.js installed.
 *
 * Three steps, each with a tool that works offline once npm has installed the dev dependencies:
 * esbuild puts bin/pg-ddl-sync.js and every module it requires into one script; node writes that
 * script and the SQL parser's WebAssembly into a blob (--experimental-sea-config); postject puts the
 * blob into a copy of the running node binary.
 *
 *   node scripts/build-sea.js [--out DIR]   (run `npm run build` first: it bundles dist/, not src/)
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const VERSION = require('../package.json').version;
/** The name under which the parser's WebAssembly is stored in the executable (node:sea getAsset). */
const WASM_ASSET = 'libpg-query.wasm';
/** Postject's marker in the node binary that says a blob is in it: Node's documented value. */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/**
 * libpg-query loads its WebAssembly from the file beside its script, which an executable does not
 * have. Its Emscripten factory takes an `instantiateWasm` hook instead (this build reads no
 * `wasmBinary`): the bundle gets a stand-in for the factory that compiles the bytes of the
 * executable's asset and hands the factory the instance. libpg-query itself is left as it is.
 */
const embedParserWasm = {
  name: 'embed-parser-wasm',
  setup(build) {
    build.onResolve({ filter: /^\.\/libpg-query\.js$/ }, (args) => {
      if (!args.importer.includes(`${path.sep}libpg-query${path.sep}`)) return undefined;
      return { path: path.join(args.resolveDir, 'libpg-query.js'), namespace: 'sea-parser' };
    });
    build.onLoad({ filter: /.*/, namespace: 'sea-parser' }, (args) => ({
      contents: [
        `const factory = require(${JSON.stringify(args.path)});`,
        `const { getAsset } = require('node:sea');`,
        // Compiled first, so that a failure rejects the load instead of leaving it waiting.
        'module.exports = async (options) => {',
        `  const compiled = await WebAssembly.compile(getAsset(${JSON.stringify(WASM_ASSET)}));`,
        '  return factory({ ...options, instantiateWasm: (imports, done) => done(new WebAssembly.Instance(compiled, imports), compiled) });',
        '};',
      ].join('\n'),
      resolveDir: path.dirname(args.path),
      loader: 'js',
    }));
  },
};

/** The SQL parser's WebAssembly file, as libpg-query ships it. */
function parserWasmFile() {
  const main = require.resolve('libpg-query', { paths: [ROOT] });
  const file = path.join(path.dirname(main), WASM_ASSET);
  if (!fs.existsSync(file)) throw new Error(`${file} not found: has libpg-query changed how it ships its WebAssembly?`);
  return file;
}

async function bundle(work) {
  const esbuild = require('esbuild');
  const out = path.join(work, 'pg-ddl-sync.js');
  await esbuild.build({
    entryPoints: [path.join(ROOT, 'bin', 'pg-ddl-sync.js')],
    outfile: out,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // pg's native binding is used only when asked for (pg.native), which the tool never does; the
    // Cloudflare socket only on Cloudflare's runtime. Left out, they are never loaded.
    external: ['pg-native', 'cloudflare:sockets'],
    plugins: [embedParserWasm],
    logLevel: 'warning',
    legalComments: 'none',
  });
  return out;
}

/** Runs a step; its output is shown only when it fails (postject warns of ELF notes it skips). */
function quietly(file, args) {
  try {
    execFileSync(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    throw new Error(`${[file, ...args].join(' ')} failed:\n${err.stdout ?? ''}${err.stderr ?? err.message}`);
  }
}

async function main() {
  const outIndex = process.argv.indexOf('--out');
  const outDir = outIndex > 0 ? path.resolve(process.argv[outIndex + 1]) : path.join(ROOT, 'release');
  if (!fs.existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'main.js'))) throw new Error('dist/ is not built: run `npm run build` first');
  const work = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'pg-ddl-sync-sea-'));
  try {
    const script = await bundle(work);
    const blob = path.join(work, 'sea.blob');
    const config = path.join(work, 'sea-config.json');
    fs.writeFileSync(
      config,
      JSON.stringify({
        main: script,
        output: blob,
        disableExperimentalSEAWarning: true,
        // V8's compiled code for the script is stored too: the run starts without compiling it.
        useCodeCache: true,
        assets: { [WASM_ASSET]: parserWasmFile() },
      }),
    );
    quietly(process.execPath, ['--experimental-sea-config', config]);
    fs.mkdirSync(outDir, { recursive: true });
    const exe = path.join(outDir, `pg-ddl-sync-${VERSION}-linux-${process.arch}`);
    fs.rmSync(exe, { force: true });
    fs.copyFileSync(process.execPath, exe);
    fs.chmodSync(exe, 0o755);
    const postject = path.join(path.dirname(require.resolve('postject/package.json', { paths: [ROOT] })), 'dist', 'cli.js');
    quietly(process.execPath, [postject, exe, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE]);
    process.stdout.write(`${path.relative(process.cwd(), exe) || exe} (${(fs.statSync(exe).size / 1e6).toFixed(1)} MB)\n`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`build-sea: ${err.message}\n`);
  process.exitCode = 1;
});
