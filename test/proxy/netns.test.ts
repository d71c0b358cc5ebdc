import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createTestNet, netnsSkipReason, type Pod, type Spawned, type TestNet } from '../helpers/netns.ts';
import { nativeAvailable, nativeUnavailableReason } from '../../src/proxy-init/original-dst.ts';
import { createTestCa, mintCredentials } from './certs.ts';
import type { Credentials } from '../../src/proxy/credentials.ts';

// The whole path with no Kubernetes: network namespaces as pods, each meshed one with an HTTP
// app or client, `weft proxy-init`'s iptables rules and a `weft proxy` running as uid 2102
// with certificates from the identity CA. A packet capture on B's veth checks the wire.
//
//   A (meshed client) ----mTLS----> B (meshed app: 8080 open, 8443 requires identity)
//   C (no proxy) ---plaintext-----> B
//   D (meshed, certificate from another CA) ---> B   refused

const WEFT = fileURLToPath(new URL('../../bin/weft.js', import.meta.url));
const PROXY_UID = 2102;
const skip =
  netnsSkipReason({ iptables: 'any', tools: ['setpriv', 'curl', 'tcpdump'] }) ??
  (nativeAvailable() ? undefined : `SO_ORIGINAL_DST addon missing: ${nativeUnavailableReason()}`);

const APP_CODE = `
import { createServer } from 'node:http';
let up = 0;
for (const port of [8080, 8443]) {
  createServer((req, res) => {
    let n = 0;
    req.on('data', (c) => (n += c.length));
    req.on('end', () => res.end(req.method + ' ' + req.url + ' ' + n + ' ' + port + '\\n'));
  }).listen(port, '0.0.0.0', () => { if (++up === 2) console.log('listening'); });
}
process.on('SIGTERM', () => process.exit(0));
`;

async function curl(net: TestNet, pod: Pod, url: string, extra: string[] = [], uid?: number): Promise<{ code: number | null; body: string; stderr: string }> {
  const r = await net.exec(pod, ['curl', '-sS', '--max-time', '5', ...extra, url], uid === undefined ? {} : { uid });
  return { code: r.code, body: r.stdout, stderr: r.stderr };
}

async function waitReady(net: TestNet, pod: Pod, proxy: Spawned): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const r = await net.exec(pod, ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', 'http://127.0.0.1:4191/ready'], { uid: PROXY_UID });
    if (r.stdout === '200') return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`proxy in ${pod.ns} never became ready; stderr: ${proxy.stderr}`);
}

async function metrics(net: TestNet, pod: Pod): Promise<string> {
  return net.run(pod, ['curl', '-sS', 'http://127.0.0.1:4191/metrics'], { uid: PROXY_UID });
}

/** Applies proxy-init's rules in `pod` and starts its proxy with `creds` (as uid 2102). */
async function meshPod(
  net: TestNet,
  pod: Pod,
  o: { name: string; creds: Credentials; discovery: string; write: (name: string, text: string) => string; initFlags: string[]; proxyFlags: string[] },
): Promise<Spawned> {
  await net.run(pod, [process.execPath, WEFT, 'proxy-init', ...o.initFlags, '--log-level', 'warn', '--inbound-ports-to-ignore', '4190,4191'], { timeoutMs: 30_000 });
  return net.spawn(
    pod,
    [
      process.execPath, WEFT, 'proxy',
      '--identity-cert', o.write(`${o.name}-cert.pem`, o.creds.certChainPem),
      '--identity-key', o.write(`${o.name}-key.pem`, o.creds.keyPem),
      '--trust-anchors', o.write(`${o.name}-ca.pem`, o.creds.trustAnchorsPem),
      '--discovery-file', o.discovery,
      ...o.proxyFlags,
    ],
    { uid: PROXY_UID, env: { ...process.env, WEFT_PROXY_LOG_LEVEL: 'debug', WEFT_PROXY_SHUTDOWN_GRACE: '5s' } },
  );
}

function sample(text: string, name: string, labels: Record<string, string>): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

