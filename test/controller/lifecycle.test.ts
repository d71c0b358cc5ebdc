import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';

const weft = new URL('../../bin/weft.js', import.meta.url).pathname;

test('standalone controller: prints its curl line, becomes ready, drains on SIGTERM and exits 0', async (t) => {
  const stateDir = await mkdtemp(join(tmpdir(), 'weft-standalone-'));
  t.after(() => rm(stateDir, { recursive: true, force: true }));
  const child = spawn(process.execPath, [weft, 'controller', '--standalone', `--state-dir=${stateDir}`, '--port=0', '--admin-port=0', '--drain-delay=1s'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const ports = await new Promise<{ admission: number; admin: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no startup line; stderr: ${stderr}`)), 20_000);
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const match = /https:\/\/127\.0\.0\.1:(\d+)\/inject.*?http:\/\/127\.0\.0\.1:(\d+)\/metrics/s.exec(stdout);
      if (match && stdout.includes('node -e')) {
        clearTimeout(timer);
        resolve({ admission: Number(match[1]), admin: Number(match[2]) });
      }
    });
  });
  assert.match(stdout, /curl -s --cacert \S+ca\.crt .*--data @\S+pod-create\.json https:\/\/127\.0\.0\.1:\d+\/inject/);
  let ready = await fetch(`http://127.0.0.1:${ports.admin}/readyz`);
  assert.equal(ready.status, 200);

  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 300));
  ready = await fetch(`http://127.0.0.1:${ports.admin}/readyz`);
  assert.equal(ready.status, 503, 'readiness turns false while draining');
  assert.match(await ready.text(), /shutting down/);
  const [code] = await exited;
  assert.equal(code, 0, stderr);
  const lines = stderr.split('\n').filter((line) => line.startsWith('{'));
  assert.ok(lines.every((line) => JSON.parse(line).role === 'controller'), 'logs are JSON lines');
  assert.ok(lines.some((line) => JSON.parse(line).msg === 'controller stopped'));
});
