import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as http from 'node:http';
import { createTestCa, mintCredentials, identityName } from './certs.ts';
import { runProxy, listen, metricValue, type TestProxy } from './harness.ts';
import type { Credentials } from '../../src/proxy/credentials.ts';
import { replayableRequest } from '../../src/proxy/outbound.ts';

// Mesh connection reuse, over real mTLS on loopback: A's outbound keeps the mesh connection an
// app connection left idle and hands it to the next app connection to B.

const POD_B = '10.0.0.2';
let credsA: Credentials;
let credsB: Credentials;
const cleanups: (() => unknown)[] = [];

before(async () => {
  const ca = await createTestCa('pool');
  credsA = await mintCredentials(ca, 'client', 'a');
  credsB = await mintCredentials(ca, 'web', 'b');
});

after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** An HTTP app on loopback that counts its connections; `handler` may misbehave on purpose. */
async function app(handler: (req: http.IncomingMessage, res: http.ServerResponse, nth: number) => void = (_q, res) => res.end('ok\n')): Promise<{ port: number; connections: () => number; server: http.Server }> {
  let connections = 0;
  const perSocket = new WeakMap<net.Socket, number>();
  const server = http.createServer((req, res) => {
    const n = (perSocket.get(req.socket) ?? 0) + 1;
    perSocket.set(req.socket, n);
    req.resume();
    req.on('end', () => handler(req, res, n));
  });
  server.on('connection', () => connections++);
  const port = await listen(server);
  cleanups.push(() => new Promise((r) => server.close(r)));
  return { port, connections: () => connections, server };
}

async function pair(appPort: number, pool?: { maxPerPeer: number; idleMs: number }): Promise<{ a: TestProxy; b: TestProxy }> {
  const b = await runProxy({ credentials: credsB, destination: () => ({ address: '127.0.0.1', port: appPort }) });
  const a = await runProxy({ credentials: credsA, mesh: { [POD_B]: identityName('web', 'b') }, routes: { [POD_B]: b.proxy.inboundPort }, destination: () => ({ address: POD_B, port: appPort }), ...(pool ? { pool } : {}) });
  cleanups.push(() => a.proxy.shutdown(0), () => b.proxy.shutdown(0));
  return { a, b };
}

/** One app connection: sends `request`, reads one whole response, closes, and waits for the close. */
function oneRequest(port: number, request: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    let result: { status: number; body: string } | undefined;
    socket.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1 || result !== undefined) return;
      const head = buf.subarray(0, end).toString('latin1');
      const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (buf.length < end + 4 + length) return;
      result = { status: Number(head.slice(9, 12)), body: buf.subarray(end + 4, end + 4 + length).toString() };
      socket.end();
    });
    socket.on('error', reject);
    socket.on('close', () => (result ? resolve(result) : reject(new Error(`connection closed without a whole response: ${JSON.stringify(buf.toString())}`))));
    socket.write(request);
  });
}

const GET = 'GET / HTTP/1.1\r\nHost: b\r\n\r\n';
const dst = { direction: 'outbound', peer: 'dst' };

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('two sequential app connections to the same peer share one mesh TLS connection', async () => {
  const b = await app();
  const { a, b: pb } = await pair(b.port);
  assert.deepEqual(await oneRequest(a.proxy.outboundPort, GET), { status: 200, body: 'ok\n' });
  await until('the mesh connection to be pooled', () => a.proxy.pool.size === 1);
  assert.deepEqual(await oneRequest(a.proxy.outboundPort, GET), { status: 200, body: 'ok\n' });
  assert.equal(await metricValue(a.registry, 'tcp_open_total', dst), 1, 'one mesh connection dialled');
  assert.equal(await metricValue(a.registry, 'tcp_open_total', { direction: 'outbound', peer: 'src' }), 2, 'two app connections');
  assert.equal(await metricValue(a.registry, 'tcp_reused_total', { direction: 'outbound' }), 1);
  assert.equal(await metricValue(pb.registry, 'tcp_open_total', { direction: 'inbound', peer: 'src' }), 1, 'B accepted one mesh connection');
  assert.equal(await metricValue(pb.registry, 'request_total', { direction: 'inbound' }), 2, 'and saw both requests on it');
  assert.equal(b.connections(), 1, 'the app got both requests over one connection');
});

