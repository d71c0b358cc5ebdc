import type { ClusterState } from '../kube/cluster-state.ts';
import { isRecord } from '../kube/types.ts';
import type { Findings } from './collector.ts';
import { field, item, quote } from './collector.ts';
import { parseDuration } from './durations.ts';
import type { Obj } from './json.ts';
import { jsonType, readArray, readBool, readInteger, readNumber, readObject, readString, readStringMap, rejectUnknownKeys, UINT32_MAX } from './json.ts';
import { isK8sLabel, isK8sSubdomain, SUBDOMAIN_EXPECTED } from './names.ts';
import { re2Problem } from './regex.ts';

// linkerd.io/v1alpha2 ServiceProfile. Linkerd decodes strictly into its Go types (unknown
// fields at any depth and wrong JSON types are errors) and then checks routes, response classes
// and the retry budget; the CRD schema adds a few required fields. Linkerd stops at the first
// error; weft reports them all.

/** How deep `all`/`any`/`not` may nest; upstream has no bound, real profiles use two or three. */
export const MAX_MATCH_DEPTH = 32;

const TOP = new Set(['apiVersion', 'kind', 'metadata', 'spec']);
const OBJECT_META = new Set([
  'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields',
]);
const SPEC = new Set(['routes', 'retryBudget', 'dstOverrides', 'opaquePorts']);
const ROUTE = new Set(['name', 'condition', 'responseClasses', 'isRetryable', 'timeout']);
const REQUEST_MATCH = new Set(['all', 'any', 'not', 'method', 'pathRegex']);
const RESPONSE_CLASS = new Set(['condition', 'isFailure']);
const RESPONSE_MATCH = new Set(['all', 'any', 'not', 'status']);
const RANGE = new Set(['min', 'max']);
const RETRY_BUDGET = new Set(['retryRatio', 'minRetriesPerSecond', 'ttl']);
const WEIGHTED_DST = new Set(['authority', 'weight']);

export interface ServiceProfileContext {
  clusterState?: ClusterState;
  clusterDomain: string;
}

export function validateServiceProfile(object: Obj, f: Findings, context: ServiceProfileContext): void {
  rejectUnknownKeys(f, object, '', TOP, 'a ServiceProfile');
  const metadata = readObject(f, object, 'metadata', '');
  let name: string | undefined;
  if (metadata) {
    rejectUnknownKeys(f, metadata, 'metadata', OBJECT_META, 'metadata');
    name = readString(f, metadata, 'name', 'metadata');
    readString(f, metadata, 'namespace', 'metadata');
    readStringMap(f, metadata, 'labels', 'metadata');
    readStringMap(f, metadata, 'annotations', 'metadata');
  }
  if (name === undefined || !isK8sSubdomain(name)) {
    f.error('metadata.name', name === undefined ? `required: ${SUBDOMAIN_EXPECTED}` : `${quote(name)} is not ${SUBDOMAIN_EXPECTED}`);
  }

  const spec = readObject(f, object, 'spec', '');
  if (!spec) {
    // Linkerd decodes a missing spec as an empty one and accepts it; it just does nothing.
    if (!Object.hasOwn(object, 'spec') || object.spec === null) f.warn('spec', 'no spec: this profile defines no routes and no retry budget');
    return;
  }
  rejectUnknownKeys(f, spec, 'spec', SPEC, 'a ServiceProfile spec');

  const routes = readArray(f, spec, 'routes', 'spec');
  routes?.forEach((route, i) => checkRoute(f, route, item('spec.routes', i)));

  const budget = readObject(f, spec, 'retryBudget', 'spec');
  if (budget) checkRetryBudget(f, budget, 'spec.retryBudget');

  const overrides = readArray(f, spec, 'dstOverrides', 'spec');
  overrides?.forEach((dst, i) => checkWeightedDst(f, dst, item('spec.dstOverrides', i)));

  if (Object.hasOwn(spec, 'opaquePorts') && spec.opaquePorts !== null) {
    // The CRD types it as a list of strings and Linkerd's Go type as a map, so no value passes both.
    f.error('spec.opaquePorts', 'not supported: the CRD schema (a list) and the Linkerd validator (a map) disagree on its type, so no value is accepted; set opaque ports with the config.linkerd.io/opaque-ports annotation instead');
  }

  if (name !== undefined && isK8sSubdomain(name)) warnDangling(f, name, context);
}

