import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { startIdentityServer, type IdentityServer } from '../../src/identity/server.ts';
import { IdentityClient, validateIssued, type CurrentCertificate } from '../../src/identity/client.ts';
import { generateKey } from '../../src/identity/keys.ts';
import { mintWorkloadIdentity, createIssuer, createTrustAnchor } from '../../src/identity/ca.ts';
import { makeFixture, silentLog, newRegistry, type Fixture } from './fixture.ts';
import { HAVE_OPENSSL, opensslVerify } from './helpers.ts';
import type { Registry } from 'prom-client';
import { createProxyLogger } from '../../src/proxy/log.ts';
import { ComponentMetrics } from '../../src/proxy/metrics.ts';
import { registrySink } from '../../src/identity/prom-metrics.ts';
import { IDENTITY_CLIENT_METRICS } from '../../src/identity/metrics-sink.ts';

let fx: Fixture;
let server: IdentityServer;
const CART_DNS = 'cart.shop.serviceaccount.identity.weft.cluster.local';

before(async () => {
  fx = await makeFixture();
  server = await startIdentityServer(fx.options, { log: silentLog, registry: newRegistry(), controllerNamespace: 'weft' });
});
after(async () => {
  await server.close();
  fx.cleanup();
});

function clientFor(opts: { tokenFile: string; registry?: Registry; identityDir?: string; localName?: string; expectedServerName?: string; url?: string }): IdentityClient {
  return new IdentityClient({
    url: opts.url ?? `https://127.0.0.1:${server.port}`,
    tokenFile: opts.tokenFile,
    trustAnchorsPem: fx.anchor.certPem,
    log: silentLog,
    metrics: registrySink(opts.registry ?? newRegistry()),
    expectedServerName: opts.expectedServerName ?? server.serverName,
    backoff: { minMs: 20, maxMs: 100 },
    ...(opts.identityDir !== undefined ? { identityDir: opts.identityDir } : {}),
    ...(opts.localName !== undefined ? { localName: opts.localName } : {}),
  });
}

async function metricValue(registry: Registry, name: string): Promise<number> {
  return (await registry.getSingleMetric(name)!.get()).values[0]?.value ?? 0;
}

test('the client obtains a certificate for its token identity, keeps it in memory and in its directory', async () => {
  const registry = newRegistry();
  const identityDir = join(fx.dir, 'proxy-identity');
  const client = clientFor({ tokenFile: fx.writeToken('cart.token', fx.token({ namespace: 'shop', serviceAccount: 'cart' })), registry, identityDir, localName: CART_DNS });
  assert.equal(client.ready(), false);
  await client.start();
  try {
    const cert = client.current()!;
    assert.equal(cert.identity, 'spiffe://cluster.local/ns/shop/sa/cart');
    assert.equal(cert.dnsName, CART_DNS);
    assert.ok(client.ready());
    const leaf = new X509Certificate(cert.certChainPem);
    assert.equal(leaf.publicKey.asymmetricKeyType, 'ec');
    assert.equal(await metricValue(registry, 'identity_cert_expiration_timestamp_seconds'), cert.notAfter.getTime() / 1000);
    assert.equal(readFileSync(join(identityDir, 'cert.pem'), 'utf8'), cert.certChainPem);
    assert.equal(readFileSync(join(identityDir, 'key.pem'), 'utf8'), cert.keyPem);
    assert.equal(statSync(join(identityDir, 'key.pem')).mode & 0o777, 0o600);
    if (HAVE_OPENSSL) {
      const [leafPem, ...chain] = cert.certChainPem.split(/(?<=-----END CERTIFICATE-----\n)/);
      const result = opensslVerify({ anchorPem: fx.anchor.certPem, chainPem: chain.join(''), leafPem: leafPem!, purpose: 'sslserver' });
      assert.ok(result.ok, result.output);
    }
  } finally {
    client.stop();
  }
});

test('two meshed workloads complete a TLS 1.3 mutual handshake with issued certificates and see each other\'s identity', async () => {
  const a = clientFor({ tokenFile: fx.writeToken('a.token', fx.token({ namespace: 'shop', serviceAccount: 'cart' })) });
  const b = clientFor({ tokenFile: fx.writeToken('b.token', fx.token({ namespace: 'shop', serviceAccount: 'web' })) });
  await Promise.all([a.start(), b.start()]);
  const serverCert = a.current()!;
  const clientCert = b.current()!;
  const tlsServer = createServer({ key: serverCert.keyPem, cert: serverCert.certChainPem, ca: serverCert.trustAnchorsPem, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' }, (socket) => {
    socket.end(socket.getPeerX509Certificate()?.subjectAltName ?? '');
  });
  tlsServer.listen(0, '127.0.0.1');
  await once(tlsServer, 'listening');
  try {
    const { port } = tlsServer.address() as AddressInfo;
    const socket: TLSSocket = connect({ host: '127.0.0.1', port, key: clientCert.keyPem, cert: clientCert.certChainPem, ca: clientCert.trustAnchorsPem, servername: serverCert.dnsName });
    await once(socket, 'secureConnect');
    assert.equal(socket.getProtocol(), 'TLSv1.3');
    assert.match(socket.getPeerX509Certificate()!.subjectAltName!, /spiffe:\/\/cluster\.local\/ns\/shop\/sa\/cart/);
    const chunks: Buffer[] = [];
    for await (const chunk of socket) chunks.push(chunk as Buffer);
    assert.match(Buffer.concat(chunks).toString(), /spiffe:\/\/cluster\.local\/ns\/shop\/sa\/web/);
  } finally {
    tlsServer.close();
    a.stop();
    b.stop();
  }
});

