import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { KubeClient } from '../../src/kube/client.ts';
import { startIdentityServer } from '../../src/identity/server.ts';
import { createWebhookCertificates } from '../../src/identity/ca.ts';
import { createCsr } from '../../src/identity/csr.ts';
import { generateKey } from '../../src/identity/keys.ts';
import { verifyServiceAccountJwt, keysFromJwks, jwksFor, signServiceAccountToken, JwksAuthenticator, type TokenAuthenticator } from '../../src/identity/tokens.ts';
import { makeFixture, silentLog, newRegistry, AUDIENCE, SA_ISSUER, type Fixture } from './fixture.ts';
import { post } from './https.ts';

// The TokenReview path end to end over real HTTPS: weft's API client posts a TokenReview to an API
// stand-in that answers as kube-apiserver does, deciding with real JWT verification against the
// fixture's service-account key. The e2e suite runs the same against a real API server.

let fx: Fixture;
let api: Server;
let apiPort: number;
const reviews: { audiences?: string[] }[] = [];

const clients: KubeClient[] = [];
function kubeFor(port: number, caPem: string): KubeClient {
  const client = new KubeClient({ server: new URL(`https://127.0.0.1:${port}`), ca: Buffer.from(caPem), verifyServer: true, authorization: async () => 'Bearer controller-token', source: 'test' });
  clients.push(client);
  return client;
}

let apiCa: string;
before(async () => {
  fx = await makeFixture({ jwksFile: undefined, tokenIssuer: undefined });
  const keys = keysFromJwks(JSON.parse(readFileSync(fx.jwksFile, 'utf8')));
  const certs = await createWebhookCertificates({ service: 'kubernetes', namespace: 'default', ipAddresses: ['127.0.0.1'] });
  apiCa = certs.ca.certPem;
  api = createServer({ key: certs.serving.keyPem, cert: certs.serving.certPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url?.split('?')[0] !== '/apis/authentication.k8s.io/v1/tokenreviews' || req.headers.authorization !== 'Bearer controller-token') {
        res.writeHead(403, { 'content-type': 'application/json' }).end('{"kind":"Status","code":403}');
        return;
      }
      const review = JSON.parse(Buffer.concat(chunks).toString()) as { spec: { token: string; audiences?: string[] } };
      reviews.push({ audiences: review.spec.audiences });
      const audience = review.spec.audiences?.[0] ?? 'https://kubernetes.default.svc';
      let status: object;
      try {
        const who = verifyServiceAccountJwt(review.spec.token, { keys, audience, issuer: SA_ISSUER });
        status = { authenticated: true, audiences: [audience], user: { username: `system:serviceaccount:${who.namespace}:${who.serviceAccount}`, groups: ['system:serviceaccounts'] } };
      } catch (error) {
        status = { authenticated: false, error: `[invalid bearer token, ${(error as Error).message}]` };
      }
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: review.spec, status }));
    });
  });
  api.listen(0, '127.0.0.1');
  await once(api, 'listening');
  apiPort = (api.address() as AddressInfo).port;
});
after(() => {
  for (const client of clients) client.close();
  api.close();
  fx.cleanup();
});

async function ask(port: number, servername: string, token: string, ca: string = fx.anchor.certPem) {
  return post({ port, ca, servername, headers: { authorization: `Bearer ${token}` }, body: JSON.stringify({ csr: await createCsr(await generateKey('ecdsa-p256')) }) });
}

test('TokenReview: the identity is the reviewed service account, and the mesh audience is asked for', async () => {
  const server = await startIdentityServer(fx.options, { log: silentLog, registry: newRegistry(), controllerNamespace: 'weft', kube: kubeFor(apiPort, apiCa) });
  try {
    const ok = await ask(server.port, server.serverName, fx.token({ namespace: 'shop', serviceAccount: 'cart' }));
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.identity, 'spiffe://cluster.local/ns/shop/sa/cart');
    assert.deepEqual(reviews.at(-1)?.audiences, [AUDIENCE]);
    const wrong = await ask(server.port, server.serverName, fx.token({ namespace: 'shop', serviceAccount: 'cart', audience: 'https://kubernetes.default.svc' }));
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error, 'token_audience');
  } finally {
    await server.close();
  }
});

