import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterState } from '../../src/kube/cluster-state.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { validateObject } from '../../src/validate/index.ts';
import { MAX_MATCH_DEPTH } from '../../src/validate/serviceprofile.ts';
import { invalidAt, noWarnings, serviceProfile, spRoute, valid, warnsAt } from './helpers.ts';

test('name must be a lowercase DNS subdomain, not necessarily a service FQDN', () => {
  invalidAt({ ...spRoute({}), metadata: { name: 'Web.Shop', namespace: 'shop' } }, 'metadata.name', /"Web\.Shop" is not a lowercase RFC 1123 subdomain/);
  invalidAt({ ...spRoute({}), metadata: { namespace: 'shop' } }, 'metadata.name', /required/);
  valid({ ...spRoute({}), metadata: { name: 'webapp', namespace: 'shop' } });
});

test('routes: null, nameless and conditionless routes are each reported', () => {
  const outcome = validateObject(serviceProfile({ routes: [null, { condition: { method: 'GET' } }, { name: 'x' }] }));
  assert.deepEqual(
    outcome.violations.map((v) => v.path),
    ['spec.routes[0]', 'spec.routes[1].name', 'spec.routes[2].condition'],
  );
});

test('timeouts use Go duration syntax, no minimum; a negative one only warns', () => {
  for (const timeout of ['1ns', '250ms', '1m30s', '1.5h', '0']) valid(spRoute({ timeout }));
  invalidAt(spRoute({ timeout: '10' }), 'spec.routes[0].timeout', /"10" has no unit/);
  invalidAt(spRoute({ timeout: '1d' }), 'spec.routes[0].timeout', /unknown unit "d"/);
  invalidAt(spRoute({ timeout: 'soon' }), 'spec.routes[0].timeout', /not a Go duration/);
  invalidAt(spRoute({ timeout: 10 }), 'spec.routes[0].timeout', /expected a string/);
  warnsAt(spRoute({ timeout: '-1s' }), 'spec.routes[0].timeout', /negative/);
});

test('request match: one field must be set, empty lists count, nested items are checked', () => {
  invalidAt(spRoute({ condition: {} }), 'spec.routes[0].condition', /at least one of method, pathRegex, all, any or not/);
  invalidAt(spRoute({ condition: { method: '' } }), 'spec.routes[0].condition', /at least one/);
  valid(spRoute({ condition: { all: [] } }));
  valid(spRoute({ condition: { any: [{ method: 'GET' }, { all: [{ not: { method: 'DELETE' } }] }] } }));
  invalidAt(spRoute({ condition: { any: [null] } }), 'spec.routes[0].condition.any[0]', /null condition in "any"/);
  invalidAt(spRoute({ condition: { all: [{}] } }), 'spec.routes[0].condition.all[0]', /at least one/);
});

test('strict decoding: unknown fields at any depth and wrong JSON types are errors', () => {
  invalidAt(spRoute({ condition: { all: [{ method: 'GET', path: '/books' }] } }), 'spec.routes[0].condition.all[0].path', /unknown field "path"/);
  invalidAt(spRoute({ retries: 3 }), 'spec.routes[0].retries', /unknown field/);
  invalidAt(serviceProfile({ routes: [], extra: true }), 'spec.extra', /unknown field/);
  invalidAt({ ...spRoute({}), status: {} }, 'status', /unknown field/);
  invalidAt({ ...spRoute({}), metadata: { name: 'web', namespace: 'shop', labels: { replicas: 3 } } }, 'metadata.labels.replicas', /expected a string/);
  invalidAt(spRoute({ isRetryable: 'yes' }), 'spec.routes[0].isRetryable', /expected true or false/);
  invalidAt(serviceProfile({ routes: {} }), 'spec.routes', /expected a list/);
});

test('route-level not is refused (the CRD and Linkerd disagree on its type), nested not works', () => {
  invalidAt(spRoute({ condition: { not: { method: 'GET' } } }), 'spec.routes[0].condition.not', /wrap it/);
  valid(spRoute({ condition: { all: [{ not: { method: 'GET' } }] } }));
});

test('pathRegex is never compiled by Linkerd: a broken one is accepted with a warning', () => {
  warnsAt(spRoute({ condition: { pathRegex: '/books/[0-9' } }), 'spec.routes[0].condition.pathRegex', /RE2.*never match/);
  noWarnings(spRoute({ condition: { pathRegex: '/authors/\\d+' } }));
});

test('response classes and status ranges (0 means unset)', () => {
  const rc = (condition: unknown) => spRoute({ responseClasses: [{ condition, isFailure: true }] });
  valid(rc({ status: { min: 500, max: 599 } }));
  valid(rc({ status: { min: 404 } }));
  valid(rc({ status: {} }));
  valid(rc({ not: { status: { min: 200, max: 399 } } }));
  invalidAt(rc({ status: { min: 500, max: 600 } }), 'spec.routes[0].responseClasses[0].condition.status.max', /600 .*100 to 599/);
  invalidAt(rc({ status: { min: 99 } }), 'spec.routes[0].responseClasses[0].condition.status.min', /99/);
  invalidAt(rc({ status: { min: 300, max: 200 } }), 'spec.routes[0].responseClasses[0].condition.status.max', /smaller than min 300/);
  invalidAt(rc({ status: { min: false } }), 'spec.routes[0].responseClasses[0].condition.status.min', /got boolean/);
  invalidAt(rc({ status: { min: 1.5 } }), 'spec.routes[0].responseClasses[0].condition.status.min', /whole number/);
  invalidAt(rc({}), 'spec.routes[0].responseClasses[0].condition', /at least one of status/);
  invalidAt(rc({ all: [{ status: null }] }), 'spec.routes[0].responseClasses[0].condition.all[0]', /at least one of status/);
  invalidAt(spRoute({ responseClasses: [null] }), 'spec.routes[0].responseClasses[0]', /null response class/);
  invalidAt(spRoute({ responseClasses: [{ isFailure: true }] }), 'spec.routes[0].responseClasses[0].condition', /required/);
});

