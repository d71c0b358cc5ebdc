import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createProxyLogger, formatLine, isLogLevel } from '../../src/proxy/log.ts';

test('proxy log: pino-shaped JSON lines, levels filtered, child bindings added', () => {
  const lines: string[] = [];
  const log = createProxyLogger('info', { role: 'proxy' }, (l) => lines.push(l)).child({ pod: 'web-1', namespace: undefined });
  log.debug({ a: 1 }, 'hidden');
  log.info({ inboundPort: 4143 }, 'proxy listening');
  log.error({ err: 'boom "x"' });
  assert.equal(lines.length, 2);
  const first = JSON.parse(lines[0]) as Record<string, unknown>;
  assert.deepEqual(Object.keys(first), ['level', 'time', 'role', 'pod', 'inboundPort', 'msg']);
  assert.equal(first.level, 'info');
  assert.match(String(first.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.deepEqual(JSON.parse(lines[1]), { level: 'error', time: JSON.parse(lines[1]).time, role: 'proxy', pod: 'web-1', err: 'boom "x"' });
  assert.ok(lines.every((l) => l.endsWith('}\n') && !l.slice(0, -1).includes('\n')));
  assert.equal(log.isLevelEnabled('info'), true);
  assert.equal(log.isLevelEnabled('debug'), false);
  assert.equal(log.isLevelEnabled('silent'), false);
  assert.equal(createProxyLogger('silent', {}, () => assert.fail('silent writes nothing')).isLevelEnabled('fatal'), false);
  createProxyLogger('silent', {}, () => assert.fail('silent writes nothing')).fatal({}, 'x');
  assert.equal(isLogLevel('warn'), true);
  assert.equal(isLogLevel('verbose'), false);
  assert.equal(formatLine('warn', new Date(0), {}, { x: undefined }, undefined), '{"level":"warn","time":"1970-01-01T00:00:00.000Z"}\n');
});

test('proxy log: an Error field is written as its type, message and code, not as {}', () => {
  const error = Object.assign(new TypeError('connect ECONNREFUSED 127.0.0.1:8080'), { code: 'ECONNREFUSED' });
  const line = JSON.parse(formatLine('warn', new Date(0), {}, { err: error, nested: { cause: new Error('inner') } }, 'identity certificate request failed')) as Record<string, unknown>;
  assert.deepEqual(line.err, { type: 'TypeError', message: 'connect ECONNREFUSED 127.0.0.1:8080', code: 'ECONNREFUSED' });
  assert.deepEqual(line.nested, { cause: { type: 'Error', message: 'inner' } });
});
