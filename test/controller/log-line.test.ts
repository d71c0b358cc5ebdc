import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { LoggerOptions } from 'pino';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, writeFlat } from '../../src/log.ts';
import type { FlatFields } from '../../src/log.ts';

/** A child logger as Fastify makes one per request, writing into `lines`. */
function capture(options: LoggerOptions) {
  const lines: string[] = [];
  const root = pino({ timestamp: () => ',"time":"2026-12-02T00:00:00.000Z"', ...options }, { write: (line: string) => void lines.push(line) });
  return { log: root.child({ reqId: 'req-1' }), lines };
}

const controllerStyle: LoggerOptions = { level: 'info', base: { role: 'controller' }, formatters: { level: (label) => ({ level: label }) } };
const samples: FlatFields[] = [
  { webhook: 'inject', uid: '0d5f2c8e-7a41', namespace: 'demo', kind: 'Pod', name: 'web-7f9c6d5b8-*', operation: 'CREATE', decision: 'injected', latencyMs: 0.123 },
  { webhook: 'inject', uid: 'u', namespace: undefined, kind: 'Pod', name: undefined, operation: 'CREATE', decision: 'skipped', latencyMs: 1, dryRun: true, reason: 'mirror_pod' },
  { uid: 'quote " backslash \\ newline \n tab \t bell \u0007 é ✓ 🙂', detail: 'x'.repeat(100) + '"', latencyMs: Number.NaN, allowed: false, warnings: 2 },
];

test('writeFlat writes the bytes pino writes for the same fields, at info and error', () => {
  for (const options of [controllerStyle, { level: 'info' }, { level: 'info', messageKey: 'message' }]) {
    const viaPino = capture(options);
    const flat = capture(options);
    for (const fields of samples) {
      viaPino.log.info(fields, 'admission');
      writeFlat(flat.log, 'info', fields, 'admission');
      viaPino.log.error(fields, 'admission');
      writeFlat(flat.log, 'error', fields, 'admission');
    }
    assert.deepEqual(flat.lines, viaPino.lines);
    for (const line of flat.lines) assert.equal(JSON.parse(line).reqId, 'req-1');
  }
});

test('writeFlat leaves a lone surrogate as valid JSON that reads back the same', () => {
  const { log, lines } = capture(controllerStyle);
  writeFlat(log, 'info', { name: 'a\ud800b' }, 'admission');
  assert.equal(JSON.parse(lines[0]!).name, 'a\ud800b');
});

test('writeFlat goes through pino when the logger would change the line, and honours the level', () => {
  const configurations: LoggerOptions[] = [
    { level: 'info', mixin: () => ({ extra: 1 }) },
    { level: 'info', redact: ['uid'] },
    { level: 'info', serializers: { uid: (uid: string) => uid.toUpperCase() } },
    { level: 'info', msgPrefix: '[weft] ' },
    { level: 'info', formatters: { log: (object) => ({ ...object, added: true }) } },
    { level: 'info', hooks: { logMethod(args, method) { method.apply(this, [{ hooked: true }, ...args.slice(1)] as Parameters<typeof method>); } } },
    { level: 'info', nestedKey: 'payload' },
  ];
  for (const options of configurations) {
    const viaPino = capture(options);
    const flat = capture(options);
    viaPino.log.info(samples[0]!, 'admission');
    writeFlat(flat.log, 'info', samples[0]!, 'admission');
    assert.deepEqual(flat.lines, viaPino.lines, JSON.stringify(Object.keys(options)));
  }
  const quiet = capture({ level: 'error' });
  writeFlat(quiet.log, 'info', samples[0]!, 'admission');
  assert.equal(quiet.lines.length, 0);
  writeFlat(quiet.log, 'error', samples[0]!, 'admission');
  assert.equal(quiet.lines.length, 1);
  const silent = capture({ level: 'silent' });
  writeFlat(silent.log, 'error', samples[0]!, 'admission');
  assert.equal(silent.lines.length, 0);
});

test('writeFlat passes the fields on to a logger that is not pino', () => {
  const seen: [string, object, string][] = [];
  const logger = { info: (fields: object, msg: string) => void seen.push(['info', fields, msg]), error: (fields: object, msg: string) => void seen.push(['error', fields, msg]) };
  writeFlat(logger, 'error', samples[0]!, 'admission');
  assert.deepEqual(seen, [['error', samples[0], 'admission']]);
});

test('createLogger keeps the order of many lines and flushes them on logger.flush', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'weft-log-'));
  const file = join(dir, 'log');
  const log = createLogger('controller', 'info', file);
  const before = Date.now();
  for (let i = 0; i < 3000; i++) {
    writeFlat(log, 'info', { i }, 'line');
    // Across a few milliseconds and, now and then, a second boundary.
    if (i % 300 === 0) await new Promise((resolve) => setTimeout(resolve, 1 + (i % 7)));
  }
  await new Promise<void>((resolve) => log.flush(() => resolve()));
  const lines = (await readFile(file, 'utf8')).split('\n').filter((line) => line !== '');
  assert.deepEqual(lines.map((line) => JSON.parse(line).i), Array.from({ length: 3000 }, (_, i) => i));
  // The time, pieced together from a cached second and the milliseconds, is the ISO string.
  for (const line of lines) {
    const time = JSON.parse(line).time as string;
    assert.equal(new Date(time).toISOString(), time);
    assert.ok(Date.parse(time) >= before - 1 && Date.parse(time) <= Date.now());
  }
  await rm(dir, { recursive: true, force: true });
});

test('createLogger gathers lines into fewer writes, yet a line is out within a moment and at exit', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'weft-log-'));
  const file = join(dir, 'log');
  const log = createLogger('controller', 'info', file);
  writeFlat(log.child({ reqId: 'r' }), 'info', samples[0]!, 'admission');
  await new Promise((resolve) => setTimeout(resolve, 1000));
  assert.equal(JSON.parse(await readFile(file, 'utf8')).uid, samples[0]!.uid, 'the periodic flush wrote the line');
  const script = `import { createLogger } from ${JSON.stringify(new URL('../../src/log.ts', import.meta.url).href)}; createLogger('controller', 'info', ${JSON.stringify(file)}).info('last words'); process.exit(0);`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  assert.match(await readFile(file, 'utf8'), /"msg":"last words"/);
  await rm(dir, { recursive: true, force: true });
});
