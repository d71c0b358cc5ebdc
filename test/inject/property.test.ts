import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { buildAdmissionApp } from '../../src/controller/server.ts';
import { createAdmissionMetrics } from '../../src/controller/metrics.ts';
import { injectPod } from '../../src/inject/inject.ts';
import { patchBase64 } from '../../src/inject/patch.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { applyPatch, decodePatch, loadReview, silentLog, testClusterState, testConfig } from '../helpers/admission.ts';

const base = loadReview('replicaset-pod');

// Values shaped like pod fields but with anything in them: strings where arrays go, arrays of junk, keys with "/" and "~".
const weirdKey = fc.oneof(fc.string(), fc.constantFrom('a/b', '~0', '~1/', 'linkerd.io/inject', 'config.linkerd.io/proxy-uid', '__proto__', 'constructor'));
const junk = fc.jsonValue({ maxDepth: 3 });
const annotations = fc.dictionary(weirdKey, fc.oneof(fc.string(), fc.constantFrom('enabled', 'disabled', 'ingress', '2102', '100m', '1,2,3', '10.0.0.0/8')), { maxKeys: 6 });
const container = fc.record({ name: fc.oneof(fc.string(), fc.constantFrom('web', 'weft-proxy', 'linkerd-proxy')), image: fc.string() }, { requiredKeys: [] });
const podSpec = fc.record(
  {
    containers: fc.oneof(fc.array(container, { maxLength: 4 }), junk),
    initContainers: fc.oneof(fc.array(container, { maxLength: 3 }), junk),
    volumes: fc.oneof(fc.array(fc.record({ name: fc.string() }), { maxLength: 3 }), junk),
    hostNetwork: fc.oneof(fc.boolean(), junk),
  },
  { requiredKeys: [] },
);
const pod = fc.record(
  {
    apiVersion: fc.constant('v1'),
    kind: fc.constant('Pod'),
    metadata: fc.record({ annotations: fc.oneof(annotations, junk), labels: fc.oneof(annotations, junk), generateName: fc.string(), ownerReferences: fc.oneof(junk, fc.array(fc.record({ kind: fc.string(), name: fc.string(), controller: fc.boolean() }))) }, { requiredKeys: [] }),
    spec: fc.oneof(podSpec, junk),
  },
  { requiredKeys: ['metadata'] },
);

test('property: injectPod never throws, and every patch it returns applies to the pod it was given', () => {
  fc.assert(
    fc.property(pod, fc.constantFrom('demo', 'plain', 'kube-system'), (object, namespace) => {
      const enabled: Record<string, string> = namespace === 'demo' ? { 'linkerd.io/inject': 'enabled' } : {};
      const result = injectPod({ pod: object as KubeObject, namespace, namespaceAnnotations: enabled, config: testConfig(), serverVersion: { major: 1, minor: 30 } });
      if (result.patch.length > 0) assert.deepEqual(decodePatch(patchBase64(result.patch)), JSON.parse(JSON.stringify(result.patch)), 'the cached encoder writes the same patch');
      if (result.patch.length > 0) {
        const patched = applyPatch(object as KubeObject, result.patch) as { spec: { containers?: { name?: unknown }[]; initContainers?: { name?: unknown }[] } };
        const names = [...(patched.spec.containers ?? []), ...(patched.spec.initContainers ?? [])].map((c) => (c !== null && typeof c === 'object' ? c.name : undefined));
        assert.ok(names.includes('weft-proxy'));
        // And a second pass finds the sidecar and leaves the pod alone.
        const again = injectPod({ pod: patched as unknown as KubeObject, namespace, namespaceAnnotations: enabled, config: testConfig(), serverVersion: { major: 1, minor: 30 } });
        assert.deepEqual(again.patch, []);
      }
    }),
    { numRuns: 400 },
  );
});

test('property: /inject answers every review with its uid, and never a 5xx', async () => {
  const app = buildAdmissionApp({
    log: silentLog,
    metrics: createAdmissionMetrics(new Registry()),
    inject: { config: testConfig(), clusterState: testClusterState(), onError: 'allow' },
    validate: { clusterState: undefined, clusterDomain: 'cluster.local' },
  });
  await fc.assert(
    fc.asyncProperty(fc.uuid(), fc.oneof(pod, junk), fc.constantFrom('CREATE', 'UPDATE', 'DELETE', 'CONNECT'), fc.option(fc.string(), { nil: undefined }), async (uid, object, operation, namespace) => {
      const review = structuredClone(base) as unknown as { request: Record<string, unknown> };
      review.request.uid = uid;
      review.request.object = object;
      review.request.operation = operation;
      if (namespace === undefined) delete review.request.namespace;
      else review.request.namespace = namespace;
      const response = await app.inject({ method: 'POST', url: '/inject', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(review) });
      assert.ok(response.statusCode < 500, response.body);
      if (response.statusCode === 200) {
        const body = response.json();
        assert.equal(body.response.uid, uid);
        if (body.response.patch) applyPatch(object as KubeObject, decodePatch(body.response.patch));
      }
    }),
    { numRuns: 300 },
  );
  await fc.assert(
    fc.asyncProperty(junk, async (payload) => {
      const response = await app.inject({ method: 'POST', url: '/inject', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(payload) });
      assert.equal(response.statusCode, 400);
    }),
    { numRuns: 200 },
  );
  await app.close();
});
