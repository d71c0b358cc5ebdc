import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildDiscoveryDocument } from '../../src/discovery/build.ts';
import { parseDiscoveryDocument } from '../../src/proxy/discovery.ts';
import type { KubeObject } from '../../src/kube/types.ts';

function pod(name: string, namespace: string, ip: string | undefined, options: { sa?: string; proxy?: string; plane?: string; phase?: string; ips?: string[] } = {}): KubeObject {
  return {
    metadata: { name, namespace, labels: { 'linkerd.io/control-plane-ns': options.plane ?? 'weft' } },
    spec: { serviceAccountName: options.sa, containers: [{ name: options.proxy ?? 'weft-proxy' }, { name: 'app' }] },
    status: { phase: options.phase ?? 'Running', podIP: ip, podIPs: options.ips?.map((value) => ({ ip: value })) },
  };
}

test('discovery lists meshed pods of this control plane by IP with their service-account identity', () => {
  const document = buildDiscoveryDocument(
    [
      pod('b', 'shop', '10.1.0.9', { sa: 'cart' }),
      pod('a', 'shop', '10.1.0.3', { ips: ['10.1.0.3', 'fd00::3'] }),
      pod('linkerd', 'shop', '10.1.0.4', { proxy: 'linkerd-proxy', plane: 'linkerd' }),
      pod('other-plane', 'shop', '10.1.0.5', { plane: 'weft-canary' }),
      pod('done', 'shop', '10.1.0.6', { phase: 'Succeeded' }),
      pod('pending', 'shop', undefined),
      pod('garbage-ip', 'shop', 'not-an-ip'),
    ],
    { controllerNamespace: 'weft', trustDomain: 'cluster.local' },
  );
  assert.deepEqual(document.endpoints, [
    { ip: '10.1.0.3', identity: 'default.shop.serviceaccount.identity.weft.cluster.local' },
    { ip: '10.1.0.9', identity: 'cart.shop.serviceaccount.identity.weft.cluster.local' },
    { ip: 'fd00::3', identity: 'default.shop.serviceaccount.identity.weft.cluster.local' },
  ]);
  assert.deepEqual(parseDiscoveryDocument(JSON.parse(JSON.stringify(document))), document, 'the proxy parses what the controller builds');
});
