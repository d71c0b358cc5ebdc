import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { connect } from 'node:tls';
import { startIdentityServer, type IdentityServer } from '../../src/identity/server.ts';
import { createCsr } from '../../src/identity/csr.ts';
import { generateKey } from '../../src/identity/keys.ts';
import { createIssuer, createTrustAnchor } from '../../src/identity/ca.ts';
import { signJwt } from '../../src/identity/tokens.ts';
import { makeFixture, silentLog, newRegistry, AUDIENCE, SA_ISSUER, type Fixture } from './fixture.ts';
import { post } from './https.ts';
import { HAVE_OPENSSL, opensslVerify } from './helpers.ts';
import type { Registry } from 'prom-client';

let fx: Fixture;
let server: IdentityServer;
let registry: Registry;
const CART_DNS = 'cart.shop.serviceaccount.identity.weft.cluster.local';

before(async () => {
  fx = await makeFixture();
  registry = newRegistry();
  server = await startIdentityServer(fx.options, { log: silentLog, registry, controllerNamespace: 'weft' });
});
after(async () => {
  await server.close();
  fx.cleanup();
});

async function csrFor(names: { dnsName?: string; spiffeId?: string } = {}): Promise<string> {
  return createCsr(await generateKey('ecdsa-p256'), names);
}

function certify(token: string | undefined, body: unknown, extraHeaders: Record<string, string> = {}) {
  return post({
    port: server.port,
    ca: fx.anchor.certPem,
    servername: server.serverName,
    headers: { ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}), ...extraHeaders },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function refusals(reason: string): Promise<number> {
  const metric = await registry.getSingleMetric('identity_certify_refusals_total')!.get();
  return metric.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

async function expectRefusal(response: Promise<Awaited<ReturnType<typeof certify>>>, status: number, code: string, message?: RegExp): Promise<void> {
  const before = await refusals(code);
  const res = await response;
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.error, code);
  assert.equal(typeof res.body.message, 'string');
  if (message) assert.match(res.body.message!, message);
  assert.equal(res.body.certificate, undefined);
  assert.equal(await refusals(code), before + 1, `refusal ${code} counted`);
}

test('a valid token and CSR get a certificate for exactly the token identity, chained to the anchor', async () => {
  const res = await certify(fx.token({ namespace: 'shop', serviceAccount: 'cart', podName: 'cart-1' }), { csr: await csrFor({ dnsName: CART_DNS }) });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.identity, 'spiffe://cluster.local/ns/shop/sa/cart');
  const leaf = new X509Certificate(res.body.certificate!);
  assert.equal(leaf.subjectAltName, `DNS:${CART_DNS}, URI:spiffe://cluster.local/ns/shop/sa/cart`);
  assert.deepEqual(res.body.chain, [fx.issuer.certPem]);
  assert.ok(leaf.verify(new X509Certificate(res.body.chain![0]!).publicKey));
  assert.ok(new X509Certificate(res.body.chain![0]!).verify(new X509Certificate(fx.anchor.certPem).publicKey));
  assert.equal(new Date(res.body.expiresAt!).getTime(), new Date(leaf.validTo).getTime());
  if (HAVE_OPENSSL) {
    const verified = opensslVerify({ anchorPem: fx.anchor.certPem, chainPem: res.body.chain!.join(''), leafPem: res.body.certificate!, purpose: 'sslclient' });
    assert.ok(verified.ok, verified.output);
  }
});

test('a CSR with no names is fine: the identity comes from the token', async () => {
  const res = await certify(fx.token({ namespace: 'shop', serviceAccount: 'cart' }), { csr: await csrFor() });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.identity, 'spiffe://cluster.local/ns/shop/sa/cart');
});

test('refused: no Authorization header (401)', async () => {
  const res = certify(undefined, { csr: await csrFor() });
  await expectRefusal(res, 401, 'token_missing');
  assert.equal((await certify(undefined, { csr: await csrFor() })).headers['www-authenticate'], 'Bearer');
});

test('refused: a token for another audience (401)', async () => {
  await expectRefusal(certify(fx.token({ namespace: 'shop', serviceAccount: 'cart', audience: 'https://kubernetes.default.svc' }), { csr: await csrFor() }), 401, 'token_audience', /audience/);
});

test('refused: an expired token (401)', async () => {
  const token = fx.token({ namespace: 'shop', serviceAccount: 'cart', now: new Date(Date.now() - 2 * 3_600_000), lifetimeSeconds: 600 });
  await expectRefusal(certify(token, { csr: await csrFor() }), 401, 'token_expired', /expired/);
});

