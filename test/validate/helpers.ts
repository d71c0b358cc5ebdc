import assert from 'node:assert/strict';
import type { ValidationContext, ValidationOutcome } from '../../src/validate/index.ts';
import { validateObject } from '../../src/validate/index.ts';

// Small builders for per-rule tests: a valid object of each kind, and assertions that name the
// field path a violation must be reported at.

export type Json = Record<string, unknown>;

export function virtualService(spec: Json, metadata: Json = {}): Json {
  return { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'vs', namespace: 'shop', ...metadata }, spec };
}

/** A valid VS with one HTTP route to reviews, with `route` merged into that route. */
export function httpRoute(route: Json, spec: Json = {}): Json {
  return virtualService({ hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews' } }], ...route }], ...spec });
}

export function serviceProfile(spec: Json, metadata: Json = {}): Json {
  return { apiVersion: 'linkerd.io/v1alpha2', kind: 'ServiceProfile', metadata: { name: 'web.shop.svc.cluster.local', namespace: 'shop', ...metadata }, spec };
}

/** A valid SP with one route, with `route` merged into it. */
export function spRoute(route: Json, spec: Json = {}): Json {
  return serviceProfile({ routes: [{ name: 'GET /', condition: { method: 'GET' }, ...route }], ...spec });
}

export function authorizationPolicy(spec: Json, metadata: Json = {}): Json {
  return { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'ap', namespace: 'shop', ...metadata }, spec };
}

/** A valid AP with one rule, `rule` being that rule. */
export function apRule(rule: Json, spec: Json = {}): Json {
  return authorizationPolicy({ rules: [rule], ...spec });
}

function describe(outcome: ValidationOutcome): string {
  return [...outcome.violations.map((v) => `E ${v.path}: ${v.message}`), ...outcome.warnings.map((w) => `W ${w}`)].join('\n') || '(nothing)';
}

export function valid(object: unknown, context?: ValidationContext): ValidationOutcome {
  const outcome = validateObject(object, context);
  assert.notEqual(outcome.kind, undefined, 'should be a validated kind');
  assert.deepEqual(outcome.violations, [], `expected valid, got:\n${describe(outcome)}`);
  return outcome;
}

/** Asserts a violation at exactly `path` whose message matches `message`. */
export function invalidAt(object: unknown, path: string, message: RegExp = /./, context?: ValidationContext): ValidationOutcome {
  const outcome = validateObject(object, context);
  assert.ok(
    outcome.violations.some((v) => v.path === path && message.test(v.message)),
    `expected a violation at ${path} matching ${message}, got:\n${describe(outcome)}`,
  );
  return outcome;
}

export function warnsAt(object: unknown, path: string, message: RegExp = /./, context?: ValidationContext): ValidationOutcome {
  const outcome = valid(object, context);
  assert.ok(
    outcome.warnings.some((w) => w.startsWith(`${path}: `) && message.test(w)),
    `expected a warning at ${path} matching ${message}, got:\n${describe(outcome)}`,
  );
  return outcome;
}

export function noWarnings(object: unknown, context?: ValidationContext): void {
  const outcome = valid(object, context);
  assert.deepEqual(outcome.warnings, [], `expected no warnings, got:\n${describe(outcome)}`);
}
