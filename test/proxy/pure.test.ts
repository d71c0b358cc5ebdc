import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tls from 'node:tls';
import * as net from 'node:net';
import fc from 'fast-check';
import { detect, H2_PREFACE } from '../../src/proxy/sniff.ts';
import { Http1Observer, statusOf } from '../../src/proxy/http1.ts';
import { GOAWAY_NOTICE, Http2Observer } from '../../src/proxy/http2.ts';
import { parsePortList, PortListError } from '../../src/proxy/ports.ts';
import { buildDiscoveryTable, parseDiscoveryText, DiscoveryError } from '../../src/proxy/discovery.ts';
import { decideInbound } from '../../src/proxy/policy.ts';
import { meshAlpn, parseMeshAlpn, identityOf, provesIdentity } from '../../src/proxy/mesh.ts';

/** The bytes of a real ClientHello that node:tls sends for these options. */
function clientHello(options: tls.ConnectionOptions): Promise<Buffer> {
  return new Promise((resolve) => {
    const server = net.createServer((s) => {
      s.once('data', (c: Buffer) => {
        resolve(c);
        s.destroy();
        server.close();
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const t = tls.connect({ ...options, host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, rejectUnauthorized: false });
      t.on('error', () => {});
    });
  });
}

test('detect: a real ClientHello yields its SNI and ALPN; its first bytes alone ask for more', async () => {
  const hello = await clientHello({ servername: 'web.b.serviceaccount.identity.weft.cluster.local', ALPNProtocols: [meshAlpn(8080)] });
  assert.deepEqual(detect(hello), { kind: 'tls', sni: 'web.b.serviceaccount.identity.weft.cluster.local', alpn: ['weft.mesh/1;port=8080'] });
  for (const n of [1, 5, 6, 100, hello.length - 1]) assert.equal(detect(hello.subarray(0, n)).kind, 'need-more', `prefix ${n}`);
  const plain = await clientHello({ ALPNProtocols: ['h2', 'http/1.1'] });
  const found = detect(plain);
  assert.equal(found.kind, 'tls');
  if (found.kind === 'tls') assert.deepEqual(found.alpn, ['h2', 'http/1.1']);
});

test('detect: HTTP/1, HTTP/2 preface, and everything else', () => {
  assert.equal(detect(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')).kind, 'http1');
  assert.equal(detect(Buffer.from('POST /a?b=c HTTP/1.0\r\n')).kind, 'http1');
  assert.equal(detect(Buffer.from('GE')).kind, 'need-more');
  assert.equal(detect(Buffer.from('GET /x')).kind, 'need-more');
  assert.equal(detect(Buffer.from('GET /x y HTTP/1.1\r\n')).kind, 'opaque');
  assert.equal(detect(Buffer.from('HELLO world\r\n')).kind, 'opaque');
  assert.equal(detect(H2_PREFACE).kind, 'http2');
  assert.equal(detect(H2_PREFACE.subarray(0, 10)).kind, 'need-more');
  assert.equal(detect(Buffer.from([0x16, 0x01, 0x00])).kind, 'opaque');
  assert.equal(detect(Buffer.from('SSH-2.0-OpenSSH\r\n')).kind, 'opaque');
});

test('detect never throws and always settles once it has enough bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 600 }), (bytes) => {
      const r = detect(Buffer.from(bytes));
      assert.ok(['need-more', 'tls', 'http1', 'http2', 'opaque'].includes(r.kind));
    }),
  );
  assert.notEqual(detect(Buffer.alloc(25 * 1024, 0x41)).kind, 'need-more');
});

function watch(): { events: string[]; observer: Http1Observer } {
  const events: string[] = [];
  let t = 0;
  const observer = new Http1Observer(
    { request: (m) => events.push(`req ${m}`), response: (s, ms) => events.push(`res ${s} ${ms}`), idle: () => events.push('idle') },
    () => (t += 5),
  );
  return { events, observer };
}