test('retry budget: all three fields required, ratio non-negative, ttl a duration', () => {
  const budget = (retryBudget: unknown) => spRoute({}, { retryBudget });
  valid(budget({ retryRatio: 0, minRetriesPerSecond: 0, ttl: '1m' }));
  invalidAt(budget({ retryRatio: 0.2, minRetriesPerSecond: 5 }), 'spec.retryBudget.ttl', /required/);
  invalidAt(budget({ retryRatio: 0.2, ttl: '10s' }), 'spec.retryBudget.minRetriesPerSecond', /required/);
  invalidAt(budget({ minRetriesPerSecond: 5, ttl: '10s' }), 'spec.retryBudget.retryRatio', /required/);
  invalidAt(budget({ retryRatio: -0.1, minRetriesPerSecond: 5, ttl: '10s' }), 'spec.retryBudget.retryRatio', /negative/);
  invalidAt(budget({ retryRatio: 0.2, minRetriesPerSecond: -5, ttl: '10s' }), 'spec.retryBudget.minRetriesPerSecond', /uint32/);
  invalidAt(budget({ retryRatio: 0.2, minRetriesPerSecond: 5, ttl: 10 }), 'spec.retryBudget.ttl', /expected a string/);
  invalidAt(budget({ retryRatio: 0.2, minRetriesPerSecond: 5, ttl: '10' }), 'spec.retryBudget.ttl', /no unit/);
});

test('dstOverrides weights are Kubernetes quantities', () => {
  const dst = (weight: unknown) => spRoute({}, { dstOverrides: [{ authority: 'web-v2.shop.svc.cluster.local:80', weight }] });
  for (const w of ['1', '500m', '100', 1, '0.5', '1Ki', '1e3']) valid(dst(w));
  invalidAt(dst('heavy'), 'spec.dstOverrides[0].weight', /"heavy" is not a quantity/);
  invalidAt(dst('50%'), 'spec.dstOverrides[0].weight', /not a quantity/);
  invalidAt(dst(true), 'spec.dstOverrides[0].weight', /expected a quantity/);
});

test('every violation is reported, not only the first', () => {
  const outcome = validateObject(serviceProfile({ routes: [{ name: '', condition: {}, timeout: '1d' }], retryBudget: { retryRatio: -1, minRetriesPerSecond: 1 } }, { name: 'Bad' }));
  assert.deepEqual(outcome.violations.map((v) => v.path).sort(), [
    'metadata.name', 'spec.retryBudget.retryRatio', 'spec.retryBudget.ttl', 'spec.routes[0].condition', 'spec.routes[0].name', 'spec.routes[0].timeout',
  ]);
});

test('nesting of all/any/not is bounded', () => {
  let condition: Record<string, unknown> = { method: 'GET' };
  for (let i = 0; i < MAX_MATCH_DEPTH - 1; i++) condition = { all: [condition] };
  valid(spRoute({ condition }));
  condition = { all: [condition] };
  const outcome = validateObject(spRoute({ condition }));
  assert.ok(outcome.violations.some((v) => /nest deeper/.test(v.message)), JSON.stringify(outcome.violations));
});

function stateWith(services: Record<string, string[]>): ClusterState {
  return {
    synced: () => true,
    waitForSync: async () => {},
    getNamespace: async () => undefined,
    list: (kind, namespace) => (kind === 'Service' ? (services[namespace ?? ''] ?? []).map((name: string): KubeObject => ({ metadata: { name, namespace } })) : undefined),
    serverVersion: () => undefined,
    close: async () => {},
  };
}

test('with cluster state: warn when the name is not the FQDN of an existing Service', () => {
  const clusterState = stateWith({ shop: ['web'] });
  noWarnings(spRoute({}), { clusterState });
  warnsAt({ ...spRoute({}), metadata: { name: 'api.shop.svc.cluster.local', namespace: 'shop' } }, 'metadata.name', /no Service "api" in namespace "shop"/, { clusterState });
  warnsAt({ ...spRoute({}), metadata: { name: 'webapp', namespace: 'shop' } }, 'metadata.name', /<service>\.<namespace>\.svc\.cluster\.local/, { clusterState });
  warnsAt(spRoute({}), 'metadata.name', /not of the form/, { clusterState, clusterDomain: 'corp.example' });
  // Without cluster state nothing is known, so nothing is said.
  noWarnings({ ...spRoute({}), metadata: { name: 'webapp', namespace: 'shop' } });
});

test('opaquePorts cannot pass both the CRD and Linkerd', () => {
  invalidAt(spRoute({}, { opaquePorts: ['8080'] }), 'spec.opaquePorts', /annotation/);
});

test('a profile without spec is accepted with a warning', () => {
  warnsAt({ apiVersion: 'linkerd.io/v1alpha2', kind: 'ServiceProfile', metadata: { name: 'x', namespace: 'y' } }, 'spec', /no routes/);
});
