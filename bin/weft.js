#!/usr/bin/env node
// Runs the compiled CLI when present (the image), else the TypeScript sources through Node's type stripping.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
// The controller holds its caches for days. V8's young generation grows while the initial lists
// are parsed and stays resident after; semi-spaces of at most 4 MiB keep ~15 MB of RSS off with
// 10,000 namespaces (bench/controller-memory.bench.ts) with /inject throughput over HTTPS
// unchanged (bench/admission.bench.ts). process.execve replaces this process with one started
// with the flag (same pid, nothing left behind). A --max-semi-space-size of your own, on the
// command line or in NODE_OPTIONS, wins.
const hasSemiSpaceFlag = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((arg) => arg.includes('--max-semi-space-size'));
if (args[0] === 'controller' && !hasSemiSpaceFlag && typeof process.execve === 'function') {
  try {
    process.execve(process.execPath, [process.execPath, '--max-semi-space-size=4', ...process.execArgv, fileURLToPath(import.meta.url), ...args], process.env);
  } catch {
    // Not allowed here (some sandboxes): run as is, with V8's defaults.
  }
}

const compiled = new URL('../dist/cli.js', import.meta.url);
const entry = existsSync(compiled) ? compiled : new URL('../src/cli.ts', import.meta.url);
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