test('http1: keep-alive with content-length and chunked bodies, split at every byte', () => {
  const requests = 'POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\nHost: x\r\n\r\nHEAD /c HTTP/1.1\r\n\r\n';
  const responses =
    'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nTrailer: 1\r\n\r\n' +
    'HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nnopHTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n';
  for (const step of [1, 2, 7, 1000]) {
    const { events, observer } = watch();
    const req = Buffer.from(requests);
    for (let i = 0; i < req.length; i += step) observer.client(req.subarray(i, i + step));
    const res = Buffer.from(responses);
    for (let i = 0; i < res.length; i += step) observer.server(res.subarray(i, i + step));
    assert.deepEqual(events.filter((e) => !e.startsWith('res')).slice(0, 3), ['req POST', 'req GET', 'req HEAD'], `step ${step}`);
    assert.deepEqual(
      events.filter((e) => e.startsWith('res') || e === 'idle').map((e) => e.replace(/ \d+$/, '')),
      ['res 201', 'res 404', 'res 200', 'idle'],
      `step ${step}`,
    );
    assert.ok(observer.idle);
  }
});

test('http1: an upgrade or a body read to close stops the parsing, never the bytes', () => {
  const { events, observer } = watch();
  observer.client(Buffer.from('GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'));
  observer.server(Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello'));
  assert.equal(observer.following, false);
  observer.client(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
  assert.deepEqual(events.map((e) => e.replace(/ \d+$/, '')), ['req GET', 'res 101']);
  const close = watch();
  close.observer.client(Buffer.from('GET / HTTP/1.0\r\n\r\n'));
  close.observer.server(Buffer.from('HTTP/1.0 200 OK\r\n\r\nuntil close'));
  assert.equal(close.observer.following, false);
  assert.equal(close.observer.idle, false);
});

test('http1: latency is measured from request head to response head', () => {
  const { events, observer } = watch();
  observer.client(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
  observer.server(Buffer.from('HTTP/1.1 204 No Content\r\n\r\n'));
  assert.deepEqual(events, ['req GET', 'res 204 5', 'idle']);
});

test('http1: header names in any case, look-alike names and values ignored, conflicting lengths stop the parsing', () => {
  const { events, observer } = watch();
  // Content-Type, Cache-Control, TE, User-Agent and Upgrade-Insecure-Requests start like the four
  // names that matter; a value mentioning one of them is not a field.
  observer.client(Buffer.from('GET / HTTP/1.1\r\nUser-Agent: content-length: 9\r\nTE: trailers\r\nUpgrade-Insecure-Requests: 1\r\nCache-Control: no-cache\r\n\r\n'));
  observer.server(Buffer.from('HTTP/1.1 200 OK\r\nCONTENT-TYPE: text/plain\r\ncOnTeNt-LeNgTh:  3 \r\nConnection: keep-alive\r\n\r\nabc'));
  assert.deepEqual(events.map((e) => e.replace(/ \d+$/, '')), ['req GET', 'res 200', 'idle']);
  assert.ok(observer.idle && observer.reusable);
  observer.client(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
  observer.server(Buffer.from('HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n'));
  assert.ok(observer.idle);
  assert.equal(observer.reusable, false);
  const conflict = watch();
  conflict.observer.client(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
  conflict.observer.server(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 3\r\ncontent-length: 4\r\n\r\nabcd'));
  assert.equal(conflict.observer.following, false);
  const upgrade = watch();
  upgrade.observer.client(Buffer.from('GET / HTTP/1.1\r\nupgrade: h2c\r\n\r\n'));
  assert.equal(upgrade.observer.reusable, false);
  for (const length of ['1e3', '+3', '', '0x10', '1234567890123456']) {
    const odd = watch();
    odd.observer.client(Buffer.from(`POST / HTTP/1.1\r\nContent-Length: ${length}\r\n\r\n`));
    assert.equal(odd.observer.following, false, `Content-Length: ${length}`);
  }
  const lower = watch();
  lower.observer.client(Buffer.from('get / HTTP/1.1\r\n\r\n'));
  assert.equal(lower.observer.following, false);
  const gzip = watch();
  gzip.observer.client(Buffer.from('POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n'));
  assert.equal(gzip.observer.following, false);
});

test('http1: status lines', () => {
  assert.equal(statusOf('HTTP/1.1 200 OK'), 200);
  assert.equal(statusOf('HTTP/1.0 404 '), 404);
  assert.equal(statusOf('HTTP/1.1 204'), 204);
  assert.equal(statusOf('HTTP/1.2 200 OK'), undefined);
  assert.equal(statusOf('HTTP/1.1 2x0 OK'), undefined);
  assert.equal(statusOf('HTTP/1.1 20'), undefined);
  assert.equal(statusOf('http/1.1 200 OK'), undefined);
  assert.equal(statusOf('HTTP/1.1  200 OK'), undefined);
});

test('ports: lists and ranges, with errors that name the bad item', () => {
  const set = parsePortList(['25, 443', '8000-8100']);
  assert.ok(set.has(25) && set.has(443) && set.has(8000) && set.has(8050) && set.has(8100));
  assert.ok(!set.has(26) && !set.has(8101));
  assert.equal(set.text, '25,443,8000-8100');
  assert.throws(() => parsePortList('80,x'), PortListError);
  assert.throws(() => parsePortList('0'), /invalid port "0"/);
  assert.throws(() => parsePortList('90-80'), /below the start/);
  assert.equal(parsePortList('').has(80), false);
});

test('discovery: parse, look up (IPv4-mapped too), and reject malformed entries with their index', () => {
  const table = buildDiscoveryTable(parseDiscoveryText(JSON.stringify({ endpoints: [{ ip: '10.1.2.3', identity: 'default.ns.serviceaccount.identity.weft.cluster.local' }] })));
  assert.equal(table.lookup('10.1.2.3'), 'default.ns.serviceaccount.identity.weft.cluster.local');
  assert.equal(table.lookup('::ffff:10.1.2.3'), 'default.ns.serviceaccount.identity.weft.cluster.local');
  assert.equal(table.lookup('10.1.2.4'), undefined);
  assert.throws(() => parseDiscoveryText('{"endpoints":[{"ip":"10.1.2.3","identity":"ok.x"},{"ip":"nope","identity":"a"}]}'), /endpoints\[1\]\.ip/);
  assert.throws(() => parseDiscoveryText('{"endpoints":[{"ip":"10.1.2.3","identity":"Bad Name"}]}'), /endpoints\[0\]\.identity/);
  assert.throws(() => parseDiscoveryText('[]'), DiscoveryError);
  assert.throws(() => parseDiscoveryText('{'), /not JSON/);
});

test('policy: permissive, required ports, all-authenticated and deny', () => {
  const ports = parsePortList('8443');
  const permissive = { defaultPolicy: 'all-unauthenticated' as const, requireIdentityPorts: ports };
  assert.deepEqual(decideInbound(permissive, 80, undefined), { allow: true });
  assert.deepEqual(decideInbound(permissive, 8443, undefined), { allow: false, reason: 'identity-required' });
  assert.deepEqual(decideInbound(permissive, 8443, 'a.b'), { allow: true });
  assert.deepEqual(decideInbound({ ...permissive, defaultPolicy: 'all-authenticated' }, 80, undefined), { allow: false, reason: 'unauthenticated' });
  assert.deepEqual(decideInbound({ ...permissive, defaultPolicy: 'all-authenticated' }, 80, 'a.b'), { allow: true });
  assert.deepEqual(decideInbound({ ...permissive, defaultPolicy: 'deny' }, 80, 'a.b'), { allow: false, reason: 'policy-deny' });
});

test('mesh ALPN ids and identity names', () => {
  assert.deepEqual(parseMeshAlpn(meshAlpn(8080)), { port: 8080 });
  assert.deepEqual(parseMeshAlpn('weft.mesh/1'), { port: undefined });
  assert.equal(parseMeshAlpn('weft.mesh/1;port=70000'), undefined);
  assert.equal(parseMeshAlpn('h2'), undefined);
  assert.equal(parseMeshAlpn(false), undefined);
  const san = 'URI:spiffe://cluster.local/ns/b/sa/web, DNS:web.b.serviceaccount.identity.weft.cluster.local';
  assert.equal(identityOf(san), 'web.b.serviceaccount.identity.weft.cluster.local');
  assert.ok(provesIdentity(san, 'web.b.serviceaccount.identity.weft.cluster.local'));
  assert.ok(!provesIdentity(san, 'other.b.serviceaccount.identity.weft.cluster.local'));
  assert.ok(!provesIdentity('DNS:*.b.serviceaccount.identity.weft.cluster.local', 'web.b.serviceaccount.identity.weft.cluster.local'));
});

test('http2: status from the static table, raw and Huffman literals; unknown otherwise', async () => {
  const { statusOfBlock } = await import('../../src/proxy/http2.ts');
  assert.equal(statusOfBlock(Buffer.from([0x88])), 200);
  assert.equal(statusOfBlock(Buffer.from([0x8d])), 404);
  assert.equal(statusOfBlock(Buffer.from([0x48, 0x03, ...Buffer.from('503')])), 503);
  // "503" Huffman-coded: the digit codes, then padding with the most significant bits of EOS (ones).
  const bits = '011011' + '00000' + '011001';
  const padded = bits + '1'.repeat((8 - (bits.length % 8)) % 8);
  const bytes = padded.match(/.{8}/g)!.map((b) => parseInt(b, 2));
  assert.equal(statusOfBlock(Buffer.from([0x48, 0x80 | bytes.length, ...bytes])), 503);
  assert.equal(statusOfBlock(Buffer.from([0xbe])), 0, 'a dynamic-table reference is unknown');
  assert.equal(statusOfBlock(Buffer.from([0x41, 0x03, ...Buffer.from('abc')])), 0, 'not :status');
});

test('discovery: the fixture document (the format the controller serves) parses and answers', async () => {
  const { readFileSync } = await import('node:fs');
  const text = readFileSync(new URL('../fixtures/proxy/discovery.json', import.meta.url), 'utf8');
  const table = buildDiscoveryTable(parseDiscoveryText(text));
  assert.equal(table.size, 3);
  assert.equal(table.lookup('10.244.2.5'), 'web.shop.serviceaccount.identity.weft.cluster.local');
  assert.equal(table.lookup('FD00:10:244::1A'), 'web.shop.serviceaccount.identity.weft.cluster.local');
  assert.equal(table.lookup('10.244.9.9'), undefined);
});

test('http2: streams are open until both sides end them or one resets; frame boundaries are known across split reads', () => {
  const frame = (type: number, flags: number, stream: number, payload: Buffer): Buffer => {
    const h = Buffer.alloc(9);
    h.writeUIntBE(payload.length, 0, 3);
    h[3] = type;
    h[4] = flags;
    h.writeUInt32BE(stream, 5);
    return Buffer.concat([h, payload]);
  };
  const responses: number[] = [];
  let quiet = 0;
  const o = new Http2Observer({ request: () => {}, response: (status) => responses.push(status) });
  o.onQuiet = () => quiet++;
  assert.equal(o.serverAtBoundary, false, 'nothing from the server yet');
  o.client(Buffer.concat([H2_PREFACE, frame(0x4, 0, 0, Buffer.alloc(0)), frame(0x1, 0x5, 1, Buffer.from([0x82])), frame(0x1, 0x4, 3, Buffer.from([0x82]))]));
  assert.equal(o.openStreams, 2);
  const data = frame(0x0, 0x1, 1, Buffer.alloc(100, 1));
  o.server(Buffer.concat([frame(0x4, 0, 0, Buffer.alloc(0)), frame(0x1, 0x4, 1, Buffer.from([0x88])), data.subarray(0, 5)]));
  assert.deepEqual(responses, [200]);
  assert.equal(o.serverAtBoundary, false, 'inside a frame header');
  o.server(data.subarray(5, 50));
  assert.equal(o.serverAtBoundary, false, 'inside a DATA payload');
  assert.equal(o.openStreams, 2, 'END_STREAM counts once the frame has passed');
  o.server(data.subarray(50));
  assert.equal(o.serverAtBoundary, true);
  assert.equal(o.openStreams, 1);
  assert.equal(quiet, 0);
  o.client(frame(0x3, 0, 3, Buffer.alloc(4)));
  assert.equal(o.openStreams, 0, 'RST_STREAM closes both ways');
  assert.equal(quiet, 1);
  assert.deepEqual([...GOAWAY_NOTICE.subarray(0, 9)], [0, 0, 8, 7, 0, 0, 0, 0, 0], 'GOAWAY on stream 0');
  assert.equal(GOAWAY_NOTICE.readUInt32BE(9), 0x7fffffff);
  assert.equal(GOAWAY_NOTICE.readUInt32BE(13), 0, 'NO_ERROR');
});
