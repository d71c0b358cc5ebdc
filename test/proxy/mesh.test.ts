import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as http from 'node:http';
import * as tls from 'node:tls';
import { createHash, randomBytes } from 'node:crypto';
import { createTestCa, mintCredentials, identityName, type TestCa } from './certs.ts';
import { runProxy, httpApp, get, exchange, echoApp, metricValue, type TestProxy } from './harness.ts';
import type { Credentials } from '../../src/proxy/credentials.ts';

// Two real proxies on loopback with real mTLS: A's outbound talks to B's inbound.

const POD_B = '10.0.0.2';
let ca: TestCa;
let credsA: Credentials;
let credsB: Credentials;
let app: { server: http.Server; port: number };
let echo: { server: net.Server; port: number };
let b: TestProxy;
const servers: { close(): unknown }[] = [];
const proxies: TestProxy[] = [];

async function clientProxy(target: () => number, creds: Credentials = credsA, mesh: Record<string, string> = { [POD_B]: identityName('web', 'b') }): Promise<TestProxy> {
  const p = await runProxy({ credentials: creds, mesh, routes: { [POD_B]: b.proxy.inboundPort }, destination: () => ({ address: POD_B, port: target() }) });
  proxies.push(p);
  return p;
}

before(async () => {
  ca = await createTestCa('mesh');
  credsA = await mintCredentials(ca, 'client', 'a');
  credsB = await mintCredentials(ca, 'web', 'b');
  app = await httpApp();
  echo = await echoApp();
  servers.push(app.server, echo.server);
  let inboundTarget = app.port;
  b = await runProxy({ credentials: credsB, destination: () => ({ address: '127.0.0.1', port: inboundTarget }), requireIdentity: '1-65535' });
  proxies.push(b);
  // Plaintext to B would need a real destination; every port requires identity here anyway.
  void inboundTarget;
  inboundTarget = app.port;
});

after(async () => {
  for (const p of proxies) await p.proxy.shutdown(0);
  for (const s of servers) s.close();
});

test('an HTTP request crosses the mesh over mTLS and both sides count it with both identities', async () => {
  const a = await clientProxy(() => app.port);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; i < 3; i++) {
    const res = await get(a.proxy.outboundPort, `/hello/${i}`, agent);
    assert.equal(res.status, 200);
    assert.equal(res.body, `GET /hello/${i} 0\n`);
  }
  const missing = await get(a.proxy.outboundPort, '/status/503', agent);
  assert.equal(missing.status, 503);
  agent.destroy();
  const inbound = { direction: 'inbound', tls: 'true', client_id: credsA.identity, server_id: credsB.identity };
  const outbound = { direction: 'outbound', tls: 'true', client_id: credsA.identity, server_id: credsB.identity };
  assert.equal(await metricValue(b.registry, 'request_total', inbound), 4);
  assert.equal(await metricValue(a.registry, 'request_total', outbound), 4);
  assert.equal(await metricValue(b.registry, 'response_total', { ...inbound, status_code: '200', classification: 'success' }), 3);
  assert.equal(await metricValue(b.registry, 'response_total', { ...inbound, status_code: '503', classification: 'failure' }), 1);
  assert.equal(await metricValue(b.registry, 'tcp_open_total', { ...inbound, peer: 'src' }), 1, 'keep-alive: one connection for four requests');
  const text = await b.registry.metrics();
  assert.match(text, /response_latency_ms_bucket\{[^}]*direction="inbound"/);
  assert.doesNotMatch(text, /hello/, 'no paths in labels');
});

test('opaque TCP keeps half-close: the client ends, still gets the whole echo, then the end', async () => {
  const a = await clientProxy(() => echo.port);
  const payload = randomBytes(256 * 1024);
  const { received, error } = await exchange(a.proxy.outboundPort, payload);
  assert.equal(error, undefined);
  assert.equal(received.length, payload.length);
  assert.ok(received.equals(payload));
});