function checkRoute(f: Findings, route: unknown, path: string): void {
  if (route === null || route === undefined) {
    f.error(path, 'null route: expected an object with name and condition');
    return;
  }
  if (!isRecord(route)) {
    f.error(path, `expected a route object, got ${jsonType(route)}`);
    return;
  }
  rejectUnknownKeys(f, route, path, ROUTE, 'a route');
  const name = readString(f, route, 'name', path);
  if (name === undefined || name === '') f.error(field(path, 'name'), 'required: a non-empty route name');

  const timeout = readString(f, route, 'timeout', path);
  if (timeout !== undefined && timeout !== '') {
    const parsed = parseDuration(timeout);
    if (!parsed.ok) f.error(field(path, 'timeout'), parsed.message);
    else if (parsed.nanos < 0n) f.warn(field(path, 'timeout'), `negative timeout ${quote(timeout)} is accepted by Linkerd but cannot work`);
  }

  readBool(f, route, 'isRetryable', path);

  if (!Object.hasOwn(route, 'condition') || route.condition === null || route.condition === undefined) {
    f.error(field(path, 'condition'), 'required: a request match (method, pathRegex, all, any or not)');
  } else if (!isRecord(route.condition)) {
    f.error(field(path, 'condition'), `expected a request match object, got ${jsonType(route.condition)}`);
  } else {
    const condition = route.condition;
    if (Object.hasOwn(condition, 'not') && condition.not !== null) {
      // The CRD types a route-level `not` as a list and Linkerd's Go type as an object: one side always refuses it.
      f.error(field(field(path, 'condition'), 'not'), 'not supported at the top of a route condition (the CRD schema and the Linkerd validator disagree on its type); wrap it: all: [{not: ...}]');
    }
    checkRequestMatch(f, condition, field(path, 'condition'), 1, true);
  }

  const classes = readArray(f, route, 'responseClasses', path);
  classes?.forEach((rc, i) => checkResponseClass(f, rc, item(field(path, 'responseClasses'), i)));
}

function checkRequestMatch(f: Findings, match: Obj, path: string, depth: number, skipNot = false): void {
  if (depth > MAX_MATCH_DEPTH) {
    f.error(path, `conditions nest deeper than ${MAX_MATCH_DEPTH} levels of all/any/not`);
    return;
  }
  rejectUnknownKeys(f, match, path, REQUEST_MATCH, 'a request match');
  let set = false;
  for (const key of ['all', 'any'] as const) {
    const list = readArray(f, match, key, path);
    if (list === undefined) continue;
    set = true; // an empty list still counts as set, as in Linkerd
    list.forEach((child, i) => {
      const childPath = item(field(path, key), i);
      if (child === null || child === undefined) f.error(childPath, `null condition in "${key}": expected a request match`);
      else if (!isRecord(child)) f.error(childPath, `expected a request match object, got ${jsonType(child)}`);
      else checkRequestMatch(f, child, childPath, depth + 1);
    });
  }
  const method = readString(f, match, 'method', path);
  if (method !== undefined && method !== '') set = true;
  const pathRegex = readString(f, match, 'pathRegex', path);
  if (pathRegex !== undefined && pathRegex !== '') {
    set = true;
    // Linkerd never compiles it at admission; the proxy later ignores the route, so warn only.
    const problem = re2Problem(pathRegex);
    if (problem) f.warn(field(path, 'pathRegex'), `${problem}; Linkerd accepts it but the route will never match`);
  }
  if (Object.hasOwn(match, 'not') && match.not !== null && match.not !== undefined) {
    set = true;
    if (!skipNot) {
      const not = readObject(f, match, 'not', path);
      if (not) checkRequestMatch(f, not, field(path, 'not'), depth + 1);
    }
  }
  if (!set) f.error(path, 'a request match must set at least one of method, pathRegex, all, any or not');
}

function checkResponseClass(f: Findings, rc: unknown, path: string): void {
  if (rc === null || rc === undefined) {
    f.error(path, 'null response class: expected an object with a condition');
    return;
  }
  if (!isRecord(rc)) {
    f.error(path, `expected a response class object, got ${jsonType(rc)}`);
    return;
  }
  rejectUnknownKeys(f, rc, path, RESPONSE_CLASS, 'a response class');
  readBool(f, rc, 'isFailure', path);
  if (!Object.hasOwn(rc, 'condition') || rc.condition === null || rc.condition === undefined) {
    f.error(field(path, 'condition'), 'required: a response match (status, all, any or not)');
    return;
  }
  const condition = readObject(f, rc, 'condition', path);
  if (condition) checkResponseMatch(f, condition, field(path, 'condition'), 1);
}

function checkResponseMatch(f: Findings, match: Obj, path: string, depth: number): void {
  if (depth > MAX_MATCH_DEPTH) {
    f.error(path, `conditions nest deeper than ${MAX_MATCH_DEPTH} levels of all/any/not`);
    return;
  }
  rejectUnknownKeys(f, match, path, RESPONSE_MATCH, 'a response match');
  let set = false;
  for (const key of ['all', 'any'] as const) {
    const list = readArray(f, match, key, path);
    if (list === undefined) continue;
    set = true;
    list.forEach((child, i) => {
      const childPath = item(field(path, key), i);
      if (child === null || child === undefined) f.error(childPath, `null condition in "${key}": expected a response match`);
      else if (!isRecord(child)) f.error(childPath, `expected a response match object, got ${jsonType(child)}`);
      else checkResponseMatch(f, child, childPath, depth + 1);
    });
  }
  const not = readObject(f, match, 'not', path);
  if (not) {
    set = true;
    checkResponseMatch(f, not, field(path, 'not'), depth + 1);
  }
  const status = readObject(f, match, 'status', path);
  if (status) {
    set = true; // `status: {}` counts, as upstream
    checkRange(f, status, field(path, 'status'));
  }
  if (!set) f.error(path, 'a response match must set at least one of status, all, any or not');
}