test('refused: a forged token signed by a key the API server never published (401)', async () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const forged = signJwt(
    { aud: AUDIENCE, iss: SA_ISSUER, sub: 'system:serviceaccount:kube-system:admin', exp: Math.floor(Date.now() / 1000) + 600 },
    privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    { kid: fx.kid },
  );
  await expectRefusal(certify(forged, { csr: await csrFor() }), 401, 'token_signature');
});

test('refused: a valid token with its payload swapped for another identity (401)', async () => {
  const [header, , signature] = fx.token({ namespace: 'shop', serviceAccount: 'cart' }).split('.');
  const payload = Buffer.from(JSON.stringify({ aud: AUDIENCE, iss: SA_ISSUER, sub: 'system:serviceaccount:kube-system:admin', exp: Math.floor(Date.now() / 1000) + 600 })).toString('base64url');
  await expectRefusal(certify(`${header}.${payload}.${signature}`, { csr: await csrFor() }), 401, 'token_signature');
});

test('refused: alg "none" and HMAC tokens (401)', async () => {
  const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ aud: AUDIENCE, sub: 'system:serviceaccount:shop:cart', exp: 9e9 })).toString('base64url')}.x`;
  await expectRefusal(certify(unsigned, { csr: await csrFor() }), 401, 'token_signature');
  const hmac = `${Buffer.from('{"alg":"HS256"}').toString('base64url')}.${Buffer.from('{}').toString('base64url')}.abc`;
  await expectRefusal(certify(hmac, { csr: await csrFor() }), 401, 'token_signature');
});

test('refused: a token from another issuer (401)', async () => {
  await expectRefusal(certify(fx.token({ namespace: 'shop', serviceAccount: 'cart', issuer: 'https://evil.example' }), { csr: await csrFor() }), 401, 'token_issuer');
});

test('refused: garbage instead of a token (401)', async () => {
  await expectRefusal(certify('not-a-jwt', { csr: await csrFor() }), 401, 'token_malformed');
});

test('refused: a CSR that asks for another service account (403)', async () => {
  const token = fx.token({ namespace: 'shop', serviceAccount: 'cart' });
  await expectRefusal(certify(token, { csr: await csrFor({ dnsName: 'admin.kube-system.serviceaccount.identity.weft.cluster.local' }) }), 403, 'csr_identity_mismatch', /admin\.kube-system/);
  await expectRefusal(certify(token, { csr: await csrFor({ dnsName: CART_DNS, spiffeId: 'spiffe://cluster.local/ns/kube-system/sa/admin' }) }), 403, 'csr_identity_mismatch', /URI/);
});

test('refused: a CSR with a bad signature (400)', async () => {
  const csr = await csrFor({ dnsName: CART_DNS });
  const der = Buffer.from(csr.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
  der[der.length - 3] = der[der.length - 3]! ^ 0x55;
  const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  await expectRefusal(certify(fx.token({ namespace: 'shop', serviceAccount: 'cart' }), { csr: tampered }), 400, 'csr_invalid', /signature/);
});

test('refused: a CSR for a weak RSA key (400)', async () => {
  const csr = await createCsr(await generateKey({ rsaBits: 1024 }));
  await expectRefusal(certify(fx.token({ namespace: 'shop', serviceAccount: 'cart' }), { csr }), 400, 'csr_invalid', /2048/);
});

test('refused: malformed bodies (400), oversized bodies (413), non-JSON media (415)', async () => {
  const token = fx.token({ namespace: 'shop', serviceAccount: 'cart' });
  await expectRefusal(certify(token, '{"csr":'), 400, 'bad_request');
  await expectRefusal(certify(token, { nope: 1 }), 400, 'bad_request');
  await expectRefusal(certify(token, { csr: 'x'.repeat(64 * 1024) }), 413, 'payload_too_large');
  await expectRefusal(certify(token, 'csr', { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
});

test('the endpoint presents a certificate for its mesh name, verified by the anchor alone', async () => {
  const peer = await new Promise<X509Certificate>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: server.port, ca: fx.anchor.certPem, servername: server.serverName }, () => {
      const cert = socket.getPeerX509Certificate()!;
      socket.end();
      resolve(cert);
    });
    socket.on('error', reject);
  });
  assert.equal(peer.subjectAltName, `DNS:${server.serverName}, DNS:weft-identity.weft.svc, DNS:weft-identity.weft.svc.cluster.local`);
  await assert.rejects(
    new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: server.port, ca: fx.anchor.certPem, servername: 'weft-controller.weft.svc' }, () => resolve(socket.end()));
      socket.on('error', reject);
    }),
    /does not match|altnames/i,
  );
});

test('the issuer is reloaded from its files; a broken replacement is refused and the old one kept', async () => {
  const token = fx.token({ namespace: 'shop', serviceAccount: 'cart' });
  const next = await createIssuer(fx.anchor, { commonName: 'identity-2.weft.cluster.local' });
  fx.writeIssuer(next);
  await server.reload();
  let res = await certify(token, { csr: await csrFor() });
  assert.equal(res.status, 200);
  assert.deepEqual(res.body.chain, [next.certPem]);
  assert.match(new X509Certificate(res.body.certificate!).issuer, /identity-2/);

  const foreign = await createIssuer(await createTrustAnchor(), { commonName: 'foreign' });
  fx.writeIssuer(foreign);
  const failuresBefore = (await registry.getSingleMetric('identity_issuer_reloads_total')!.get()).values.find((v) => v.labels.result === 'failure')?.value ?? 0;
  await server.reload();
  const failuresAfter = (await registry.getSingleMetric('identity_issuer_reloads_total')!.get()).values.find((v) => v.labels.result === 'failure')?.value ?? 0;
  assert.equal(failuresAfter, failuresBefore + 1);
  res = await certify(token, { csr: await csrFor() });
  assert.deepEqual(res.body.chain, [next.certPem], 'still signing with the last good issuer');
  assert.ok(server.ready());
  fx.writeIssuer(fx.issuer);
  await server.reload();
});

test('requests beyond the per-address rate are refused with 429 and Retry-After', async () => {
  const local = await makeFixture({ rateLimitPerSecond: 1 });
  const reg = newRegistry();
  const limited = await startIdentityServer(local.options, { log: silentLog, registry: reg, controllerNamespace: 'weft' });
  try {
    const send = () =>
      post({ port: limited.port, ca: local.anchor.certPem, servername: limited.serverName, headers: { authorization: `Bearer ${local.token({ namespace: 'a', serviceAccount: 'b' })}` }, body: '{}' });
    const statuses: number[] = [];
    let retryAfter: string | string[] | undefined;
    for (let i = 0; i < 4; i++) {
      const res = await send();
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers['retry-after'];
    }
    // Burst is twice the rate; these four arrive far faster than one a second.
    assert.deepEqual(statuses.slice(0, 2), [400, 400]);
    assert.ok(statuses.slice(2).includes(429), `statuses ${statuses}`);
    assert.ok(Number(retryAfter) >= 1);
  } finally {
    await limited.close();
    local.cleanup();
  }
});

test('the endpoint certificate is renewed past half its life, without a restart', async () => {
  // 4 s, cut to whole seconds: the half-life lands between 1.5 s and 2 s after issuance.
  const local = await makeFixture({ certLifetimeMs: 4_000 });
  const short = await startIdentityServer(local.options, { log: silentLog, registry: newRegistry(), controllerNamespace: 'weft' });
  const peerSerial = () =>
    new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: short.port, ca: local.anchor.certPem, servername: short.serverName }, () => {
        const serial = socket.getPeerX509Certificate()!.serialNumber;
        socket.end();
        resolve(serial);
      });
      socket.on('error', reject);
    });
  try {
    const first = await peerSerial();
    await short.reload();
    assert.equal(await peerSerial(), first, 'young certificate kept');
    await new Promise((resolve) => setTimeout(resolve, 2_300));
    await short.reload();
    assert.notEqual(await peerSerial(), first, 'renewed after half its lifetime');
  } finally {
    await short.close();
    local.cleanup();
  }
});

test('issued requests and the issuer expiry are exported as metrics', async () => {
  const issuedBefore = (await registry.getSingleMetric('identity_certify_requests_total')!.get()).values.find((v) => v.labels.result === 'issued')?.value ?? 0;
  const res = await certify(fx.token({ namespace: 'shop', serviceAccount: 'cart' }), { csr: await csrFor() });
  assert.equal(res.status, 200);
  const issuedAfter = (await registry.getSingleMetric('identity_certify_requests_total')!.get()).values.find((v) => v.labels.result === 'issued')?.value ?? 0;
  assert.equal(issuedAfter, issuedBefore + 1);
  const expiry = (await registry.getSingleMetric('identity_issuer_expiration_timestamp_seconds')!.get()).values[0]?.value;
  assert.equal(expiry, new Date(new X509Certificate(fx.issuer.certPem).validTo).getTime() / 1000);
  const text = await registry.metrics();
  assert.match(text, /identity_certify_duration_seconds_count \d+/);
});