test('a large transfer arrives intact through backpressure in both proxies', async () => {
  // A sink that reads slowly: backpressure must hold the sender, not buffer everything.
  const digest = createHash('sha256');
  let total = 0;
  const done = new Promise<void>((resolve) => {
    const slow = net.createServer({ allowHalfOpen: true }, (s) => {
      s.on('data', (c: Buffer) => {
        digest.update(c);
        total += c.length;
        s.pause();
        setTimeout(() => s.resume(), 1);
      });
      s.on('end', () => {
        s.end('ok');
        resolve();
      });
    });
    servers.push(slow);
    slow.listen(0, '127.0.0.1', async () => {
      const port = (slow.address() as net.AddressInfo).port;
      const a = await clientProxy(() => port);
      const data = randomBytes(8 * 1024 * 1024);
      const want = createHash('sha256').update(data).digest('hex');
      const result = await exchange(a.proxy.outboundPort, data);
      assert.equal(result.received.toString(), 'ok');
      assert.equal(total, data.length);
      assert.equal(digest.digest('hex'), want);
    });
  });
  await done;
  // give the assertions in the listen callback their turn
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(total, 8 * 1024 * 1024);
});

test('a download to a client that stops reading holds the app back, then arrives intact', { timeout: 60_000 }, async () => {
  // The app's side of the inbound proxy is read through onread (connectReading): its reads must
  // stop while the client does not read, not pile the download up in the proxies. The app
  // writes until it is held back for a while: kernel socket buffers on loopback can grow to tens
  // of MB (tcp_rmem's maximum here is 32 MiB), so no fixed download size is sure to outgrow
  // them, but a proxy that kept reading would never hold the app back.
  const chunkSize = 64 * 1024;
  const chunkAt = (i: number) => Buffer.alloc(chunkSize, i % 251);
  const sent = createHash('sha256');
  let sentBytes = 0;
  let blockedSince: number | undefined;
  let stop = false;
  const big = net.createServer((s) => {
    let i = 0;
    const pump = () => {
      while (!stop) {
        const chunk = chunkAt(i++);
        sent.update(chunk);
        sentBytes += chunk.length;
        if (!s.write(chunk)) {
          blockedSince = performance.now();
          s.once('drain', () => {
            blockedSince = undefined;
            pump();
          });
          return;
        }
      }
      s.end();
    };
    pump();
  });
  servers.push(big);
  const port = await new Promise<number>((r) => big.listen(0, '127.0.0.1', () => r((big.address() as net.AddressInfo).port)));
  const a = await clientProxy(() => port);
  const received = createHash('sha256');
  let receivedBytes = 0;
  let heldBack = false;
  await new Promise<void>((resolve, reject) => {
    const c = net.connect(a.proxy.outboundPort, '127.0.0.1');
    c.on('error', reject);
    let paused = false;
    c.on('data', (chunk: Buffer) => {
      received.update(chunk);
      receivedBytes += chunk.length;
      if (paused) return;
      paused = true;
      c.pause();
      const deadline = performance.now() + 30_000;
      const poll = setInterval(() => {
        const now = performance.now();
        heldBack = blockedSince !== undefined && now - blockedSince >= 500;
        if (!heldBack && now < deadline) return;
        clearInterval(poll);
        stop = true;
        c.resume();
      }, 50);
    });
    c.on('end', () => resolve());
  });
  assert.ok(heldBack, `the app was never held back while the client did not read (${sentBytes} bytes written)`);
  assert.equal(receivedBytes, sentBytes);
  assert.equal(received.digest('hex'), sent.digest('hex'));
});

test('a reset by the app reaches the client as a reset', async () => {
  const rst = net.createServer((s) => s.once('data', () => s.resetAndDestroy()));
  servers.push(rst);
  const port = await new Promise<number>((r) => rst.listen(0, '127.0.0.1', () => r((rst.address() as net.AddressInfo).port)));
  const a = await clientProxy(() => port);
  const result = await new Promise<string>((resolve) => {
    const s = net.connect(a.proxy.outboundPort, '127.0.0.1', () => s.write('hi'));
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    s.on('end', () => resolve('end'));
  });
  assert.equal(result, 'ECONNRESET');
});

