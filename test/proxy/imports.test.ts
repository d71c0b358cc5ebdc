import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFixtureServer, type RunningIdentity } from '../identity/fixture.ts';
import { listen } from './harness.ts';

// A production proxy (--identity-url) must not load what the controller uses for the same jobs:
// @peculiar/x509 (CSR creation; ~40 MB of RSS with its dependencies), prom-client (~20 MB) and
// pino (~7 MB). The proxy's idle budget is 64 MB, Node itself takes ~45.

const HEAVY = ['@peculiar/x509', 'prom-client', 'pino'];

let identity: RunningIdentity;
let dir: string;
before(async () => {
  identity = await startFixtureServer();
  dir = mkdtempSync(join(tmpdir(), 'weft-proxy-imports-'));
});
after(async () => {
  await identity.close();
  rmSync(dir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const server = net.createServer();
  const port = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('weft proxy with --identity-url gets its certificate without resolving @peculiar/x509, prom-client or pino, and serves identity_cert_* on /metrics', { timeout: 30_000 }, async () => {
  const { fx, server } = identity;
  const token = fx.writeToken('proxy.token', fx.token({ namespace: 'shop', serviceAccount: 'cart' }));
  writeFileSync(join(dir, 'ca.pem'), fx.anchor.certPem);
  const [inbound, outbound, admin] = [await freePort(), await freePort(), await freePort()];
  const argv = [
    `--identity-url=https://127.0.0.1:${server.port}`,
    `--identity-token-file=${token}`,
    `--identity-dir=${join(dir, 'identity')}`,
    `--trust-anchors=${join(dir, 'ca.pem')}`,
    '--pod-namespace=shop',
    '--service-account=cart',
    `--inbound-port=${inbound}`,
    `--outbound-port=${outbound}`,
    `--admin-port=${admin}`,
    '--log-level=info',
  ];
  // Every module URL resolved from loading the command until it is ready, recorded by a resolve hook.
  const script = `
    import { registerHooks } from 'node:module';
    const seen = [];
    registerHooks({ resolve(specifier, context, next) { const result = next(specifier, context); seen.push(result.url); return result; } });
    const { command } = await import(${JSON.stringify(new URL('../../src/commands/proxy.ts', import.meta.url).href)});
    void command.run(${JSON.stringify(argv)});
    const base = 'http://127.0.0.1:${admin}';
    for (let i = 0; i < 200; i++) {
      const ready = await fetch(base + '/ready').then((r) => r.status, () => 0);
      if (ready === 200) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const metrics = await (await fetch(base + '/metrics')).text();
    process.stdout.write(JSON.stringify({ seen, metrics }));
    process.exit(0);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 0, stderr);
  const { seen, metrics } = JSON.parse(stdout) as { seen: string[]; metrics: string };
  assert.match(stderr, /"msg":"identity certificate obtained"/);
  // The hook did see the production path (or an empty list would prove nothing).
  assert.ok(seen.some((url) => url.endsWith('/src/identity/client.ts')), 'identity client loaded');
  assert.ok(seen.some((url) => url.endsWith('/src/identity/pkcs10.ts')), 'CSR writer loaded');
  assert.deepEqual(seen.filter((url) => HEAVY.some((name) => url.includes(`/node_modules/${name}/`))), []);
  assert.match(metrics, /^identity_cert_refreshes_total\{role="proxy"\} 1$/m);
  assert.match(metrics, /^identity_cert_refresh_failures_total\{role="proxy"\} 0$/m);
  assert.match(metrics, /^identity_cert_expiration_timestamp_seconds\{role="proxy"\} \d{10}/m);
  assert.match(metrics, /^tcp_open_total|^# TYPE tcp_open_total counter$/m, 'next to the proxy\'s own metrics');
});