test('netns e2e: mTLS between meshed pods, permissive and required-identity inbound, foreign CA refused, no plaintext on the wire', { skip, timeout: 120_000 }, async (t) => {
  const net = await createTestNet({ pods: 4, subnet: 31 });
  const dir = mkdtempSync(join(tmpdir(), 'weft-e2e-'));
  t.after(async () => {
    await net.cleanup();
    if (!process.env.WEFT_KEEP_E2E) rmSync(dir, { recursive: true, force: true });
  });
  chmodSync(dir, 0o755);
  const [A, B, C, D] = net.pods;
  const ca = await createTestCa('e2e');
  const foreign = await createTestCa('foreign');
  const creds: Record<string, Credentials> = {
    a: await mintCredentials(ca, 'client', 'a'),
    b: await mintCredentials(ca, 'web', 'b'),
    // D trusts both CAs, so only B's refusal can stop it.
    d: await mintCredentials(foreign, 'client', 'd', { trustAnchorsPem: foreign.anchorPem + ca.anchorPem }),
  };
  const write = (name: string, text: string): string => {
    const file = join(dir, name);
    writeFileSync(file, text, { mode: 0o644 });
    return file;
  };
  const discovery = write(
    'discovery.json',
    JSON.stringify({ endpoints: [{ ip: A.address, identity: creds.a.identity }, { ip: B.address, identity: creds.b.identity }, { ip: D.address, identity: creds.d.identity }] }),
  );

  const app = net.spawnNode(B, APP_CODE);
  await app.waitForLine(/^listening$/);
  const proxies: Record<string, Spawned> = {};
  for (const [name, pod] of [['a', A], ['b', B], ['d', D]] as const) {
    proxies[name] = await meshPod(net, pod, { name, creds: creds[name], discovery, write, initFlags: [], proxyFlags: ['--require-identity-inbound-ports', '8443'] });
  }
  for (const [name, pod] of [['a', A], ['b', B], ['d', D]] as const) await waitReady(net, pod, proxies[name]);

  // Capture everything on B's cable, from the hub's side of the veth.
  const pcap = join(dir, 'wire.pcap');
  const capture = net.spawn(net.hub, ['tcpdump', '--immediate-mode', '-i', `p${B.index}`, '-U', '-n', '-Z', 'root', '-w', pcap, 'tcp']);
  for (let i = 0; i < 100 && !capture.stderr.includes('listening on'); i++) await new Promise((r) => setTimeout(r, 50));
  assert.match(capture.stderr, /listening on/);

  const secret = `meshsecret${randomBytes(6).toString('hex')}`;
  const open = `plainvisible${randomBytes(6).toString('hex')}`;

  // A -> B over the mesh, with a secret in the path, a header and the body.
  const viaMesh = await curl(net, A, `http://${B.address}:8080/${secret}`, ['-H', `x-token: ${secret}`, '--data-binary', `body-${secret}`]);
  assert.equal(viaMesh.code, 0, `${viaMesh.stderr}\nA: ${proxies.a.stderr.slice(-2000)}\nB: ${proxies.b.stderr.slice(-2000)}`);
  assert.equal(viaMesh.body, `POST /${secret} ${`body-${secret}`.length} 8080\n`);
  // A meshed client passes the port that requires identity.
  const required = await curl(net, A, `http://${B.address}:8443/${secret}`);
  assert.equal(required.code, 0, required.stderr);
  assert.equal(required.body, `GET /${secret} 0 8443\n`);

  // C has no proxy: permissive port works in the clear, the identity-only port is refused.
  const plain = await curl(net, C, `http://${B.address}:8080/${open}`);
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(plain.body, `GET /${open} 0 8080\n`);
  const refused = await curl(net, C, `http://${B.address}:8443/${open}`);
  assert.notEqual(refused.code, 0, 'plaintext to a port that requires identity must fail');
  assert.match(refused.stderr, /reset|Empty reply|Recv failure/i);

  // D's certificate comes from another CA: B refuses the handshake.
  const stranger = await curl(net, D, `http://${B.address}:8080/${secret}`);
  assert.notEqual(stranger.code, 0, 'a peer from another CA must be refused');

  await new Promise((r) => setTimeout(r, 300)); // let tcpdump write the last packets
  await capture.stop(2000);
  const wire = readFileSync(pcap).toString('latin1');
  assert.ok(wire.includes(creds.b.identity), 'the capture holds the mesh ClientHello (SNI is B\'s identity): it saw the traffic');
  assert.ok(wire.includes(open), 'the capture shows plaintext where there is plaintext (C\'s request)');
  assert.ok(!wire.includes(secret), 'no byte of the meshed request crossed the wire in the clear');

  const mb = await metrics(net, B);
  const fromA = { direction: 'inbound', tls: 'true', client_id: creds.a.identity, server_id: creds.b.identity };
  assert.ok(sample(mb, 'tcp_open_total', { ...fromA, peer: 'src' }) >= 2, mb);
  assert.equal(sample(mb, 'request_total', fromA), 2);
  assert.equal(sample(mb, 'response_total', { ...fromA, status_code: '200', classification: 'success' }), 2);
  assert.equal(sample(mb, 'request_total', { direction: 'inbound', tls: 'no_identity' }), 1);
  assert.ok(sample(mb, 'tcp_refused_total', { direction: 'inbound', reason: 'identity-required' }) >= 1);
  assert.ok(sample(mb, 'tcp_refused_total', { direction: 'inbound', reason: 'tls-handshake' }) >= 1);
  assert.equal(sample(mb, 'request_total', { client_id: creds.d.identity }), 0);
  const ma = await metrics(net, A);
  assert.equal(sample(ma, 'request_total', { direction: 'outbound', tls: 'true', server_id: creds.b.identity }), 2);

  // SIGTERM: every proxy drains and exits cleanly.
  for (const name of ['a', 'b', 'd']) {
    const exit = await proxies[name].stop(10_000);
    assert.equal(exit.code, 0, `${name}: ${exit.stderr.slice(-1000)}`);
  }
});