test('a client whose certificate comes from another CA is refused by the inbound side', async () => {
  const other = await createTestCa('other');
  const stranger = await mintCredentials(other, 'intruder', 'a', { trustAnchorsPem: `${other.anchorPem}${ca.anchorPem}` });
  const before = await metricValue(b.registry, 'tcp_refused_total', { direction: 'inbound', reason: 'tls-handshake' });
  const c = await clientProxy(() => app.port, stranger);
  await assert.rejects(get(c.proxy.outboundPort, '/x'), (e: NodeJS.ErrnoException) => e.code === 'ECONNRESET' || e.code === 'EPIPE');
  assert.equal(await metricValue(b.registry, 'tcp_refused_total', { direction: 'inbound', reason: 'tls-handshake' }), before + 1);
  assert.equal(await metricValue(b.registry, 'request_total', { client_id: stranger.identity }), 0);
});

test('the client refuses a server that does not prove the identity discovery named', { timeout: 10_000 }, async () => {
  // A rogue TLS server with a valid mesh certificate (web.b) that answers for any name: only
  // the client's own check of the certificate against the expected identity stops it.
  let received = 0;
  const rogue = tls.createServer({ key: credsB.keyPem, cert: credsB.certChainPem, ca: ca.anchorPem, ALPNCallback: ({ protocols }) => protocols[0] }, (s) => {
    s.on('data', (c: Buffer) => (received += c.length));
    s.on('error', () => {});
  });
  servers.push(rogue);
  const port = await new Promise<number>((r) => rogue.listen(0, '127.0.0.1', () => r((rogue.address() as net.AddressInfo).port)));
  const c = await runProxy({ credentials: credsA, mesh: { [POD_B]: identityName('other', 'b') }, routes: { [POD_B]: port }, destination: () => ({ address: POD_B, port: app.port }) });
  proxies.push(c);
  await assert.rejects(get(c.proxy.outboundPort, '/x'), (e: NodeJS.ErrnoException) => e.code === 'ECONNRESET');
  assert.equal(received, 0, 'not a byte of the request reached the wrong server');
});

test('an unmeshed destination is a plain pass-through without TLS', async () => {
  const p = await runProxy({ credentials: credsA, mesh: {}, destination: () => ({ address: '127.0.0.1', port: app.port }) });
  proxies.push(p);
  const res = await get(p.proxy.outboundPort, '/plain');
  assert.equal(res.status, 200);
  assert.equal(await metricValue(p.registry, 'request_total', { direction: 'outbound', tls: 'no_identity' }), 1);
});

test('the app calling its own pod IP stays in the pod: no mTLS even though discovery lists it', async () => {
  // Discovery lists 127.0.0.1 as a meshed pod; as our own address it must still go straight through.
  const p = await runProxy({ credentials: credsA, mesh: { '127.0.0.1': credsA.identity }, podIps: ['127.0.0.1'], destination: () => ({ address: '127.0.0.1', port: app.port }) });
  proxies.push(p);
  assert.equal((await get(p.proxy.outboundPort, '/self')).status, 200);
  assert.equal(await metricValue(p.registry, 'request_total', { direction: 'outbound', tls: 'no_identity' }), 1);
});

test('a mesh ClientHello for another identity (stale discovery) is refused, never passed to the app', async () => {
  // B is permissive here; the client believes B is someone else.
  let appSawBytes = 0;
  const sink = net.createServer((s) => s.on('data', (c: Buffer) => (appSawBytes += c.length)));
  servers.push(sink);
  const port = await new Promise<number>((r) => sink.listen(0, '127.0.0.1', () => r((sink.address() as net.AddressInfo).port)));
  const permissive = await runProxy({ credentials: credsB, destination: () => ({ address: '127.0.0.1', port }) });
  proxies.push(permissive);
  const c = await runProxy({ credentials: credsA, mesh: { [POD_B]: identityName('old-owner', 'b') }, routes: { [POD_B]: permissive.proxy.inboundPort }, destination: () => ({ address: POD_B, port }) });
  proxies.push(c);
  await assert.rejects(get(c.proxy.outboundPort, '/x'), (e: NodeJS.ErrnoException) => e.code === 'ECONNRESET');
  assert.equal(appSawBytes, 0);
  assert.equal(await metricValue(permissive.registry, 'tcp_refused_total', { direction: 'inbound', reason: 'identity-mismatch' }), 1);
});
