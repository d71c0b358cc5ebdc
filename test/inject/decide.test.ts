import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideInjection } from '../../src/inject/decide.ts';
import type { KubeObject } from '../../src/kube/types.ts';

function pod(annotations: Record<string, string> = {}, spec: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'web-', annotations }, spec: { containers: [{ name: 'app', image: 'app' }], ...spec } };
}

const cases: { name: string; pod: KubeObject; namespace?: string; ns: Record<string, string>; expect: string }[] = [
  { name: 'namespace enabled, pod silent', pod: pod(), ns: { 'linkerd.io/inject': 'enabled' }, expect: 'inject:enabled' },
  { name: 'namespace enabled, pod disabled', pod: pod({ 'linkerd.io/inject': 'disabled' }), ns: { 'linkerd.io/inject': 'enabled' }, expect: 'injection_disabled' },
  { name: 'namespace disabled, pod enabled', pod: pod({ 'linkerd.io/inject': 'enabled' }), ns: { 'linkerd.io/inject': 'disabled' }, expect: 'inject:enabled' },
  { name: 'namespace silent, pod enabled', pod: pod({ 'linkerd.io/inject': 'enabled' }), ns: {}, expect: 'inject:enabled' },
  { name: 'namespace silent, pod silent', pod: pod(), ns: {}, expect: 'injection_enable_annotation_absent' },
  { name: 'namespace disabled, pod silent', pod: pod(), ns: { 'linkerd.io/inject': 'disabled' }, expect: 'injection_disabled' },
  { name: 'ingress mode from the pod', pod: pod({ 'linkerd.io/inject': 'ingress' }), ns: {}, expect: 'inject:ingress' },
  { name: 'invalid value on the pod wins over an enabled namespace', pod: pod({ 'linkerd.io/inject': 'yes' }), ns: { 'linkerd.io/inject': 'enabled' }, expect: 'invalid_inject_annotation' },
  { name: 'invalid value on the namespace', pod: pod(), ns: { 'linkerd.io/inject': 'Enabled' }, expect: 'invalid_inject_annotation' },
  { name: 'host network', pod: pod({}, { hostNetwork: true }), ns: { 'linkerd.io/inject': 'enabled' }, expect: 'host_network_enabled' },
  { name: 'hostNetwork false is fine', pod: pod({}, { hostNetwork: false }), ns: { 'linkerd.io/inject': 'enabled' }, expect: 'inject:enabled' },
  { name: 'weft proxy already there', pod: pod({}, { containers: [{ name: 'app' }, { name: 'weft-proxy' }] }), ns: { 'linkerd.io/inject': 'enabled' }, expect: 'sidecar_already_exists' },
  { name: 'linkerd proxy already there', pod: pod({}, { containers: [{ name: 'linkerd-proxy' }, { name: 'app' }] }), ns: { 'linkerd.io/inject': 'enabled' }, expect: 'sidecar_already_exists' },
  { name: 'istio proxy as native sidecar', pod: pod({}, { initContainers: [{ name: 'istio-proxy', restartPolicy: 'Always' }] }), ns: { 'linkerd.io/inject': 'enabled' }, expect: 'sidecar_already_exists' },
  { name: 'mirror pod', pod: pod({ 'kubernetes.io/config.mirror': 'abc', 'linkerd.io/inject': 'enabled' }), ns: {}, expect: 'mirror_pod' },
  { name: 'kube-system even when annotated', pod: pod({ 'linkerd.io/inject': 'enabled' }), namespace: 'kube-system', ns: {}, expect: 'namespace_excluded' },
  { name: 'kube-public', pod: pod({ 'linkerd.io/inject': 'enabled' }), namespace: 'kube-public', ns: {}, expect: 'namespace_excluded' },
  { name: 'kube-node-lease', pod: pod({ 'linkerd.io/inject': 'enabled' }), namespace: 'kube-node-lease', ns: {}, expect: 'namespace_excluded' },
  { name: "the controller's own namespace", pod: pod({ 'linkerd.io/inject': 'enabled' }), namespace: 'weft', ns: {}, expect: 'namespace_excluded' },
  { name: 'no spec at all', pod: { metadata: { annotations: { 'linkerd.io/inject': 'enabled' } } }, ns: {}, expect: 'inject:enabled' },
];

for (const c of cases) {
  test(`decide: ${c.name}`, () => {
    const decision = decideInjection({ pod: c.pod, namespace: c.namespace ?? 'apps', namespaceAnnotations: c.ns, controllerNamespace: 'weft' });
    const got = decision.inject ? `inject:${decision.mode}` : decision.reason;
    assert.equal(got, c.expect);
    if (!decision.inject) assert.ok(decision.detail.length > 10, 'every skip explains itself');
  });
}

test('decide: the pod annotation is reported as the source when it decides', () => {
  const decision = decideInjection({ pod: pod({ 'linkerd.io/inject': 'enabled' }), namespace: 'apps', namespaceAnnotations: { 'linkerd.io/inject': 'disabled' }, controllerNamespace: 'weft' });
  assert.deepEqual(decision, { inject: true, mode: 'enabled', annotationAt: 'pod' });
});
