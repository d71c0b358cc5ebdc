import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { createTestCa, mintCredentials, identityName } from './certs.ts';
import { runProxy, metricValue } from './harness.ts';

// HTTP/2 (prior knowledge, h2c) through the mesh: node's own client and server, so the frames
// and HPACK are whatever a real implementation sends, dynamic table included.

/** One request on the session: its status and body. */
function caller(session: http2.ClientHttp2Session): (path: string) => Promise<{ status: number; body: string }> {
  return (path) =>
    new Promise((resolve, reject) => {
      const req = session.request({ ':path': path });
      let status = 0;
      let body = '';
      req.on('response', (h) => (status = Number(h[':status'])));
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => resolve({ status, body }));
      req.on('error', reject);
      req.end();
    });
}

test('h2c requests cross the mesh and are counted per stream with their status', async (t) => {
  const ca = await createTestCa('h2');
  const credsA = await mintCredentials(ca, 'client', 'a');
  const credsB = await mintCredentials(ca, 'web', 'b');
  const server = http2.createServer((req, res) => {
    const status = req.url === '/missing' ? 404 : req.url === '/teapot' ? 418 : 200;
    res.writeHead(status, { 'content-type': 'text/plain' }).end(`${req.url}\n`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.after(() => server.close());
  const appPort = (server.address() as AddressInfo).port;
  const b = await runProxy({ credentials: credsB, destination: () => ({ address: '127.0.0.1', port: appPort }) });
  const a = await runProxy({ credentials: credsA, mesh: { '10.0.0.2': identityName('web', 'b') }, routes: { '10.0.0.2': b.proxy.inboundPort }, destination: () => ({ address: '10.0.0.2', port: appPort }) });
  t.after(async () => {
    await a.proxy.shutdown(0);
    await b.proxy.shutdown(0);
  });
  const session = http2.connect(`http://127.0.0.1:${a.proxy.outboundPort}`);
  t.after(() => session.close());
  const call = caller(session);
  const results = await Promise.all(['/a', '/missing', '/teapot', '/b', '/teapot'].map(call));
  assert.deepEqual(results.map((r) => r.status), [200, 404, 418, 200, 418]);
  assert.equal(results[0].body, '/a\n');
  const inbound = { direction: 'inbound', tls: 'true', client_id: credsA.identity };
  assert.equal(await metricValue(b.registry, 'request_total', inbound), 5);
  assert.equal(await metricValue(b.registry, 'response_total', { ...inbound, status_code: '200' }), 2);
  assert.equal(await metricValue(b.registry, 'response_total', { ...inbound, status_code: '404' }), 1);
  assert.equal(await metricValue(b.registry, 'response_total', inbound), 5, 'every stream got a response, readable status or not');
  assert.equal(await metricValue(a.registry, 'request_total', { direction: 'outbound', server_id: credsB.identity }), 5);
});

test('draining: an h2c client gets a GOAWAY notice, its open stream completes, then the connection closes', async (t) => {
  const ca = await createTestCa('h2drain');
  const credsA = await mintCredentials(ca, 'client', 'a');
  const credsB = await mintCredentials(ca, 'web', 'b');
  const server = http2.createServer((req, res) => {
    const delay = req.url === '/slow' ? 400 : 0;
    setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end(`${req.url}\n`), delay);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.after(() => server.close());
  const appPort = (server.address() as AddressInfo).port;
  const b = await runProxy({ credentials: credsB, destination: () => ({ address: '127.0.0.1', port: appPort }) });
  const a = await runProxy({ credentials: credsA, mesh: { '10.0.0.2': identityName('web', 'b') }, routes: { '10.0.0.2': b.proxy.inboundPort }, destination: () => ({ address: '10.0.0.2', port: appPort }) });
  t.after(() => a.proxy.shutdown(0));
  const session = http2.connect(`http://127.0.0.1:${a.proxy.outboundPort}`);
  t.after(() => session.destroy());
  session.on('error', () => {});
  const call = caller(session);
  assert.equal((await call('/warm')).status, 200);
  const goaway = new Promise<number>((resolve) => session.once('goaway', (code: number) => resolve(code)));
  const closed = new Promise<void>((resolve) => session.once('close', () => resolve()));
  const slow = call('/slow');
  await new Promise((r) => setTimeout(r, 50));
  const started = performance.now();
  const stopping = b.proxy.shutdown(10_000);
  assert.equal(await goaway, 0, 'NO_ERROR');
  assert.deepEqual(await slow, { status: 200, body: '/slow\n' }, 'the stream open at the notice completes');
  assert.deepEqual(await stopping, { cut: 0 }, 'drained, not cut');
  await closed;
  const took = performance.now() - started;
  assert.ok(took < 5_000, `closed after the streams finished, not at the grace period (${took.toFixed(0)} ms)`);
});
