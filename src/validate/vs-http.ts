import { isRecord } from '../kube/types.ts';
import type { Findings } from './collector.ts';
import { field, item, quote } from './collector.ts';
import { checkIstioDuration, checkLabels } from './istio.ts';
import type { Obj } from './json.ts';
import { has, INT32_MAX, INT32_MIN, jsonType, readArray, readBool, readInteger, readObject, readString, readStringList, UINT32_MAX } from './json.ts';
import { isHeaderToken, isIstioLabel } from './names.ts';
import { checkAuthorityOnce, checkHeaderOperations } from './http-headers.ts';
import { checkCors, checkDirectResponse, checkFault, checkRedirect, checkRetries, checkRewrite } from './vs-policies.ts';
import type { Scope } from './vs-scope.ts';
import { checkDestination, checkGatewayNames, checkPercent, checkPort, checkStringMatchValue } from './vs-scope.ts';

// VirtualService HTTP routes: route kind conflicts, matches, destinations and weights, and the
// per-route policies (headers, redirect, rewrite, fault, retries, CORS, mirrors, timeout).

export function checkHTTPRoute(scope: Scope, value: unknown, path: string): void {
  const { f } = scope;
  if (value === null || value === undefined) {
    f.error(path, 'http route must not be null');
    return;
  }
  if (!isRecord(value)) {
    f.error(path, `expected an http route object, got ${jsonType(value)}`);
    return;
  }
  const route = value;
  const routeName = readString(f, route, 'name', path);
  const destinations = readArray(f, route, 'route', path) ?? [];
  const redirect = readObject(f, route, 'redirect', path);
  const directResponse = readObject(f, route, 'directResponse', path);
  const delegate = readObject(f, route, 'delegate', path);
  const rewrite = readObject(f, route, 'rewrite', path);
  const fault = readObject(f, route, 'fault', path);
  const mirrors = readArray(f, route, 'mirrors', path);
  const hasMirror = has(route, 'mirror');

  // As Istio sorts routes: in a delegate VS every route is a delegate route; elsewhere a route
  // with delegate is a root route, which may only delegate; the rest are independent routes.
  const root = delegate !== undefined && !scope.delegate;
  if (delegate) {
    const dp = field(path, 'delegate');
    if (scope.delegate) f.error(dp, 'a delegate VirtualService (one without hosts) cannot delegate again');
    const name = readString(f, delegate, 'name', dp);
    if (!name) f.error(field(dp, 'name'), 'required: the name of the delegate VirtualService');
    const ns = readString(f, delegate, 'namespace', dp);
    if (ns && !isIstioLabel(ns)) f.error(field(dp, 'namespace'), `${quote(ns)} is not a namespace name (DNS-1123 label)`);
  }
  if (root) {
    const named = routeName ? ` (${quote(routeName)})` : '';
    if (destinations.length > 0) f.error(field(path, 'route'), `a route that delegates${named} must not also set route`);
    if (redirect) f.error(field(path, 'redirect'), `a route that delegates${named} must not also set redirect`);
  } else if (redirect) {
    if (destinations.length > 0) f.error(field(path, 'redirect'), 'a route cannot have both route and redirect: a redirect answers the request itself');
    if (fault) f.error(field(path, 'fault'), 'a route cannot have both fault and redirect');
    if (rewrite) f.error(field(path, 'rewrite'), 'a route cannot have both rewrite and redirect');
    if (directResponse) f.error(field(path, 'directResponse'), 'a route cannot have both redirect and directResponse');
  } else if (directResponse) {
    if (destinations.length > 0) f.error(field(path, 'directResponse'), 'a route cannot have both route and directResponse');
    if (fault) f.error(field(path, 'fault'), 'a route cannot have both fault and directResponse');
    if (rewrite) f.error(field(path, 'rewrite'), 'a route cannot have both rewrite and directResponse');
  } else if (destinations.length === 0) {
    f.error(field(path, 'route'), 'required: an http route needs route destinations, a redirect, a directResponse or a delegate');
  }
  if (hasMirror && mirrors !== undefined && mirrors.length > 0) f.error(field(path, 'mirrors'), 'a route cannot have both mirror and mirrors; move the mirror into mirrors');

  const matches = readArray(f, route, 'match', path);
  matches?.forEach((m, i) => checkHTTPMatch(scope, m, item(field(path, 'match'), i)));

  checkHTTPDestinations(scope, destinations, field(path, 'route'));

  const headers = readObject(f, route, 'headers', path);
  if (headers) checkHeaderOperations(f, headers, field(path, 'headers'));
  checkAuthorityOnce(f, rewrite, headers, path);

  if (redirect) checkRedirect(f, redirect, field(path, 'redirect'));
  if (directResponse) checkDirectResponse(f, directResponse, field(path, 'directResponse'));
  if (rewrite) checkRewrite(f, rewrite, field(path, 'rewrite'));
  if (fault) checkFault(f, fault, field(path, 'fault'));

  checkIstioDuration(f, route, 'timeout', path);
  const retries = readObject(f, route, 'retries', path);
  if (retries) checkRetries(f, retries, field(path, 'retries'));

  const cors = readObject(f, route, 'corsPolicy', path);
  if (cors) checkCors(f, cors, field(path, 'corsPolicy'));

  if (hasMirror) {
    const mirror = readObject(f, route, 'mirror', path);
    if (mirror) checkDestination(scope, mirror, field(path, 'mirror'));
  }
  for (const key of ['mirrorPercent', 'mirror_percent']) {
    if (!has(route, key)) continue;
    f.warn(field(path, key), `deprecated; use mirrorPercentage: {value: ${typeof route[key] === 'number' ? route[key] : '<percent>'}} instead`);
    const percent = readInteger(f, route, key, path, 0, UINT32_MAX, 'uint32');
    if (percent !== undefined && percent > 100) f.error(field(path, key), `${percent} is more than 100 percent`);
  }
  const mirrorPercentage = readObject(f, route, 'mirrorPercentage', path);
  if (mirrorPercentage) checkPercent(f, mirrorPercentage, field(path, 'mirrorPercentage'), 'mirror percentage');
  mirrors?.forEach((m, i) => {
    const p = item(field(path, 'mirrors'), i);
    if (!isRecord(m)) {
      f.error(p, m === null || m === undefined ? 'mirror must not be null' : `expected a mirror object, got ${jsonType(m)}`);
      return;
    }
    const dest = readObject(f, m, 'destination', p);
    if (!dest) f.error(field(p, 'destination'), 'required: the destination to mirror to');
    else checkDestination(scope, dest, field(p, 'destination'));
    const percentage = readObject(f, m, 'percentage', p);
    if (percentage) checkPercent(f, percentage, field(p, 'percentage'), 'mirror percentage');
  });
}

