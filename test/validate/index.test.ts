import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatRejection, outcomeResult, validatedKind, validateObject } from '../../src/validate/index.ts';
import { field, Findings, MAX_FINDINGS } from '../../src/validate/collector.ts';
import { httpRoute, serviceProfile } from './helpers.ts';

test('the kind comes from apiVersion group and version plus kind', () => {
  assert.equal(validatedKind({ apiVersion: 'linkerd.io/v1alpha2', kind: 'ServiceProfile' }), 'ServiceProfile');
  assert.equal(validatedKind({ apiVersion: 'linkerd.io/v1alpha1', kind: 'ServiceProfile' }), undefined);
  assert.equal(validatedKind({ apiVersion: 'networking.istio.io/v1beta1', kind: 'VirtualService' }), 'VirtualService');
  assert.equal(validatedKind({ apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule' }), undefined);
  assert.equal(validatedKind({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy' }), 'AuthorizationPolicy');
  assert.equal(validatedKind({ apiVersion: 'v1', kind: 'Pod' }), undefined);
  assert.equal(validatedKind({ kind: 'VirtualService' }), undefined);
  for (const odd of [null, undefined, 1, 'x', [], { apiVersion: 5, kind: {} }]) assert.equal(validateObject(odd).kind, undefined);
});

test('other kinds are allowed untouched', () => {
  assert.deepEqual(validateObject({ apiVersion: 'apps/v1', kind: 'Deployment', spec: { nonsense: true } }), { kind: undefined, violations: [], warnings: [] });
});

test('formatRejection names the object and every violation with its path', () => {
  const outcome = validateObject(httpRoute({ timeout: '10', retries: { attempts: -1 } }));
  const message = formatRejection('VirtualService', 'vs', outcome.violations);
  assert.match(message, /^VirtualService "vs" is invalid: spec\.http\[0\]\.timeout: "10" has no unit.*; spec\.http\[0\]\.retries\.attempts: -1 is negative/);
  assert.equal(formatRejection('ServiceProfile', 'x', [{ path: '', message: 'broken' }]), 'ServiceProfile "x" is invalid: broken');
});

test('outcomeResult gives the metric label', () => {
  assert.equal(outcomeResult(validateObject({ kind: 'Pod' })), 'skipped');
  assert.equal(outcomeResult(validateObject(httpRoute({}))), 'allowed');
  assert.equal(outcomeResult(validateObject(httpRoute({ timeout: 'x' }))), 'denied');
});

test('findings are capped so a hostile object cannot produce unbounded output', () => {
  const routes = Array.from({ length: 500 }, () => null);
  const outcome = validateObject(serviceProfile({ routes }));
  assert.equal(outcome.violations.length, MAX_FINDINGS + 1);
  assert.match(outcome.violations[MAX_FINDINGS].message, /and 400 more violations/);
  const f = new Findings();
  f.warn('a.b', 'w');
  assert.deepEqual(f.finish(), { violations: [], warnings: ['a.b: w'] });
});

test('field paths quote keys that are not plain identifiers', () => {
  assert.equal(field('spec', 'hosts'), 'spec.hosts');
  assert.equal(field('m.headers', 'end user'), 'm.headers["end user"]');
  assert.equal(field('m', 'a"b'), 'm["a\\"b"]');
  assert.equal(field('', 'spec'), 'spec');
});