test('with a short lifetime the client renews before expiry and announces the rotation', async () => {
  const local = await makeFixture({ certLifetimeMs: 2_000 });
  const shortServer = await startIdentityServer(local.options, { log: silentLog, registry: newRegistry(), controllerNamespace: 'weft' });
  const registry = newRegistry();
  const client = new IdentityClient({
    url: `https://127.0.0.1:${shortServer.port}`,
    tokenFile: local.writeToken('t', local.token({ namespace: 'shop', serviceAccount: 'cart' })),
    trustAnchorsPem: local.anchor.certPem,
    log: silentLog,
    // A Registry itself (as test/e2e passes one): prom-client is loaded, and the metrics registered, on start().
    registry,
    expectedServerName: shortServer.serverName,
  });
  try {
    await client.start();
    const first = client.current()!;
    const rotated = await new Promise<{ cert: CurrentCertificate; at: number }>((resolve) => {
      const off = client.onRotate((cert) => {
        off();
        resolve({ cert, at: Date.now() });
      });
    });
    assert.ok(rotated.at < first.notAfter.getTime(), `renewed at ${new Date(rotated.at).toISOString()}, old cert expired ${first.notAfter.toISOString()}`);
    assert.notEqual(rotated.cert.certChainPem, first.certChainPem);
    assert.equal(rotated.cert.keyPem, first.keyPem, 'the key is kept across renewals');
    assert.ok(rotated.cert.notAfter >= first.notAfter);
    assert.equal(await metricValue(registry, 'identity_cert_refreshes_total'), 2);
  } finally {
    client.stop();
    await shortServer.close();
    local.cleanup();
  }
});

test('refusals are retried with backoff and counted; the client recovers once the token is good', async () => {
  const registry = newRegistry();
  const tokenFile = fx.writeToken('late.token', fx.token({ namespace: 'shop', serviceAccount: 'cart', audience: 'wrong-audience' }));
  const client = clientFor({ tokenFile, registry });
  const started = client.start();
  try {
    while ((await metricValue(registry, 'identity_cert_refresh_failures_total')) < 2) await new Promise((r) => setTimeout(r, 10));
    assert.equal(client.ready(), false, 'not ready without a certificate');
    writeFileSync(tokenFile, fx.token({ namespace: 'shop', serviceAccount: 'cart' }));
    await started;
    assert.ok(client.ready());
  } finally {
    client.stop();
  }
});

test('the client refuses an identity endpoint that does not present the expected name', async () => {
  const client = clientFor({ tokenFile: fx.writeToken('c.token', fx.token({ namespace: 'shop', serviceAccount: 'cart' })), expectedServerName: 'weft-identity.other.serviceaccount.identity.other.cluster.local' });
  await assert.rejects(client.refresh(), /does not match|altnames/i);
  client.stop();
});

test('stop() before the first certificate rejects start()', async () => {
  const client = clientFor({ tokenFile: join(fx.dir, 'missing.token') });
  const started = client.start();
  setTimeout(() => client.stop(), 50);
  await assert.rejects(started, /stopped/);
});

test('validateIssued refuses a certificate for another key, another name or another root', async () => {
  const key = await generateKey('ecdsa-p256');
  const identity = { trustDomain: 'cluster.local', namespace: 'shop', serviceAccount: 'cart', controllerNamespace: 'weft' };
  const other = await mintWorkloadIdentity(fx.issuer, identity);
  const [leaf] = other.chainPem.split(/(?<=-----END CERTIFICATE-----\n)/);
  const response = { certificate: leaf!, chain: [fx.issuer.certPem], expiresAt: other.notAfter.toISOString(), identity: 'x', dnsName: CART_DNS };
  assert.throws(() => validateIssued(response, { key, trustAnchorsPem: fx.anchor.certPem }), /not for our key/);
  const ours = await (await import('../../src/identity/ca.ts')).issueWorkloadCertificate(fx.issuer, { publicKey: key.publicKey, identity });
  const good = { ...response, certificate: ours.certPem };
  assert.equal(validateIssued(good, { key, trustAnchorsPem: fx.anchor.certPem }).identity, 'spiffe://cluster.local/ns/shop/sa/cart');
  assert.throws(() => validateIssued(good, { key, trustAnchorsPem: fx.anchor.certPem, localName: 'web.shop.serviceaccount.identity.weft.cluster.local' }), /expected/);
  const foreignRoot = await createTrustAnchor();
  assert.throws(() => validateIssued(good, { key, trustAnchorsPem: foreignRoot.certPem }), /trust anchors/);
  const otherIssuer = await createIssuer(fx.anchor);
  assert.throws(() => validateIssued({ ...good, chain: [otherIssuer.certPem] }, { key, trustAnchorsPem: fx.anchor.certPem }), /broken/);
});