const JWT_CLAIM = /^@request\.auth\.claims(\.|\[)/;
const PSEUDO_HEADERS = new Set([':method', ':scheme', ':authority', ':path', ':status']);

function checkHTTPMatch(scope: Scope, value: unknown, path: string): void {
  const { f } = scope;
  if (!isRecord(value)) {
    f.error(path, value === null || value === undefined ? 'match must not be null' : `expected a match object, got ${jsonType(value)}`);
    return;
  }
  const m = value;
  readString(f, m, 'name', path);
  readBool(f, m, 'ignoreUriCase', path);
  checkStringMatch(f, m, 'uri', path, true);
  for (const key of ['scheme', 'method', 'authority']) checkStringMatch(f, m, key, path, false);
  for (const key of ['headers', 'withoutHeaders'] as const) {
    const headers = readObject(f, m, key, path);
    if (!headers) continue;
    for (const [name, match] of Object.entries(headers)) {
      const p = field(field(path, key), name);
      if (JWT_CLAIM.test(name)) {
        if (!scope.appliesToGateway) {
          f.error(p, `routing on JWT claims (${quote(name)}) only works on gateways, but this VirtualService applies to the mesh (no gateways, or "mesh" among them)`);
        }
      } else if (name === '') {
        f.error(p, 'header name must not be empty');
      } else if (!isHeaderToken(name) && !PSEUDO_HEADERS.has(name)) {
        f.error(p, `${quote(name)} is not a valid header name (RFC 7230 token characters only, no spaces)`);
      }
      if (match === null || match === undefined) {
        // Istio refuses a null headers entry but reads a null withoutHeaders entry as "absent".
        if (key === 'headers') f.error(p, 'header match must not be null; use {} to match presence, or exact/prefix/regex');
        continue;
      }
      checkStringMatchValue(f, match, p, false, key === 'withoutHeaders');
    }
  }
  const params = readObject(f, m, 'queryParams', path);
  if (params) {
    for (const [name, match] of Object.entries(params)) {
      const p = field(field(path, 'queryParams'), name);
      if (match === null || match === undefined) f.error(p, 'query parameter match must not be null');
      else checkStringMatchValue(f, match, p, false, false);
    }
  }
  const port = readInteger(f, m, 'port', path, 0, UINT32_MAX, 'uint32');
  if (port !== undefined && port !== 0) checkPort(f, port, field(path, 'port'));
  checkLabels(f, m, 'sourceLabels', path);
  const ns = readString(f, m, 'sourceNamespace', path);
  if (ns !== undefined && ns !== '' && !isIstioLabel(ns)) f.error(field(path, 'sourceNamespace'), `${quote(ns)} is not a namespace name (DNS-1123 label: letters, digits and "-")`);
  const gateways = readStringList(f, m, 'gateways', path);
  if (gateways) checkGatewayNames(f, gateways, field(path, 'gateways'));
  readString(f, m, 'statPrefix', path);
}

function checkStringMatch(f: Findings, parent: Obj, key: string, path: string, allowEmptyPrefix: boolean): void {
  if (!has(parent, key)) return;
  checkStringMatchValue(f, parent[key], field(path, key), allowEmptyPrefix, false);
}

function checkHTTPDestinations(scope: Scope, destinations: unknown[], path: string): void {
  const { f } = scope;
  let total = 0;
  destinations.forEach((d, i) => {
    const p = item(path, i);
    if (!isRecord(d)) {
      f.error(p, d === null || d === undefined ? 'route destination must not be null' : `expected a route destination object, got ${jsonType(d)}`);
      return;
    }
    const dest = readObject(f, d, 'destination', p);
    if (!dest) f.error(field(p, 'destination'), 'required: a destination with a host');
    else checkDestination(scope, dest, field(p, 'destination'));
    const headers = readObject(f, d, 'headers', p);
    if (headers) checkHeaderOperations(f, headers, field(p, 'headers'));
    const weight = readInteger(f, d, 'weight', p, INT32_MIN, INT32_MAX, 'int32');
    if (weight !== undefined) {
      if (weight < 0) f.error(field(p, 'weight'), `weight ${weight} is negative; expected 0 or more (weights are relative and need not sum to 100)`);
      else total += weight;
    }
  });
  if (destinations.length > 1 && total === 0) {
    f.error(path, `the weights of these ${destinations.length} destinations are all 0, so no traffic can be routed; give at least one a positive weight`);
  }
}