test('TokenReview unreachable: 503, so the proxy retries, not 401', async () => {
  const closed = createServer();
  closed.listen(0, '127.0.0.1');
  await once(closed, 'listening');
  const deadPort = (closed.address() as AddressInfo).port;
  closed.close();
  const registry = newRegistry();
  const server = await startIdentityServer(fx.options, { log: silentLog, registry, controllerNamespace: 'weft', kube: kubeFor(deadPort, apiCa) });
  try {
    const res = await ask(server.port, server.serverName, fx.token({ namespace: 'shop', serviceAccount: 'cart' }));
    assert.equal(res.status, 503, JSON.stringify(res.body));
    assert.equal(res.body.error, 'authenticator_unavailable');
    const refusals = (await registry.getSingleMetric('identity_certify_refusals_total')!.get()).values;
    assert.equal(refusals.find((v) => v.labels.reason === 'authenticator_unavailable')?.value, 1);
  } finally {
    await server.close();
  }
});

test('a rotated service-account key is picked up when the JWKS file changes', async () => {
  const local = await makeFixture();
  const server = await startIdentityServer(local.options, { log: silentLog, registry: newRegistry(), controllerNamespace: 'weft' });
  try {
    const next = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const nextPem = next.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const token = signServiceAccountToken({ namespace: 'shop', serviceAccount: 'cart', audience: AUDIENCE, issuer: SA_ISSUER }, nextPem, 'key-2');
    assert.equal((await ask(server.port, server.serverName, token, local.anchor.certPem)).status, 401, 'unknown key before the reload');
    writeFileSync(local.jwksFile, JSON.stringify(jwksFor([{ key: next.publicKey, kid: 'key-2' }])));
    await server.reload();
    assert.equal((await ask(server.port, server.serverName, token, local.anchor.certPem)).status, 200, 'accepted after the reload');
    assert.equal((await ask(server.port, server.serverName, local.token({ namespace: 'shop', serviceAccount: 'cart' }), local.anchor.certPem)).status, 401, 'the retired key no longer works');
  } finally {
    await server.close();
    local.cleanup();
  }
});

test('beyond the in-flight bound, callers get 503 with Retry-After instead of queueing', async () => {
  const local = await makeFixture({ maxInflight: 1 });
  const real = new JwksAuthenticator(keysFromJwks(JSON.parse(readFileSync(local.jwksFile, 'utf8'))), AUDIENCE, SA_ISSUER);
  let open!: () => void;
  let entered!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const inside = new Promise<void>((resolve) => (entered = resolve));
  // Holds the first request inside token checking so a second one finds the service busy.
  const gated: TokenAuthenticator = {
    kind: 'gated-jwks',
    authenticate: async (token) => {
      entered();
      await gate;
      return real.authenticate(token);
    },
  };
  const server = await startIdentityServer(local.options, { log: silentLog, registry: newRegistry(), controllerNamespace: 'weft', authenticator: gated });
  try {
    const token = local.token({ namespace: 'shop', serviceAccount: 'cart' });
    const first = ask(server.port, server.serverName, token, local.anchor.certPem);
    await inside;
    const second = await ask(server.port, server.serverName, token, local.anchor.certPem);
    assert.equal(second.status, 503);
    assert.equal(second.body.error, 'overloaded');
    assert.equal(second.headers['retry-after'], '1');
    open();
    assert.equal((await first).status, 200);
    assert.equal((await ask(server.port, server.serverName, token, local.anchor.certPem)).status, 200, 'capacity is released after each request');
  } finally {
    await server.close();
    local.cleanup();
  }
});
