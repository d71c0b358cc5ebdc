import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { createAdminServer, parseAdminRequest } from '../../src/proxy/admin.ts';
import { labelText, ProxyMetrics } from '../../src/proxy/metrics.ts';
import { listen } from './harness.ts';

// The admin listener speaks just enough HTTP/1.1 for probes and scrapers; these talk to it
// over real sockets with raw requests, as curl, kubelet and Prometheus would.

function raw(port: number, request: string | Buffer, halfClose = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    let out = '';
    socket.on('data', (c: Buffer) => (out += c.toString('latin1')));
    socket.on('end', () => {
      socket.end();
      resolve(out);
    });
    socket.on('error', reject);
    socket.on('connect', () => (halfClose ? socket.end(request) : socket.write(request)));
  });
}

async function adminOn(extra = ''): Promise<{ port: number; close(): Promise<void>; metrics: ProxyMetrics }> {
  const metrics = new ProxyMetrics();
  const admin = createAdminServer({ metrics: [metrics, { metrics: async () => extra }], ready: () => ({ ok: false, reason: 'no valid workload certificate' }) });
  const port = await listen(admin.server);
  return { port, close: () => admin.close(), metrics };
}

test('admin: request lines are read strictly; the query string is not part of the path', () => {
  assert.deepEqual(parseAdminRequest('GET /metrics?x=1 HTTP/1.1\r\nhost: a'), { method: 'GET', path: '/metrics' });
  assert.deepEqual(parseAdminRequest('HEAD /live HTTP/1.0'), { method: 'HEAD', path: '/live' });
  assert.equal(parseAdminRequest('GET /live'), undefined);
  assert.equal(parseAdminRequest('get /live HTTP/1.1'), undefined);
  assert.equal(parseAdminRequest('\x16\x03\x01\x02\x00'), undefined);
});

test('admin: answers once per connection, with length and close; HEAD has no body; errors are HTTP statuses', async (t) => {
  const a = await adminOn('# TYPE identity_x counter\nidentity_x 1');
  t.after(() => a.close());
  const live = await raw(a.port, 'GET /live HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.match(live, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(live, /content-length: 5\r\n/);
  assert.match(live, /connection: close\r\n\r\nlive\n$/);
  const ready = await raw(a.port, 'GET /ready HTTP/1.1\r\n\r\n');
  assert.match(ready, /^HTTP\/1\.1 503 /);
  assert.match(ready, /not ready: no valid workload certificate\n$/);
  assert.match(await raw(a.port, 'HEAD /live HTTP/1.1\r\n\r\n'), /\r\n\r\n$/);
  assert.match(await raw(a.port, 'POST /live HTTP/1.1\r\ncontent-length: 3\r\n\r\nabc'), /^HTTP\/1\.1 405 [^]*allow: GET, HEAD\r\n/);
  assert.match(await raw(a.port, 'GET /nope HTTP/1.1\r\n\r\n'), /^HTTP\/1\.1 404 /);
  assert.match(await raw(a.port, 'GET /constructor HTTP/1.1\r\n\r\n'), /^HTTP\/1\.1 404 /);
  assert.match(await raw(a.port, 'NONSENSE\r\n\r\n'), /^HTTP\/1\.1 400 /);
  assert.match(await raw(a.port, `GET /live HTTP/1.1\r\nx: ${'a'.repeat(9000)}`), /^HTTP\/1\.1 431 /);
  // A client that sends its request and FIN at once still gets the answer.
  assert.match(await raw(a.port, 'GET /live HTTP/1.1\r\n\r\n', true), /^HTTP\/1\.1 200 /);
  const metrics = await raw(a.port, 'GET /metrics HTTP/1.1\r\n\r\n');
  assert.match(metrics, /content-type: text\/plain; version=0\.0\.4/);
  assert.match(metrics, /# TYPE tcp_open_total counter\n/);
  assert.match(metrics, /\nidentity_x 1\n$/, 'other components\' metrics follow the proxy\'s own');
  assert.match(metrics, /\nprocess_resident_memory_bytes\{role="proxy"\} \d+\n/);
});

test('metrics: label values are escaped; histogram buckets are cumulative with sum and count', () => {
  assert.equal(labelText({ a: 'x"y\\z\nw' }), '{a="x\\"y\\\\z\\nw"}');
  const m = new ProxyMetrics({});
  const labels = { direction: 'inbound', tls: 'true', client_id: 'a.ns', server_id: 'b.ns' } as const;
  const http = m.http(labels);
  for (const ms of [0.5, 1, 7, 60_000]) {
    http.request();
    http.response(200, ms);
  }
  http.response(503, 2);
  const text = m.metrics();
  const series = '{direction="inbound",tls="true",client_id="a.ns",server_id="b.ns"';
  assert.match(text, new RegExp(`\\nrequest_total${series.replace(/[{}.]/g, '\\$&')}\\} 4\\n`));
  assert.ok(text.includes(`response_latency_ms_bucket${series},status_code="200",le="1"} 2\n`));
  assert.ok(text.includes(`response_latency_ms_bucket${series},status_code="200",le="10"} 3\n`));
  assert.ok(text.includes(`response_latency_ms_bucket${series},status_code="200",le="50000"} 3\n`));
  assert.ok(text.includes(`response_latency_ms_bucket${series},status_code="200",le="+Inf"} 4\n`));
  assert.ok(text.includes(`response_latency_ms_count${series},status_code="200"} 4\n`));
  assert.ok(text.includes(`response_latency_ms_sum${series},status_code="200"} 60008.5\n`));
  assert.ok(text.includes(`response_total${series},status_code="503",classification="failure"} 1\n`));
});
