import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { serializeAdmissionResponse } from '../../src/admission/review.ts';
import type { AdmissionDecision, JsonPatchOperation } from '../../src/admission/types.ts';
import { patchBase64 } from '../../src/inject/patch.ts';
import { decodePatch } from '../helpers/admission.ts';

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

// Strings of any width (multi-byte UTF-8, escapes, control characters) so that every padding
// remainder is hit, both in shared frozen values and in per-pod values.
const text = fc.string({ unit: 'binary', maxLength: 12 });
const value = fc.oneof(
  text,
  fc.integer(),
  fc.dictionary(text, text, { maxKeys: 3 }),
  fc.array(fc.record({ name: text, value: text }), { maxLength: 3 }),
);
const op = fc.oneof(
  fc.record({ op: fc.constant('add' as const), path: text.map((p) => `/${p}`), value, frozen: fc.boolean() }),
  fc.record({ op: fc.constant('replace' as const), path: text.map((p) => `/${p}`), value, frozen: fc.boolean() }),
  fc.record({ op: fc.constant('remove' as const), path: text.map((p) => `/${p}`) }),
);

test('property: the base64 patch, pieced together from cached aligned parts, decodes to the operations', () => {
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 8 }), (generated) => {
      const ops: JsonPatchOperation[] = generated.map((o) => {
        if (o.op === 'remove') return { op: 'remove', path: o.path };
        const { frozen, ...rest } = o;
        return frozen && typeof rest.value === 'object' ? { ...rest, value: deepFreeze(structuredClone(rest.value)) } : rest;
      });
      const expected = JSON.parse(JSON.stringify(ops)) as unknown;
      assert.deepEqual(decodePatch(patchBase64(ops)), expected);
      // The second time reads the cached pieces and must say the same.
      assert.deepEqual(decodePatch(patchBase64(ops)), expected);
    }),
    { numRuns: 500 },
  );
});

test('a frozen value shared between patches at different paths and positions is encoded for each', () => {
  const container = deepFreeze({ name: 'weft-proxy', args: ['proxy'] });
  const first: JsonPatchOperation[] = [{ op: 'add', path: '/spec/containers/0', value: container }];
  const second: JsonPatchOperation[] = [{ op: 'add', path: '/metadata/labels/a', value: 'é' }, { op: 'add', path: '/spec/containers/-', value: container }];
  for (let i = 0; i < 2; i++) {
    assert.deepEqual(decodePatch(patchBase64(first)), first);
    assert.deepEqual(decodePatch(patchBase64(second)), second);
  }
});

test('a remembered patch is handed out only for the same operations, and the memory of them is bounded', () => {
  const proxy = deepFreeze({ name: 'weft-proxy', args: ['proxy'] });
  const otherProxy = deepFreeze({ name: 'weft-proxy', args: ['proxy', '--debug'] });
  const patch = (namespace: string, container: object, at = '/spec/containers/-'): JsonPatchOperation[] => [
    { op: 'add', path: '/metadata/labels/linkerd.io~1workload-ns', value: namespace },
    { op: 'add', path: at, value: container },
  ];
  const variants = [patch('demo', proxy), patch('shop', proxy), patch('demo', otherProxy), patch('demo', proxy, '/spec/containers/0'), patch('demo', proxy).slice(0, 1)];
  for (let round = 0; round < 2; round++) {
    for (const ops of variants) assert.deepEqual(decodePatch(patchBase64(ops)), JSON.parse(JSON.stringify(ops)));
  }
  // Thousands of distinct patches empty the memory now and then; answers stay right throughout.
  for (let i = 0; i < 6000; i++) {
    const ops = patch(`ns-${i}`, i % 2 === 0 ? proxy : otherProxy);
    assert.deepEqual(decodePatch(patchBase64(ops)), JSON.parse(JSON.stringify(ops)));
  }
  for (const ops of variants) assert.deepEqual(decodePatch(patchBase64(ops)), JSON.parse(JSON.stringify(ops)));
});

const decision: fc.Arbitrary<AdmissionDecision> = fc.record(
  {
    allowed: fc.boolean(),
    patch: fc.array(fc.record({ op: fc.constant('add' as const), path: text.map((p) => `/${p}`), value }), { maxLength: 3 }),
    status: fc.record({ code: fc.integer({ min: 200, max: 599 }), message: text, reason: text }, { requiredKeys: ['code', 'message'] }),
    warnings: fc.array(text, { maxLength: 3 }),
  },
  { requiredKeys: ['allowed'] },
);

test('property: the response text is the AdmissionReview the API server expects', () => {
  fc.assert(
    fc.property(fc.constantFrom('admission.k8s.io/v1' as const, 'admission.k8s.io/v1beta1' as const), text, decision, (apiVersion, uid, given) => {
      const parsed = JSON.parse(serializeAdmissionResponse(apiVersion, uid, given)) as { apiVersion: string; kind: string; response: Record<string, unknown> };
      const expected: Record<string, unknown> = { uid, allowed: given.allowed };
      if (given.patch !== undefined && given.patch.length > 0) {
        expected.patchType = 'JSONPatch';
        expected.patch = Buffer.from(JSON.stringify(given.patch)).toString('base64');
      }
      if (given.status !== undefined) expected.status = { ...given.status, status: given.allowed ? 'Success' : 'Failure', metadata: {} };
      if (given.warnings !== undefined && given.warnings.length > 0) expected.warnings = given.warnings;
      assert.equal(parsed.apiVersion, apiVersion);
      assert.equal(parsed.kind, 'AdmissionReview');
      // The patch is compared decoded: the encoder may pad it with JSON whitespace.
      const { patch, ...rest } = parsed.response;
      const { patch: expectedPatch, ...expectedRest } = expected;
      assert.deepEqual(rest, JSON.parse(JSON.stringify(expectedRest)));
      if (expectedPatch === undefined) assert.equal(patch, undefined);
      else assert.deepEqual(decodePatch(patch as string), JSON.parse(JSON.stringify(given.patch)));
    }),
    { numRuns: 300 },
  );
});
