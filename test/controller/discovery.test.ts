import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pollDiscovery } from '../../src/proxy/discovery-source.ts';
import { createTrustAnchor } from '../../src/identity/ca.ts';
import { controllerConfigFromFlags, controllerFlagSpecs } from '../../src/controller/config.ts';
import { startController } from '../../src/controller/run.ts';
import { ensureDevelopmentCertificates, ensureDevelopmentIdentity } from '../../src/controller/standalone.ts';
import { identityServerName } from '../../src/identity/names.ts';
import { parseFlags } from '../../src/util/flags.ts';
import { silentLog } from '../helpers/admission.ts';

const cluster = `
apiVersion: v1
kind: Namespace
metadata: { name: shop }
---
apiVersion: v1
kind: Pod
metadata: { name: cart-1, namespace: shop, labels: { linkerd.io/control-plane-ns: weft } }
spec: { serviceAccountName: cart, containers: [{ name: weft-proxy }, { name: cart }] }
status: { phase: Running, podIP: 10.42.0.7 }
---
apiVersion: v1
kind: Pod
metadata: { name: legacy, namespace: shop }
spec: { containers: [{ name: legacy }] }
status: { phase: Running, podIP: 10.42.0.8 }
`;

test('the identity service serves the discovery document over mesh TLS, and the injector points proxies at it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'weft-discovery-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'cluster.yaml'), cluster);
  const serving = await ensureDevelopmentCertificates(join(dir, 'state'));
  const identity = await ensureDevelopmentIdentity(join(dir, 'state'));
  const flags = parseFlags(controllerFlagSpecs, [
    '--address=127.0.0.1', '--port=0', '--admin-address=127.0.0.1', '--admin-port=0', '--identity-address=127.0.0.1', '--identity-port=0',
    `--tls-cert=${serving.certFile}`, `--tls-key=${serving.keyFile}`, `--cluster-state=${dir}`, '--drain-delay=0s',
    `--identity-issuer-dir=${identity.issuerDir}`, `--identity-jwks=${identity.jwksFile}`, `--identity-issuer=${identity.tokenIssuer}`,
  ]).flags;
  const config = await controllerConfigFromFlags(flags, '0.1.0-test');
  assert.equal(config.injector.discoveryUrl, 'https://weft-identity.weft.svc.cluster.local:8080/v1/discovery');
  assert.match(config.injector.trustAnchorsPEM, /BEGIN CERTIFICATE/, 'proxies get the trust anchors the issuer chains to');
  const controller = await startController(config, silentLog);
  t.after(() => controller.shutdown('test over'));
  assert.ok(controller.identity);

  const ca = await readFile(join(identity.issuerDir, 'ca.crt'), 'utf8');
  const url = `https://127.0.0.1:${controller.identity!.port}/v1/discovery`;
  // The proxy's own poller: trust anchors plus the identity service's mesh name, not the URL's host.
  const source = pollDiscovery({ url, tls: { trustAnchorsPem: ca, serverName: identityServerName('weft', 'cluster.local') }, intervalMs: 60_000, log: silentLog });
  t.after(() => source.stop());
  await source.loaded;
  assert.equal(source.lookup('10.42.0.7'), 'cart.shop.serviceaccount.identity.weft.cluster.local');
  assert.equal(source.lookup('10.42.0.8'), undefined, 'an unmeshed pod is not in discovery');

  const other = await createTrustAnchor({ commonName: 'someone-else' });
  const refused = pollDiscovery({ url, tls: { trustAnchorsPem: other.certPem, serverName: identityServerName('weft', 'cluster.local') }, intervalMs: 60_000, log: silentLog });
  t.after(() => refused.stop());
  await refused.loaded;
  assert.equal(refused.lookup('10.42.0.7'), undefined, 'a server not chained to our anchors is not believed');
  const wrongName = pollDiscovery({ url, tls: { trustAnchorsPem: ca, serverName: 'default.shop.serviceaccount.identity.weft.cluster.local' }, intervalMs: 60_000, log: silentLog });
  t.after(() => wrongName.stop());
  await wrongName.loaded;
  assert.equal(wrongName.lookup('10.42.0.7'), undefined, 'a server that is not the identity service is not believed');
});