test('exchanges that say Connection: close, HTTP/1.0 ones and POSTs are never sent over a pooled connection', async () => {
  const b = await app();
  const { a } = await pair(b.port);
  await oneRequest(a.proxy.outboundPort, 'GET / HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n');
  await oneRequest(a.proxy.outboundPort, 'GET / HTTP/1.0\r\nHost: b\r\n\r\n');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(a.proxy.pool.size, 0, 'neither left a connection to reuse');
  await oneRequest(a.proxy.outboundPort, GET);
  await until('the mesh connection to be pooled', () => a.proxy.pool.size === 1);
  // A request that may not be sent twice goes over a fresh connection; the pooled one stays.
  const post = await oneRequest(a.proxy.outboundPort, 'POST / HTTP/1.1\r\nHost: b\r\nContent-Length: 2\r\n\r\nhi');
  assert.equal(post.status, 200);
  assert.equal(await metricValue(a.registry, 'tcp_reused_total', { direction: 'outbound' }), 0);
  assert.equal(await metricValue(a.registry, 'tcp_open_total', dst), 4);
});

test('a pooled connection that dies as it is reused is replaced: the app gets its response', async () => {
  // The app answers the first request of each connection and drops the connection on the
  // second, as a server does whose keep-alive timeout fires just as a request arrives.
  const b = await app((req, res, nth) => (nth === 1 ? res.end('first\n') : req.socket.destroy()));
  const { a } = await pair(b.port);
  assert.equal((await oneRequest(a.proxy.outboundPort, GET)).body, 'first\n');
  await until('the mesh connection to be pooled', () => a.proxy.pool.size === 1);
  assert.deepEqual(await oneRequest(a.proxy.outboundPort, GET), { status: 200, body: 'first\n' });
  assert.equal(await metricValue(a.registry, 'tcp_reused_total', { direction: 'outbound' }), 1);
  assert.equal(await metricValue(a.registry, 'tcp_open_total', dst), 2, 'the dead one, then a fresh one');
  assert.equal(b.connections(), 2);
});

test('a pooled connection the peer closes leaves the pool at once; an idle one leaves after the idle timeout', async () => {
  const b = await app();
  b.server.keepAliveTimeout = 100;
  const { a } = await pair(b.port);
  await oneRequest(a.proxy.outboundPort, GET);
  await until('the mesh connection to be pooled', () => a.proxy.pool.size === 1);
  await until('the app\'s keep-alive close to evict it', () => a.proxy.pool.size === 0);
  assert.equal((await oneRequest(a.proxy.outboundPort, GET)).status, 200);
  assert.equal(await metricValue(a.registry, 'tcp_reused_total', { direction: 'outbound' }), 0);

  const c = await app();
  const { a: a2 } = await pair(c.port, { maxPerPeer: 1, idleMs: 100 });
  await Promise.all([oneRequest(a2.proxy.outboundPort, GET), oneRequest(a2.proxy.outboundPort, GET)]);
  await until('one connection to be pooled', () => a2.proxy.pool.size === 1);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(a2.proxy.pool.size, 1, 'bounded per peer');
  await until('the idle timeout', () => a2.proxy.pool.size === 0);
  await until('the app to see both mesh connections close', async () => (await metricValue(a2.registry, 'tcp_open_connections', dst)) === 0);
});

test('replayable requests: one whole bodiless head of GET, HEAD, OPTIONS or TRACE', () => {
  assert.equal(replayableRequest(Buffer.from(GET)), true);
  assert.equal(replayableRequest(Buffer.from('HEAD /x HTTP/1.1\r\n\r\n')), true);
  assert.equal(replayableRequest(Buffer.from('GET / HTTP/1.1\r\nHost: b\r\n')), false, 'head not complete');
  assert.equal(replayableRequest(Buffer.from(GET + GET)), false, 'pipelined');
  assert.equal(replayableRequest(Buffer.from('GET / HTTP/1.1\r\nContent-Length: 1\r\n\r\n')), false);
  assert.equal(replayableRequest(Buffer.from('GET / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n')), false);
  assert.equal(replayableRequest(Buffer.from('DELETE / HTTP/1.1\r\n\r\n')), false);
});