function checkRange(f: Findings, range: Obj, path: string): void {
  rejectUnknownKeys(f, range, path, RANGE, 'a status range');
  const min = readInteger(f, range, 'min', path, 0, UINT32_MAX, 'uint32') ?? 0;
  const max = readInteger(f, range, 'max', path, 0, UINT32_MAX, 'uint32') ?? 0;
  // 0 means "unset" in Linkerd's Range.
  if (min !== 0 && (min < 100 || min > 599)) f.error(field(path, 'min'), `${min} is not an HTTP status: expected 100 to 599 (or 0 for unset)`);
  if (max !== 0 && (max < 100 || max > 599)) f.error(field(path, 'max'), `${max} is not an HTTP status: expected 100 to 599 (or 0 for unset)`);
  if (min !== 0 && max !== 0 && max < min) f.error(field(path, 'max'), `${max} is smaller than min ${min}`);
}

function checkRetryBudget(f: Findings, budget: Obj, path: string): void {
  rejectUnknownKeys(f, budget, path, RETRY_BUDGET, 'a retry budget');
  const ratio = readNumber(f, budget, 'retryRatio', path);
  if (ratio === undefined && !Object.hasOwn(budget, 'retryRatio')) f.error(field(path, 'retryRatio'), 'required: a non-negative number, e.g. 0.2');
  if (ratio !== undefined && ratio < 0) f.error(field(path, 'retryRatio'), `${ratio} is negative; expected 0 or more`);
  const minRetries = readInteger(f, budget, 'minRetriesPerSecond', path, 0, UINT32_MAX, 'uint32');
  if (minRetries === undefined && !Object.hasOwn(budget, 'minRetriesPerSecond')) f.error(field(path, 'minRetriesPerSecond'), 'required: a whole number of retries per second, e.g. 10');
  const ttl = readString(f, budget, 'ttl', path);
  if (ttl === undefined || ttl === '') {
    if (!Object.hasOwn(budget, 'ttl') || ttl === '' || budget.ttl === null) f.error(field(path, 'ttl'), 'required: a Go duration such as "10s"');
  } else {
    const parsed = parseDuration(ttl);
    if (!parsed.ok) f.error(field(path, 'ttl'), parsed.message);
  }
}

// resource.Quantity: sign, decimal number, then a binary/decimal SI suffix or a decimal exponent.
const QUANTITY = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?$/;

function checkWeightedDst(f: Findings, dst: unknown, path: string): void {
  if (dst === null || dst === undefined) return;
  if (!isRecord(dst)) {
    f.error(path, `expected an object with authority and weight, got ${jsonType(dst)}`);
    return;
  }
  rejectUnknownKeys(f, dst, path, WEIGHTED_DST, 'a destination override');
  readString(f, dst, 'authority', path);
  const weight = dst.weight;
  if (weight === null || weight === undefined) return;
  const text = typeof weight === 'number' ? String(weight) : typeof weight === 'string' ? weight.trim() : undefined;
  if (text === undefined) {
    f.error(field(path, 'weight'), `expected a quantity such as "1", "500m" or 100, got ${jsonType(weight)}`);
  } else if (text.length > 64 || !QUANTITY.test(text)) {
    f.error(field(path, 'weight'), `${quote(text)} is not a quantity; expected a number with an optional suffix, such as "1", "500m" or "100"`);
  }
}

const SERVICE_FQDN = /^([^.]+)\.([^.]+)\.svc\.(.+)$/;

function warnDangling(f: Findings, name: string, context: ServiceProfileContext): void {
  const state = context.clusterState;
  if (!state) return;
  const expected = `<service>.<namespace>.svc.${context.clusterDomain}`;
  const match = SERVICE_FQDN.exec(name);
  if (!match || match[3] !== context.clusterDomain || !isK8sLabel(match[1]) || !isK8sLabel(match[2])) {
    // Only the Service's own FQDN makes Linkerd use a profile, so check the form only when we know the cluster.
    if (state.list('Service') !== undefined) {
      f.warn('metadata.name', `${quote(name)} is not of the form ${expected}, so Linkerd will not apply this profile`);
    }
    return;
  }
  const [, service, namespace] = match;
  const services = state.list('Service', namespace);
  if (services === undefined) return;
  if (!services.some((s) => s.metadata?.name === service)) {
    f.warn('metadata.name', `no Service ${quote(service)} in namespace ${quote(namespace)}, so this profile applies to nothing yet`);
  }
}
