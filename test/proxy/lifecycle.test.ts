import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as http from 'node:http';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestCa, mintCredentials, type TestCa } from './certs.ts';
import { runProxy, get, echoApp, metricValue, listen, type TestProxy } from './harness.ts';
import { mutableCredentials, type Credentials } from '../../src/proxy/credentials.ts';
import { parseFlags } from '../../src/util/flags.ts';
import { proxyFlags, proxyConfig } from '../../src/proxy/config.ts';

const POD_B = '10.0.0.2';
let ca: TestCa;
let credsA: Credentials;
let credsB: Credentials;
let slowApp: { server: http.Server; port: number };
const cleanups: (() => unknown)[] = [];

before(async () => {
  ca = await createTestCa('life');
  credsA = await mintCredentials(ca, 'client', 'a');
  credsB = await mintCredentials(ca, 'web', 'b');
  const server = http.createServer((req, res) => {
    const delay = req.url === '/slow' ? 300 : 0;
    setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('done\n'), delay);
  });
  slowApp = { server, port: await listen(server) };
  cleanups.push(() => server.close());
});

after(async () => {
  for (const f of cleanups.reverse()) await f();
});

async function pair(appPort: number): Promise<{ a: TestProxy; b: TestProxy }> {
  const b = await runProxy({ credentials: credsB, destination: () => ({ address: '127.0.0.1', port: appPort }) });
  const a = await runProxy({ credentials: credsA, mesh: { [POD_B]: credsB.identity }, routes: { [POD_B]: b.proxy.inboundPort }, destination: () => ({ address: POD_B, port: appPort }) });
  cleanups.push(() => a.proxy.shutdown(0), () => b.proxy.shutdown(0));
  return { a, b };
}

test('inbound plaintext is forwarded in permissive mode and refused on a port that requires identity', async () => {
  const open = await runProxy({ credentials: credsB, destination: () => ({ address: '127.0.0.1', port: slowApp.port }) });
  const strict = await runProxy({ credentials: credsB, destination: () => ({ address: '127.0.0.1', port: slowApp.port }), requireIdentity: `${slowApp.port}` });
  const authOnly = await runProxy({ credentials: credsB, destination: () => ({ address: '127.0.0.1', port: slowApp.port }), policy: 'all-authenticated' });
  cleanups.push(() => open.proxy.shutdown(0), () => strict.proxy.shutdown(0), () => authOnly.proxy.shutdown(0));
  assert.equal((await get(open.proxy.inboundPort, '/')).status, 200);
  assert.equal(await metricValue(open.registry, 'request_total', { direction: 'inbound', tls: 'no_identity', client_id: '' }), 1);
  await assert.rejects(get(strict.proxy.inboundPort, '/'), (e: NodeJS.ErrnoException) => e.code === 'ECONNRESET');
  assert.equal(await metricValue(strict.registry, 'tcp_refused_total', { direction: 'inbound', reason: 'identity-required' }), 1);
  await assert.rejects(get(authOnly.proxy.inboundPort, '/'), (e: NodeJS.ErrnoException) => e.code === 'ECONNRESET');
  assert.equal(await metricValue(authOnly.registry, 'tcp_refused_total', { direction: 'inbound', reason: 'unauthenticated' }), 1);
});

test('a server-speaks-first protocol is detected as opaque after the timeout and still works', async () => {
  const banner = net.createServer((s) => s.end('220 hello\r\n'));
  const port = await listen(banner);
  cleanups.push(() => banner.close());
  const b = await runProxy({ credentials: credsB, destination: () => ({ address: '127.0.0.1', port }) });
  cleanups.push(() => b.proxy.shutdown(0));
  const text = await new Promise<string>((resolve, reject) => {
    const s = net.connect(b.proxy.inboundPort, '127.0.0.1');
    let got = '';
    s.on('data', (c: Buffer) => (got += c.toString()));
    s.on('end', () => resolve(got));
    s.on('error', reject);
  });
  assert.equal(text, '220 hello\r\n');
});

