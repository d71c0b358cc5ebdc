#!/usr/bin/env node
// Runs the compiled CLI when present (the image), else the TypeScript sources through Node's type stripping.
import { existsSync } from 'node:fs';
const compiled = new URL('../dist/cli.js', import.meta.url);
const entry = existsSync(compiled) ? compiled : new URL('../src/cli.ts', import.meta.url);
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