test('netns e2e over IPv6: proxy-init --ipv6 redirects both ways, mTLS between the pods\' IPv6 addresses, IPv4 still served', { skip, timeout: 120_000 }, async (t) => {
  const net = await createTestNet({ pods: 2, subnet: 32, ipv6: true });
  const dir = mkdtempSync(join(tmpdir(), 'weft-e2e6-'));
  t.after(async () => {
    await net.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });
  chmodSync(dir, 0o755);
  const [A, B] = net.pods;
  const a6 = A.address6 as string;
  const b6 = B.address6 as string;
  const ca = await createTestCa('e2e6');
  const creds: Record<string, Credentials> = { a: await mintCredentials(ca, 'client', 'a'), b: await mintCredentials(ca, 'web', 'b') };
  const write = (name: string, text: string): string => {
    const file = join(dir, name);
    writeFileSync(file, text, { mode: 0o644 });
    return file;
  };
  const endpoints = [
    { ip: A.address, identity: creds.a.identity },
    { ip: a6, identity: creds.a.identity },
    { ip: B.address, identity: creds.b.identity },
    { ip: b6, identity: creds.b.identity },
  ];
  const discovery = write('discovery.json', JSON.stringify({ endpoints }));
  const app = net.spawnNode(B, APP_CODE.replace("'0.0.0.0'", "'::'"));
  await app.waitForLine(/^listening$/);
  const proxies: Record<string, Spawned> = {};
  for (const [name, pod] of [['a', A], ['b', B]] as const) {
    proxies[name] = await meshPod(net, pod, { name, creds: creds[name], discovery, write, initFlags: ['--ipv6'], proxyFlags: [] });
  }
  for (const [name, pod] of [['a', A], ['b', B]] as const) await waitReady(net, pod, proxies[name]);
  const rules = await net.run(A, ['ip6tables-save', '-t', 'nat']).catch(() => '');
  const secret = `six${randomBytes(6).toString('hex')}`;
  const v6 = await curl(net, A, `http://[${b6}]:8080/${secret}`);
  assert.equal(v6.code, 0, `${v6.stderr}\nrules: ${rules}\nA: ${proxies.a.stderr.slice(-2000)}\nB: ${proxies.b.stderr.slice(-2000)}`);
  assert.equal(v6.body, `GET /${secret} 0 8080\n`);
  const v4 = await curl(net, A, `http://${B.address}:8080/four`);
  assert.equal(v4.code, 0, v4.stderr);
  assert.equal(v4.body, 'GET /four 0 8080\n');

  const fromA = { direction: 'inbound', tls: 'true', client_id: creds.a.identity, server_id: creds.b.identity };
  const mb = await metrics(net, B);
  assert.equal(sample(mb, 'request_total', fromA), 2, `both requests arrived over mesh TLS from A's identity\n${mb}`);
  const ma = await metrics(net, A);
  assert.equal(sample(ma, 'request_total', { direction: 'outbound', tls: 'true', server_id: creds.b.identity }), 2);
  for (const name of ['a', 'b']) {
    const exit = await proxies[name].stop(10_000);
    assert.equal(exit.code, 0, `${name}: ${exit.stderr.slice(-1000)}`);
  }
});
