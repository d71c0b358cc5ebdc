import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ANNOTATIONS, cachedOverrides, resolveOverrides } from '../../src/inject/annotations.ts';
import { buildSidecar, sidecarFor } from '../../src/inject/sidecar.ts';
import { testConfig } from '../helpers/admission.ts';

// Override annotations with valid, invalid and null values, so that the cache key has to tell
// apart every value and where it came from (the warnings name the pod or the namespace).
const names = Object.values(ANNOTATIONS);
const value = fc.oneof(fc.constantFrom('1', '2102', 'debug', 'enabled', 'true', '100m', '10.0.0.0/8', '', 'x:y', '1:x'), fc.string({ maxLength: 6 }));
const annotations = fc.dictionary(fc.constantFrom(...names, 'linkerd.io/inject'), fc.oneof(value, fc.constant(null as unknown as string)), { maxKeys: 5 });

test('property: remembered overrides and sidecars are the ones resolveOverrides and buildSidecar give', () => {
  const config = testConfig();
  fc.assert(
    fc.property(annotations, annotations, fc.constantFrom('enabled' as const, 'ingress' as const), fc.boolean(), (pod, namespace, mode, native) => {
      const expected = resolveOverrides(config, pod, namespace);
      for (let i = 0; i < 2; i++) {
        const got = cachedOverrides(config, pod, namespace);
        assert.deepEqual({ spec: { ...got.spec }, warnings: [...got.warnings] }, expected);
        assert.deepEqual(sidecarFor(config, got.spec, mode, native), buildSidecar(config, expected.spec, mode, native));
      }
    }),
    { numRuns: 400 },
  );
});

test('a remembered sidecar is never handed out for another configuration', () => {
  const first = testConfig();
  const second = testConfig();
  second.identityUrl = 'https://elsewhere.example:8080';
  const spec = cachedOverrides(first, {}, {}).spec;
  const a = sidecarFor(first, spec, 'enabled', false);
  const b = sidecarFor(second, spec, 'enabled', false);
  assert.notEqual(a, b);
  assert.deepEqual(b, buildSidecar(second, spec, 'enabled', false));
});
