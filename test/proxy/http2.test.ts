import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { createTestCa, mintCredentials, identityName } from './certs.ts';
import { runProxy, metricValue } from './harness.ts';

// HTTP/2 (prior knowledge, h2c) through the mesh: node's own client and server, so the frames
// and HPACK are whatever a real implementation sends, dynamic table included.

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
  const call = (path: string): Promise<{ status: number; body: string }> =>
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