test('drain: an in-flight request finishes, an idle keep-alive connection is closed, an opaque one is cut at the grace', async () => {
  const { a } = await pair(slowApp.port);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  assert.equal((await get(a.proxy.outboundPort, '/', agent)).status, 200);
  const idleSocket = Object.values(agent.freeSockets)[0]?.[0];
  assert.ok(idleSocket, 'a pooled keep-alive socket');
  const idleClosed = new Promise<void>((resolve) => idleSocket.once('close', () => resolve()));

  const echo = await echoApp();
  cleanups.push(() => echo.server.close());
  const { a: a2 } = await pair(echo.port);
  const opaque = net.connect(a2.proxy.outboundPort, '127.0.0.1');
  opaque.on('error', () => {});
  await new Promise<void>((resolve) => opaque.once('connect', () => opaque.write('\x00\x01binary', () => resolve())));
  await new Promise((r) => opaque.once('data', r));

  const inflight = get(a.proxy.outboundPort, '/slow');
  await new Promise((r) => setTimeout(r, 50)); // let the request reach the app
  const [drained, drained2] = await Promise.all([a.proxy.shutdown(5000), a2.proxy.shutdown(200)]);
  const res = await inflight;
  assert.equal(res.status, 200);
  assert.equal(res.body, 'done\n');
  await idleClosed;
  assert.equal(drained.cut, 0, 'every HTTP connection ended on its own');
  assert.equal(drained2.cut, 1, 'the opaque connection outlived the grace period');
  await assert.rejects(get(a.proxy.outboundPort, '/'), (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED');
  agent.destroy();
});

test('admin: /live, /ready once a valid certificate is held, /metrics', async () => {
  const creds = mutableCredentials();
  const p = await runProxy({ credentials: creds, admin: true });
  cleanups.push(() => p.proxy.shutdown(0));
  const port = p.proxy.adminPort as number;
  assert.equal((await get(port, '/live')).status, 200);
  const early = await get(port, '/ready');
  assert.equal(early.status, 503);
  assert.match(early.body, /certificate/);
  creds.set(credsB);
  assert.equal((await get(port, '/ready')).status, 200);
  creds.set({ ...credsB, notAfter: new Date(Date.now() - 1000) });
  assert.equal((await get(port, '/ready')).status, 503);
  const metrics = await get(port, '/metrics');
  assert.equal(metrics.status, 200);
  assert.match(metrics.body, /# TYPE tcp_open_total counter/);
  assert.match(metrics.body, /# TYPE response_latency_ms histogram/);
  assert.equal((await get(port, '/nope')).status, 404);
});

test('config: env fallbacks, port lists, and errors that name the flag', () => {
  const env = {
    WEFT_PROXY_INBOUND_PORT: '5143',
    WEFT_TRUST_ANCHORS_PEM: ca.anchorPem,
    WEFT_IDENTITY_URL: 'https://identity.weft.svc:8080',
    WEFT_SERVICE_ACCOUNT: 'web',
    WEFT_POD_NAMESPACE: 'b',
    WEFT_REQUIRE_IDENTITY_INBOUND_PORTS: '8443,9000-9010',
    WEFT_DEFAULT_INBOUND_POLICY: 'all-authenticated',
    WEFT_PROXY_SHUTDOWN_GRACE: '5s',
  };
  const config = proxyConfig(parseFlags(proxyFlags, [], env).flags);
  assert.equal(config.inboundPort, 5143);
  assert.equal(config.outboundPort, 4140);
  assert.equal(config.adminPort, 4191);
  assert.equal(config.shutdownGraceMs, 5000);
  assert.equal(config.defaultInboundPolicy, 'all-authenticated');
  assert.ok(config.requireIdentityPorts.has(9005) && !config.requireIdentityPorts.has(9011));
  assert.deepEqual(config.identity.kind === 'service' && config.identity.localName, credsB.identity);
  assert.throws(() => proxyConfig(parseFlags(proxyFlags, ['--default-inbound-policy', 'open'], env).flags), /--default-inbound-policy/);
  assert.throws(() => proxyConfig(parseFlags(proxyFlags, ['--opaque-ports', '80,abc'], env).flags), /--opaque-ports/);
  assert.throws(() => proxyConfig(parseFlags(proxyFlags, [], { ...env, WEFT_TRUST_ANCHORS_PEM: undefined }).flags), /trust anchors/);
  assert.throws(() => proxyConfig(parseFlags(proxyFlags, [], { ...env, WEFT_IDENTITY_URL: undefined }).flags), /no workload identity/);
});

test('weft proxy runs from the CLI with static certificates and exits 0 on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-proxy-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'cert.pem'), credsB.certChainPem);
  writeFileSync(join(dir, 'key.pem'), credsB.keyPem);
  writeFileSync(join(dir, 'ca.pem'), ca.anchorPem);
  writeFileSync(join(dir, 'discovery.json'), JSON.stringify({ endpoints: [{ ip: POD_B, identity: credsB.identity }] }));
  const free = async (): Promise<number> => {
    const s = net.createServer();
    const port = await listen(s);
    await new Promise((r) => s.close(r));
    return port;
  };
  const [inbound, outbound, admin] = [await free(), await free(), await free()];
  const bin = new URL('../../bin/weft.js', import.meta.url).pathname;
  const child = spawn(process.execPath, [bin, 'proxy', '--identity-cert', join(dir, 'cert.pem'), '--identity-key', join(dir, 'key.pem'), '--trust-anchors', join(dir, 'ca.pem'), '--discovery-file', join(dir, 'discovery.json')], {
    env: { ...process.env, WEFT_PROXY_INBOUND_PORT: String(inbound), WEFT_PROXY_OUTBOUND_PORT: String(outbound), WEFT_PROXY_ADMIN_PORT: String(admin), WEFT_PROXY_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let ready = 0;
  for (let i = 0; i < 100 && ready !== 200; i++) {
    ready = await get(admin, '/ready').then((r) => r.status, () => 0);
    if (ready !== 200) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(ready, 200, stderr);
  assert.match(stderr, /discovery updated/);
  child.kill('SIGTERM');
  assert.equal(await exited, 0, stderr);
  assert.match(stderr, /proxy stopped/);
});