test('without expectedServerName the client expects the identity service name implied by its own identity', async () => {
  const { identityServerNameFor } = await import('../../src/identity/client.ts');
  assert.equal(identityServerNameFor(CART_DNS), server.serverName);
  assert.equal(identityServerNameFor('cart.shop.svc.cluster.local'), undefined);
  const client = new IdentityClient({
    url: `https://127.0.0.1:${server.port}`,
    tokenFile: fx.writeToken('implied.token', fx.token({ namespace: 'shop', serviceAccount: 'cart' })),
    trustAnchorsPem: fx.anchor.certPem,
    log: silentLog,
    registry: newRegistry(),
    localName: CART_DNS,
  });
  try {
    assert.equal((await client.refresh()).dnsName, CART_DNS);
  } finally {
    client.stop();
  }
});

test('an unwritable identity directory does not cost the proxy its certificate', { timeout: 10_000 }, async () => {
  const blocker = join(fx.dir, 'not-a-dir');
  writeFileSync(blocker, 'a file where the directory should be');
  const client = clientFor({ tokenFile: fx.writeToken('d.token', fx.token({ namespace: 'shop', serviceAccount: 'cart' })), identityDir: join(blocker, 'identity') });
  try {
    await client.start();
    assert.ok(client.ready());
  } finally {
    client.stop();
  }
});

test('with the proxy\'s own logger and metrics: identity_cert_* render as prom-client rendered them, and a refusal logs its reason', async () => {
  const lines: string[] = [];
  const log = createProxyLogger('info', { role: 'proxy' }, (line) => lines.push(line));
  const metrics = new ComponentMetrics({ role: 'proxy' });
  const tokenFile = fx.writeToken('own.token', fx.token({ namespace: 'shop', serviceAccount: 'cart', audience: 'wrong-audience' }));
  const client = new IdentityClient({ url: `https://127.0.0.1:${server.port}`, tokenFile, trustAnchorsPem: fx.anchor.certPem, log, metrics, expectedServerName: server.serverName, backoff: { minMs: 20, maxMs: 100 } });
  assert.match(metrics.metrics(), /^identity_cert_refreshes_total\{role="proxy"\} 0$/m, 'shown before the first certificate');
  const started = client.start();
  try {
    while (!/^identity_cert_refresh_failures_total\{role="proxy"\} [1-9]/m.test(metrics.metrics())) await new Promise((r) => setTimeout(r, 10));
    writeFileSync(tokenFile, fx.token({ namespace: 'shop', serviceAccount: 'cart' }));
    await started;
    const notAfter = client.current()!.notAfter.getTime() / 1000;
    const failures = Number(/^identity_cert_refresh_failures_total\{role="proxy"\} (\d+)$/m.exec(metrics.metrics())![1]);
    // The same text a prom-client Registry with the role default label gives for the same values.
    const registry = newRegistry();
    registry.setDefaultLabels({ role: 'proxy' });
    const sink = registrySink(registry);
    for (const m of Object.values(IDENTITY_CLIENT_METRICS)) {
      if (m.name.endsWith('_total')) sink.counter(m.name, m.help);
      else sink.gauge(m.name, m.help).set(notAfter);
    }
    for (let i = 0; i < failures; i++) sink.counter(IDENTITY_CLIENT_METRICS.failures.name, '').inc();
    sink.counter(IDENTITY_CLIENT_METRICS.refreshes.name, '').inc();
    const sorted = (text: string) => text.split('\n').filter(Boolean).sort();
    assert.deepEqual(sorted(metrics.metrics()), sorted(await registry.metrics()));
    const records = lines.map((line) => JSON.parse(line) as { level: string; component?: string; msg?: string; err?: { message?: string; status?: number } });
    const refused = records.find((r) => r.msg === 'identity certificate request failed');
    assert.equal(refused?.component, 'identity-client');
    assert.equal(refused?.err?.status, 401);
    assert.match(refused?.err?.message ?? '', /refused \(HTTP 401/);
    assert.ok(records.some((r) => r.level === 'info' && r.msg === 'identity certificate obtained'));
  } finally {
    client.stop();
  }
});
