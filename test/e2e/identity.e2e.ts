import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { X509Certificate } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { startIdentityServer } from '../../src/identity/server.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { connectionFromKubeconfig } from '../../src/kube/connection.ts';
import { IdentityClient } from '../../src/identity/client.ts';
import { createCsr } from '../../src/identity/csr.ts';
import { generateKey } from '../../src/identity/keys.ts';
import { makeFixture, silentLog, newRegistry, AUDIENCE } from '../identity/fixture.ts';
import { post } from '../identity/https.ts';
import { e2eKubeConfig, runId } from '../helpers/kube.ts';

// The identity service against a real API server: a ServiceAccount, a token for it from the
// TokenRequest API with the mesh audience, and a certificate for exactly that identity through
// TokenReview; a token for another audience is refused. Then the same through local verification
// against the JWKS the API server publishes. Run under `flock /tmp/k8s-e2e.lock` on a shared cluster.

const kc = e2eKubeConfig();
const KUBECTL = [process.env.KUBECTL, '/opt/k8s-run/bin/kubectl'].find((p): p is string => p !== undefined && existsSync(p));
const skip = typeof kc === 'string' ? kc : false;
// The SA issuer of the cluster; /opt/k8s-run uses Kubernetes' conventional one.
const SA_ISSUER = process.env.WEFT_E2E_SA_ISSUER ?? 'https://kubernetes.default.svc.cluster.local';

async function requestToken(core: k8s.CoreV1Api, namespace: string, name: string, audiences: string[]): Promise<string> {
  const answer = await core.createNamespacedServiceAccountToken({ name, namespace, body: { spec: { audiences, expirationSeconds: 600 } } });
  const token = answer.status?.token;
  assert.ok(token, 'TokenRequest returned a token');
  return token;
}

test('e2e: a TokenRequest token with the mesh audience gets a certificate for exactly its ServiceAccount', { skip, timeout: 120_000 }, async (t) => {
  const kube = kc as k8s.KubeConfig;
  const core = kube.makeApiClient(k8s.CoreV1Api);
  const namespace = `identity-e2e-${runId()}`;
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  t.after(() => core.deleteNamespace({ name: namespace }).catch(() => undefined));
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'cart' } } });

  const fx = await makeFixture({ jwksFile: undefined, tokenIssuer: undefined });
  t.after(() => fx.cleanup());
  const registry = newRegistry();
  // TokenReview goes through weft's own API client, with the same kubeconfig, as in the controller.
  const weftKube = new KubeClient(await connectionFromKubeconfig([process.env.KUBECONFIG!]));
  t.after(() => weftKube.close());
  const server = await startIdentityServer(fx.options, { log: silentLog, registry, controllerNamespace: 'weft', kube: weftKube });
  t.after(() => server.close());

  const meshToken = await requestToken(core, namespace, 'cart', [AUDIENCE]);
  const client = new IdentityClient({
    url: `https://127.0.0.1:${server.port}`,
    tokenFile: fx.writeToken('cart.token', meshToken),
    trustAnchorsPem: fx.anchor.certPem,
    log: silentLog,
    registry: newRegistry(),
    expectedServerName: server.serverName,
    backoff: { minMs: 100, maxMs: 1_000 },
  });
  t.after(() => client.stop());
  await client.refresh();
  const cert = client.current()!;
  assert.equal(cert.identity, `spiffe://cluster.local/ns/${namespace}/sa/cart`);
  assert.equal(cert.dnsName, `cart.${namespace}.serviceaccount.identity.weft.cluster.local`);
  assert.equal(new X509Certificate(cert.certChainPem).subjectAltName, `DNS:${cert.dnsName}, URI:${cert.identity}`);

  // A token for the API server's own audience (what a pod gets by default) is not a mesh credential.
  const apiToken = await requestToken(core, namespace, 'cart', ['https://kubernetes.default.svc']);
  const refused = await post({
    port: server.port,
    ca: fx.anchor.certPem,
    servername: server.serverName,
    headers: { authorization: `Bearer ${apiToken}` },
    body: JSON.stringify({ csr: await createCsr(await generateKey('ecdsa-p256')) }),
  });
  assert.equal(refused.status, 401, JSON.stringify(refused.body));
  assert.equal(refused.body.error, 'token_audience', refused.body.message);

  // TokenReview also knows what a JWKS cannot: the ServiceAccount behind a token is gone.
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'gone' } } });
  const orphanToken = await requestToken(core, namespace, 'gone', [AUDIENCE]);
  await core.deleteNamespacedServiceAccount({ name: 'gone', namespace });
  const orphan = await post({
    port: server.port,
    ca: fx.anchor.certPem,
    servername: server.serverName,
    headers: { authorization: `Bearer ${orphanToken}` },
    body: JSON.stringify({ csr: await createCsr(await generateKey('ecdsa-p256')) }),
  });
  assert.equal(orphan.status, 401, JSON.stringify(orphan.body));
  assert.equal(orphan.body.error, 'token_rejected');

  // The right audience but a CSR for another account is still refused: the token decides.
  const other = await post({
    port: server.port,
    ca: fx.anchor.certPem,
    servername: server.serverName,
    headers: { authorization: `Bearer ${meshToken}` },
    body: JSON.stringify({ csr: await createCsr(await generateKey('ecdsa-p256'), { dnsName: `default.${namespace}.serviceaccount.identity.weft.cluster.local` }) }),
  });
  assert.equal(other.status, 403, JSON.stringify(other.body));
});

test('e2e: the same token verifies locally against the API server\'s published JWKS', { skip: skip || (KUBECTL === undefined ? 'no kubectl to read /openid/v1/jwks' : false), timeout: 120_000 }, async (t) => {
  const kube = kc as k8s.KubeConfig;
  const core = kube.makeApiClient(k8s.CoreV1Api);
  const jwks = spawnSync(KUBECTL!, ['get', '--raw', '/openid/v1/jwks'], { encoding: 'utf8', env: process.env, timeout: 30_000 });
  if (jwks.status !== 0) {
    t.skip(`API server does not publish /openid/v1/jwks: ${jwks.stderr.trim()}`);
    return;
  }
  const namespace = `identity-e2e-${runId()}`;
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  t.after(() => core.deleteNamespace({ name: namespace }).catch(() => undefined));
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'web' } } });

  const fx = await makeFixture({ tokenIssuer: SA_ISSUER });
  t.after(() => fx.cleanup());
  writeFileSync(join(fx.dir, 'jwks.json'), jwks.stdout);
  const server = await startIdentityServer({ ...fx.options, jwksFile: join(fx.dir, 'jwks.json') }, { log: silentLog, registry: newRegistry(), controllerNamespace: 'weft' });
  t.after(() => server.close());
  const send = async (token: string) =>
    post({ port: server.port, ca: fx.anchor.certPem, servername: server.serverName, headers: { authorization: `Bearer ${token}` }, body: JSON.stringify({ csr: await createCsr(await generateKey('ecdsa-p256')) }) });
  const ok = await send(await requestToken(core, namespace, 'web', [AUDIENCE]));
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.identity, `spiffe://cluster.local/ns/${namespace}/sa/web`);
  const wrong = await send(await requestToken(core, namespace, 'web', ['https://kubernetes.default.svc']));
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body.error, 'token_audience');
});
