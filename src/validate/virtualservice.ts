import type { ClusterState } from '../kube/cluster-state.ts';
import { isRecord } from '../kube/types.ts';
import type { Findings } from './collector.ts';
import { field, item, quote } from './collector.ts';
import { VIRTUAL_SERVICE_SPEC, warnUnknownFields } from './istio-fields.ts';
import { checkExportTo, checkIstioDuration, checkIstioObject, checkLabels } from './istio.ts';
import type { Obj } from './json.ts';
import {
  has, INT32_MAX, INT32_MIN, jsonType, readArray, readBool, readInteger, readNumber, readObject, readString, readStringList, UINT32_MAX,
} from './json.ts';
import { fqdnProblem, isHeaderToken, isIstioLabel, wildcardDomainProblem } from './names.ts';
import { cidrProblem, isIPAddress } from './net.ts';
import { re2Problem } from './regex.ts';

// networking.istio.io VirtualService, after Istio's ValidateVirtualService and the CRD schema
// (oneOf string matches, required fields, CEL duration minimums).

export interface VirtualServiceContext {
  clusterState?: ClusterState;
  clusterDomain: string;
}

interface Scope {
  f: Findings;
  /** A VS without hosts is a delegate (child) of another VS. */
  delegate: boolean;
  appliesToMesh: boolean;
  appliesToGateway: boolean;
  gateways: string[];
  hosts: string[];
  namespace: string;
  context: VirtualServiceContext;
  /** Comparison budget for the quadratic checks (duplicate hosts, unused matches). */
  budget: { left: number };
}

const MESH = 'mesh';
const MAX_DIRECT_RESPONSE = 1024 * 1024;
const WARN_DIRECT_RESPONSE = 100 * 1024;

export function validateVirtualService(object: Obj, f: Findings, context: VirtualServiceContext): void {
  const meta = checkIstioObject(f, object, 'VirtualService');
  const spec = readObject(f, object, 'spec', '');
  if (!spec) {
    f.error('spec', 'required: an object with hosts and http, tcp or tls routes');
    return;
  }
  const hosts = readStringList(f, spec, 'hosts', 'spec') ?? [];
  const gateways = readStringList(f, spec, 'gateways', 'spec') ?? [];
  const gatewayNames = gateways.map(([, g]) => g);
  const scope: Scope = {
    f,
    delegate: hosts.length === 0 && !(Array.isArray(spec.hosts) && spec.hosts.length > 0),
    // As Istio decides it: listing "mesh" among gateways makes the VS a mesh one for these rules.
    appliesToMesh: gatewayNames.length === 0 || gatewayNames.includes(MESH),
    appliesToGateway: gatewayNames.length > 0 && !gatewayNames.includes(MESH),
    gateways: gatewayNames,
    hosts: hosts.map(([, h]) => h),
    namespace: meta.namespace,
    context,
    budget: { left: 2_000_000 },
  };

  const http = readArray(f, spec, 'http', 'spec') ?? [];
  const tls = readArray(f, spec, 'tls', 'spec') ?? [];
  const tcp = readArray(f, spec, 'tcp', 'spec') ?? [];

  if (scope.delegate) {
    if (gateways.length > 0) f.error('spec.gateways', 'a delegate VirtualService (one without hosts) must not set gateways; its root VirtualService decides them');
    if (tls.length > 0) f.error('spec.tls', 'a delegate VirtualService (one without hosts) may only have http routes, not tls');
    if (tcp.length > 0) f.error('spec.tcp', 'a delegate VirtualService (one without hosts) may only have http routes, not tcp');
  }
  checkGatewayNames(f, gateways, 'spec.gateways');
  checkHosts(scope, hosts, tls.length > 0);

  if (http.length === 0 && tls.length === 0 && tcp.length === 0) {
    f.error('spec', 'at least one of http, tcp or tls routes is required');
  }
  http.forEach((route, i) => checkHTTPRoute(scope, route, item('spec.http', i)));
  tls.forEach((route, i) => checkTLSRoute(scope, route, item('spec.tls', i)));
  tcp.forEach((route, i) => checkTCPRoute(scope, route, item('spec.tcp', i)));

  const exportTo = readStringList(f, spec, 'exportTo', 'spec');
  if (exportTo) checkExportTo(f, exportTo, 'spec.exportTo', meta.namespace);

  warnUnreachable(scope, http, 'spec.http', true);
  warnUnreachable(scope, tcp, 'spec.tcp', false);
  warnUnreachable(scope, tls, 'spec.tls', false);
  warnUnknownFields(f, spec, VIRTUAL_SERVICE_SPEC, 'spec');
}

// ---------- hosts and gateways ----------

function isWildcard(host: string): boolean {
  return host.startsWith('*');
}

/** Istio's host.Name.Matches: wildcard-aware, symmetric, purely textual. */
export function hostsOverlap(a: string, b: string): boolean {
  if (isWildcard(a)) {
    if (isWildcard(b)) return a.length < b.length ? b.slice(1).endsWith(a.slice(1)) : a.slice(1).endsWith(b.slice(1));
    return b.endsWith(a.slice(1));
  }
  if (isWildcard(b)) return a.endsWith(b.slice(1));
  return a === b;
}

/** Istio's host.Name.SubsetOf: every name a matches, b matches too. */
function hostSubsetOf(a: string, b: string): boolean {
  if (isWildcard(a)) return isWildcard(b) && a.slice(1).endsWith(b.slice(1));
  if (isWildcard(b)) return a.endsWith(b.slice(1));
  return a === b;
}

const SNI_STYLE_HOST = /^outbound_\.[0-9]+_\._\./;

function checkHosts(scope: Scope, hosts: [number, string][], hasTLS: boolean): void {
  const { f } = scope;
  let allValid = true;
  for (const [i, host] of hosts) {
    const path = item('spec.hosts', i);
    let candidate = host;
    // A VS bound only to gateways may name the SNI form Istio generates for passthrough.
    if (!scope.appliesToMesh && hasTLS && SNI_STYLE_HOST.test(host)) candidate = host.replace(SNI_STYLE_HOST, '');
    const problem = wildcardDomainProblem(candidate);
    if (problem) {
      if (!isIPAddress(host)) {
        f.error(path, `${quote(host)} is not a valid host: ${problem}; expected a DNS name (optionally starting with a "*" wildcard label) or an IP address`);
        allValid = false;
      }
    } else if (scope.appliesToMesh && host === '*') {
      f.error(path, 'host "*" is not allowed when the VirtualService applies to the mesh (no gateways, or gateways include "mesh"); name the services, or bind it to gateways only');
      allValid = false;
    }
  }
  if (!allValid) return;
  for (let i = 0; i < hosts.length; i++) {
    for (let j = i + 1; j < hosts.length; j++) {
      if (--scope.budget.left < 0) return;
      if (hostsOverlap(hosts[i][1], hosts[j][1])) {
        f.error(item('spec.hosts', hosts[j][0]), `${quote(hosts[j][1])} duplicates ${quote(hosts[i][1])} (spec.hosts[${hosts[i][0]}]): the two host patterns overlap`);
      }
    }
  }
}

function checkGatewayNames(f: Findings, gateways: [number, string][], path: string): void {
  // Istio stops checking the list after the first name without "/" (an early return in its
  // loop), so later names are accepted whatever they are: weft accepts them too, with a warning.
  let unchecked = false;
  for (const [i, name] of gateways) {
    const p = item(path, i);
    const report = (message: string) => (unchecked ? f.warn(p, `${message} (Istio accepts it because it stops checking after the short name before it)`) : f.error(p, message));
    const slash = name.indexOf('/');
    if (slash < 0) {
      if (name.includes('.') && !unchecked) {
        const [gw, ns] = name.split('.');
        f.warn(p, `legacy gateway name format ${quote(name)}; use <namespace>/<name>, e.g. "${ns}/${gw}"`);
      }
      const problem = fqdnProblem(name);
      if (problem) report(`${quote(name)} is not a gateway name (${problem}); expected "mesh", <name>, or <namespace>/<name>`);
      unchecked = true;
      continue;
    }
    const ns = name.slice(0, slash);
    const gw = name.slice(slash + 1);
    if (ns === '' || gw === '') {
      report(`${quote(name)}: both the namespace and the gateway name of <namespace>/<name> must be set`);
      continue;
    }
    if (!isIstioLabel(ns)) report(`${quote(ns)} in ${quote(name)} is not a valid namespace (DNS-1123 label; wildcards are not allowed)`);
    if (!isIstioLabel(gw)) report(`${quote(gw)} in ${quote(name)} is not a valid gateway name (DNS-1123 label; wildcards are not allowed)`);
  }
}

// ---------- HTTP ----------

function checkHTTPRoute(scope: Scope, value: unknown, path: string): void {
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

  if (delegate) {
    if (scope.delegate) f.error(field(path, 'delegate'), 'a delegate VirtualService (one without hosts) cannot delegate again');
    if (destinations.length > 0) f.error(field(path, 'route'), `a route that delegates${routeName ? ` (${quote(routeName)})` : ''} must not also set route`);
    if (redirect) f.error(field(path, 'redirect'), `a route that delegates${routeName ? ` (${quote(routeName)})` : ''} must not also set redirect`);
    const name = readString(f, delegate, 'name', field(path, 'delegate'));
    if (!name) f.error(field(field(path, 'delegate'), 'name'), 'required: the name of the delegate VirtualService');
    const ns = readString(f, delegate, 'namespace', field(path, 'delegate'));
    if (ns && !isIstioLabel(ns)) f.error(field(field(path, 'delegate'), 'namespace'), `${quote(ns)} is not a namespace name (DNS-1123 label)`);
  }
  if (redirect) {
    if (destinations.length > 0) f.error(field(path, 'redirect'), 'a route cannot have both route and redirect: a redirect answers the request itself');
    if (fault) f.error(field(path, 'fault'), 'a route cannot have both fault and redirect');
    if (rewrite) f.error(field(path, 'rewrite'), 'a route cannot have both rewrite and redirect');
    if (directResponse) f.error(field(path, 'directResponse'), 'a route cannot have both redirect and directResponse');
  } else if (directResponse) {
    if (destinations.length > 0) f.error(field(path, 'directResponse'), 'a route cannot have both route and directResponse');
    if (fault) f.error(field(path, 'fault'), 'a route cannot have both fault and directResponse');
    if (rewrite) f.error(field(path, 'rewrite'), 'a route cannot have both rewrite and directResponse');
  } else if (!delegate && destinations.length === 0) {
    f.error(field(path, 'route'), 'required: an http route needs route destinations, a redirect, a directResponse or a delegate');
  }
  if (hasMirror && mirrors !== undefined && mirrors.length > 0) f.error(field(path, 'mirrors'), 'a route cannot have both mirror and mirrors; move the mirror into mirrors');

  const matches = readArray(f, route, 'match', path);
  matches?.forEach((m, i) => checkHTTPMatch(scope, m, item(field(path, 'match'), i)));

  checkHTTPDestinations(scope, destinations, field(path, 'route'));

  const headers = readObject(f, route, 'headers', path);
  if (headers) checkHeaderOperations(f, headers, field(path, 'headers'));
  checkAuthorityOnce(f, route, rewrite, headers, path);

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

function checkPercent(f: Findings, percentage: Obj, path: string, what: string): void {
  const value = readNumber(f, percentage, 'value', path);
  if (value === undefined) return;
  if (value > 100) f.error(field(path, 'value'), `${what} ${value} is more than 100`);
  if (value < 0) f.error(field(path, 'value'), `${what} ${value} is negative`);
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

const STRING_MATCH_KEYS = ['exact', 'prefix', 'regex'] as const;

function checkStringMatchValue(f: Findings, value: unknown, path: string, allowEmptyPrefix: boolean, presenceStar: boolean): void {
  if (!isRecord(value)) {
    f.error(path, `expected a string match object with one of exact, prefix or regex, got ${jsonType(value)}`);
    return;
  }
  const set = STRING_MATCH_KEYS.filter((k) => has(value, k));
  if (set.length > 1) f.error(path, `set only one of exact, prefix or regex, not ${set.join(' and ')}`);
  for (const k of set) {
    const text = readString(f, value, k, path);
    if (text === undefined) continue;
    if (k === 'prefix' && text === '' && !allowEmptyPrefix) f.error(field(path, 'prefix'), 'must not be empty; omit the match to match any value');
    if (k === 'regex') {
      if (presenceStar && text === '*') continue; // presence match, not a regex
      checkRegex(f, text, field(path, 'regex'));
    }
  }
}

function checkRegex(f: Findings, pattern: string, path: string): void {
  if (pattern === '') {
    f.error(path, 'must not be empty');
    return;
  }
  const problem = re2Problem(pattern);
  if (problem) f.error(path, `${problem}; Istio matches with RE2 syntax`);
}

function checkPort(f: Findings, port: number, path: string): void {
  if (port < 1 || port > 65535) f.error(path, `port ${port} is out of range; expected 1 to 65535`);
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

function checkDestination(scope: Scope, dest: Obj, path: string): void {
  const { f } = scope;
  const host = readString(f, dest, 'host', path);
  if (host === undefined) {
    f.error(field(path, 'host'), 'required: the service to send traffic to');
  } else if (host === '*') {
    f.error(field(path, 'host'), 'host "*" is not a destination; name a service');
  } else {
    const problem = wildcardDomainProblem(host);
    if (problem) f.error(field(path, 'host'), `${quote(host)} is not a valid destination host: ${problem}; expected a service name or DNS name (IP addresses are not allowed here)`);
  }
  const subset = readString(f, dest, 'subset', path);
  if (subset !== undefined && subset !== '') {
    if (!isIstioLabel(subset)) f.error(field(path, 'subset'), `${quote(subset)} is not a valid subset name (DNS-1123 label: letters, digits and "-", no dots, at most 63)`);
    else if (host !== undefined) warnUndefinedSubset(scope, host, subset, field(path, 'subset'));
  }
  if (has(dest, 'port')) {
    const port = readObject(f, dest, 'port', path);
    if (port) {
      const number = readInteger(f, port, 'number', field(path, 'port'), 0, UINT32_MAX, 'uint32') ?? 0;
      checkPort(f, number, field(field(path, 'port'), 'number'));
    }
  }
}

function fqdn(host: string, namespace: string, domain: string): string {
  if (host.includes('.')) return host.endsWith('.') ? host.slice(0, -1) : host;
  return `${host}.${namespace}.svc.${domain}`;
}

/** A subset no DestinationRule defines sends the traffic nowhere (Envoy answers 503). */
function warnUndefinedSubset(scope: Scope, host: string, subset: string, path: string): void {
  const state = scope.context.clusterState;
  if (!state || host.startsWith('*')) return;
  const domain = scope.context.clusterDomain;
  const target = fqdn(host, scope.namespace, domain);
  const namespaces = new Set([scope.namespace]);
  const svcMatch = /^[^.]+\.([^.]+)\.svc\./.exec(target);
  if (svcMatch) namespaces.add(svcMatch[1]);
  let tracked = false;
  for (const ns of namespaces) {
    const rules = state.list('DestinationRule', ns);
    if (rules === undefined) continue;
    tracked = true;
    for (const rule of rules) {
      const spec = rule.spec;
      if (!isRecord(spec) || typeof spec.host !== 'string') continue;
      if (fqdn(spec.host, rule.metadata?.namespace ?? ns, domain) !== target) continue;
      if (Array.isArray(spec.subsets) && spec.subsets.some((s) => isRecord(s) && s.name === subset)) return;
    }
  }
  if (tracked) scope.f.warn(path, `no DestinationRule for ${quote(host)} defines subset ${quote(subset)}; requests routed here will fail with 503 until one does`);
}

// ---------- header manipulation ----------

function checkHeaderOperations(fi: Findings, headers: Obj, path: string): void {
  for (const side of ['request', 'response'] as const) {
    const ops = readObject(fi, headers, side, path);
    if (!ops) continue;
    const p = field(path, side);
    for (const op of ['set', 'add'] as const) {
      const map = readObject(fi, ops, op, p);
      if (!map) continue;
      for (const [name, value] of Object.entries(map)) {
        const hp = field(field(p, op), name);
        checkHeaderName(fi, name, hp, side === 'request');
        if (typeof value !== 'string') fi.error(hp, `expected a string header value, got ${jsonType(value)}`);
        else checkHeaderValue(fi, value, hp);
      }
    }
    const remove = readStringList(fi, ops, 'remove', p);
    remove?.forEach(([i, name]) => checkHeaderName(fi, name, item(field(p, 'remove'), i), false));
  }
}

function checkHeaderName(fi: Findings, name: string, path: string, requestSet: boolean): void {
  if (name === '') {
    fi.error(path, 'header name must not be empty');
    return;
  }
  const lower = name.toLowerCase();
  if (requestSet && (lower === ':authority' || lower === 'host')) return;
  if (lower === 'host' || lower === ':authority') {
    fi.error(path, `${quote(name)}: the Host header can only be set on requests (headers.request.set/add, or rewrite.authority)`);
    return;
  }
  if (name.startsWith(':')) {
    fi.error(path, `${quote(name)}: pseudo-headers (starting with ":") cannot be changed here; only :authority may be set on requests`);
    return;
  }
  if (!isHeaderToken(name)) fi.error(path, `${quote(name)} is not a valid header name (RFC 7230 token characters only)`);
}

function checkHeaderValue(fi: Findings, value: string, path: string): void {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) {
      fi.error(path, 'header value contains a control character');
      return;
    }
  }
  // Envoy formats %VARIABLE% in header values; "%%" is a literal percent sign.
  let i = 0;
  while (i < value.length) {
    const start = value.indexOf('%', i);
    if (start < 0) break;
    if (value[start + 1] === '%') {
      i = start + 2;
      continue;
    }
    const end = value.indexOf('%', start + 1);
    if (end < 0) {
      fi.error(path, `unterminated %VARIABLE% expression starting at ${quote(value.slice(start, start + 40))}; write "%%" for a literal percent sign`);
      return;
    }
    i = end + 1;
  }
}

/** rewrite.authority and request set/add of :authority or Host all set the same header. */
function checkAuthorityOnce(fi: Findings, _route: Obj, rewrite: Obj | undefined, headers: Obj | undefined, path: string): void {
  const sources: [string, string][] = [];
  if (rewrite && typeof rewrite.authority === 'string' && rewrite.authority !== '') sources.push([field(field(path, 'rewrite'), 'authority'), rewrite.authority]);
  const request = headers && isRecord(headers.request) ? headers.request : undefined;
  for (const op of ['set', 'add']) {
    const map = request && isRecord(request[op]) ? (request[op] as Obj) : undefined;
    if (!map) continue;
    for (const [name, value] of Object.entries(map)) {
      const lower = name.toLowerCase();
      if ((lower === ':authority' || lower === 'host') && typeof value === 'string') {
        sources.push([field(field(field(field(path, 'headers'), 'request'), op), name), value]);
      }
    }
  }
  for (let i = 1; i < sources.length; i++) {
    fi.error(sources[i][0], `sets the authority to ${quote(sources[i][1])}, but ${sources[0][0]} already sets it to ${quote(sources[0][1])}; set it only once`);
  }
}

// ---------- redirect, direct response, rewrite ----------

function checkRedirect(fi: Findings, redirect: Obj, path: string): void {
  const uri = readString(fi, redirect, 'uri', path) ?? '';
  const authority = readString(fi, redirect, 'authority', path) ?? '';
  const scheme = readString(fi, redirect, 'scheme', path) ?? '';
  const hasPort = has(redirect, 'port');
  const hasDerive = has(redirect, 'derivePort');
  if (hasPort && hasDerive) fi.error(path, 'set only one of port or derivePort');
  if (uri === '' && authority === '' && scheme === '' && !hasPort && !hasDerive) {
    fi.error(path, 'a redirect must change something: set uri, authority, scheme, port or derivePort');
  }
  const code = readInteger(fi, redirect, 'redirectCode', path, 0, UINT32_MAX, 'uint32');
  if (code !== undefined && code !== 0 && (code < 300 || code > 399)) fi.error(field(path, 'redirectCode'), `${code} is not a redirect status; expected 300 to 399`);
  if (scheme !== '' && scheme !== 'http' && scheme !== 'https') fi.error(field(path, 'scheme'), `${quote(scheme)} is not a redirect scheme; expected "http" or "https"`);
  const port = readInteger(fi, redirect, 'port', path, 0, UINT32_MAX, 'uint32');
  if (port !== undefined && port > 0) checkPort(fi, port, field(path, 'port'));
  const derive = readString(fi, redirect, 'derivePort', path);
  if (derive !== undefined && derive !== 'FROM_PROTOCOL_DEFAULT' && derive !== 'FROM_REQUEST_PORT') {
    fi.error(field(path, 'derivePort'), `${quote(derive)} is not one of FROM_PROTOCOL_DEFAULT, FROM_REQUEST_PORT`);
  }
}

function checkHTTPStatus(fi: Findings, status: number, path: string): void {
  // Istio's own check accepts 600 although its message says 200-599.
  if (status < 200 || status > 600) fi.error(path, `${status} is not an HTTP status weft can answer with; expected 200 to 599`);
}

function checkDirectResponse(fi: Findings, response: Obj, path: string): void {
  const status = readInteger(fi, response, 'status', path, 0, UINT32_MAX, 'uint32');
  if (status === undefined) fi.error(field(path, 'status'), 'required: the HTTP status to answer with');
  else checkHTTPStatus(fi, status, field(path, 'status'));
  const body = readObject(fi, response, 'body', path);
  if (!body) return;
  const bp = field(path, 'body');
  if (has(body, 'string') && has(body, 'bytes')) fi.error(bp, 'set only one of string or bytes');
  let size = 0;
  const text = readString(fi, body, 'string', bp);
  if (text !== undefined) size = Buffer.byteLength(text, 'utf8');
  const bytes = readString(fi, body, 'bytes', bp);
  if (bytes !== undefined) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(bytes) || bytes.length % 4 === 1) fi.error(field(bp, 'bytes'), 'not valid base64');
    else size = Math.floor((bytes.length * 3) / 4);
  }
  if (size > MAX_DIRECT_RESPONSE) fi.error(bp, `body is ${size} bytes; direct responses must be under 1 MiB (large bodies slow down every proxy's configuration)`);
  else if (size > WARN_DIRECT_RESPONSE) fi.warn(bp, `body is ${size} bytes; direct responses over 100 KiB slow down configuration pushes`);
}

function checkRewrite(fi: Findings, rewrite: Obj, path: string): void {
  const uri = readString(fi, rewrite, 'uri', path) ?? '';
  const authority = readString(fi, rewrite, 'authority', path) ?? '';
  const regexRewrite = readObject(fi, rewrite, 'uriRegexRewrite', path);
  if (uri !== '' && regexRewrite) fi.error(path, 'set only one of uri or uriRegexRewrite');
  if (uri === '' && !regexRewrite && authority === '') fi.error(path, 'a rewrite must set uri, uriRegexRewrite or authority');
  if (regexRewrite) {
    const rp = field(path, 'uriRegexRewrite');
    const match = readString(fi, regexRewrite, 'match', rp) ?? '';
    const replacement = readString(fi, regexRewrite, 'rewrite', rp) ?? '';
    if (match === '' || replacement === '') fi.error(rp, 'uriRegexRewrite needs both match and rewrite');
    if (match !== '') {
      const problem = re2Problem(match);
      if (problem) fi.error(field(rp, 'match'), `${problem}; Istio matches with RE2 syntax`);
    }
  }
}

// ---------- fault, retries, CORS ----------

const GRPC_CODES = new Set([
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
]);

function checkFaultPercentage(fi: Findings, parent: Obj, path: string): void {
  const percentage = readObject(fi, parent, 'percentage', path);
  if (!percentage) return;
  const value = readNumber(fi, percentage, 'value', field(path, 'percentage'));
  if (value === undefined) return;
  if (value < 0 || value > 100 || (value > 0 && value < 0.0001)) {
    fi.error(field(field(path, 'percentage'), 'value'), `${value} is not a usable percentage; expected 0, or from 0.0001 to 100`);
  }
}

function checkFault(fi: Findings, fault: Obj, path: string): void {
  const abort = readObject(fi, fault, 'abort', path);
  const delay = readObject(fi, fault, 'delay', path);
  if (!abort && !delay) fi.error(path, 'fault injection needs an abort, a delay, or both');
  if (abort) {
    const ap = field(path, 'abort');
    checkFaultPercentage(fi, abort, ap);
    const kinds = ['httpStatus', 'grpcStatus', 'http2Error'].filter((k) => has(abort, k));
    if (kinds.length > 1) fi.error(ap, `set only one of httpStatus, grpcStatus or http2Error, not ${kinds.join(' and ')}`);
    if (kinds.length === 0) fi.warn(ap, 'abort configured without httpStatus or grpcStatus, so it does nothing');
    const status = readInteger(fi, abort, 'httpStatus', ap, INT32_MIN, INT32_MAX, 'int32');
    if (status !== undefined) checkHTTPStatus(fi, status, field(ap, 'httpStatus'));
    const grpc = readString(fi, abort, 'grpcStatus', ap);
    if (grpc !== undefined && !GRPC_CODES.has(grpc)) fi.error(field(ap, 'grpcStatus'), `${quote(grpc)} is not a gRPC status name; expected one of ${[...GRPC_CODES].join(', ')}`);
    if (has(abort, 'http2Error')) fi.error(field(ap, 'http2Error'), 'HTTP/2 error aborts are not supported; use httpStatus or grpcStatus');
  }
  if (delay) {
    const dp = field(path, 'delay');
    checkFaultPercentage(fi, delay, dp);
    if (has(delay, 'fixedDelay') && has(delay, 'exponentialDelay')) fi.error(dp, 'set only one of fixedDelay or exponentialDelay');
    checkIstioDuration(fi, delay, 'fixedDelay', dp);
    if (has(delay, 'exponentialDelay')) {
      checkIstioDuration(fi, delay, 'exponentialDelay', dp);
      fi.error(field(dp, 'exponentialDelay'), 'exponential delays are not supported; use fixedDelay');
    }
    readInteger(fi, delay, 'percent', dp, INT32_MIN, INT32_MAX, 'int32');
  }
}

const RETRY_ON = new Set([
  '5xx', 'gateway-error', 'reset', 'reset-before-request', 'connect-failure', 'retriable-4xx', 'refused-stream', 'retriable-status-codes',
  'retriable-headers', 'envoy-ratelimited', 'http3-post-connect-failure', 'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable',
]);

/** Codes Go's net/http has a status text for: what Istio accepts as a numeric retryOn item. */
const HTTP_STATUS_CODES = new Set([
  100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 307, 308, 400, 401, 402, 403, 404,
  405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 418, 421, 422, 423, 424, 425, 426, 428, 429, 431, 451, 500, 501, 502,
  503, 504, 505, 506, 507, 508, 510, 511,
]);

function checkRetries(fi: Findings, retries: Obj, path: string): void {
  const attempts = readInteger(fi, retries, 'attempts', path, INT32_MIN, INT32_MAX, 'int32') ?? 0;
  if (attempts < 0) fi.error(field(path, 'attempts'), `${attempts} is negative; expected 0 (no retries) or more`);
  const retryOn = readString(fi, retries, 'retryOn', path) ?? '';
  const configured = ['perTryTimeout', 'retryRemoteLocalities'].filter((k) => has(retries, k));
  if (retryOn !== '') configured.push('retryOn');
  if (attempts === 0 && configured.length > 0) {
    fi.error(field(path, 'attempts'), `${has(retries, 'attempts') ? '0 disables retries' : 'not set, so retries are disabled'}, yet ${configured.join(', ')} ${configured.length > 1 ? 'are' : 'is'} configured; set attempts to 1 or more, or remove them`);
  }
  checkIstioDuration(fi, retries, 'perTryTimeout', path);
  checkIstioDuration(fi, retries, 'backoff', path);
  readBool(fi, retries, 'retryRemoteLocalities', path);
  if (retryOn !== '') {
    // Split on "," without trimming, as Envoy reads it: " 503" is not a policy.
    for (const policy of retryOn.split(',')) {
      const numeric = /^[+-]?[0-9]+$/.test(policy) ? Number(policy) : 0;
      if (!HTTP_STATUS_CODES.has(numeric) && !RETRY_ON.has(policy)) {
        fi.error(field(path, 'retryOn'), `${quote(policy)} is not a retryOn policy; expected comma-separated items without spaces, each an HTTP status code or one of ${[...RETRY_ON].join(', ')}`);
      }
    }
  }
}

const CORS_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', '*']);

function checkCors(fi: Findings, cors: Obj, path: string): void {
  const origins = readArray(fi, cors, 'allowOrigins', path);
  origins?.forEach((origin, i) => {
    const p = item(field(path, 'allowOrigins'), i);
    if (!isRecord(origin)) {
      fi.error(p, `expected a string match object with exact, prefix or regex, got ${jsonType(origin)}`);
      return;
    }
    const set = STRING_MATCH_KEYS.filter((k) => has(origin, k));
    if (set.length > 1) fi.error(p, `set only one of exact, prefix or regex, not ${set.join(' and ')}`);
    const key = set[set.length - 1];
    const value = key ? readString(fi, origin, key, p) : undefined;
    if (value === undefined || value === '') {
      fi.error(p, 'an allowed origin needs a non-empty exact, prefix or regex');
    } else if (key === 'regex') {
      checkRegex(fi, value, field(p, 'regex'));
    }
  });
  const methods = readStringList(fi, cors, 'allowMethods', path);
  methods?.forEach(([i, method]) => {
    if (!CORS_METHODS.has(method)) fi.error(item(field(path, 'allowMethods'), i), `${quote(method)} is not a supported HTTP method; expected one of GET, HEAD, POST, PUT, PATCH, DELETE, CONNECT, OPTIONS, TRACE (uppercase)`);
  });
  for (const key of ['allowHeaders', 'exposeHeaders']) {
    const list = readStringList(fi, cors, key, path);
    list?.forEach(([i, name]) => {
      const p = item(field(path, key), i);
      if (name === '*') return;
      if (name === '') fi.error(p, 'header name must not be empty');
      else if (!isHeaderToken(name)) fi.error(p, `${quote(name)} is not a valid header name (RFC 7230 token characters only)`);
    });
  }
  checkIstioDuration(fi, cors, 'maxAge', path, 'seconds');
  readBool(fi, cors, 'allowCredentials', path);
}

// ---------- TCP and TLS ----------

function checkL4Match(scope: Scope, m: Obj, path: string): void {
  const fi = scope.f;
  const subnets = readStringList(fi, m, 'destinationSubnets', path);
  subnets?.forEach(([i, subnet]) => {
    const p = item(field(path, 'destinationSubnets'), i);
    if (subnet.includes('/')) {
      const problem = cidrProblem(subnet);
      if (problem) fi.error(p, `${quote(subnet)} is not a valid CIDR block: ${problem}`);
    } else if (!isIPAddress(subnet)) {
      fi.error(p, `${quote(subnet)} is not a valid IP address or CIDR block`);
    }
  });
  const port = readInteger(fi, m, 'port', path, 0, UINT32_MAX, 'uint32');
  if (port !== undefined && port !== 0) checkPort(fi, port, field(path, 'port'));
  checkLabels(fi, m, 'sourceLabels', path);
  const gateways = readStringList(fi, m, 'gateways', path);
  if (gateways) checkGatewayNames(fi, gateways, field(path, 'gateways'));
  const ns = readString(fi, m, 'sourceNamespace', path);
  // Istio checks sourceNamespace on http matches only; on tcp/tls ones a bad name just never matches.
  if (ns !== undefined && ns !== '' && !isIstioLabel(ns)) fi.warn(field(path, 'sourceNamespace'), `${quote(ns)} is not a namespace name (DNS-1123 label), so this match never applies`);
}

function checkL4Destinations(scope: Scope, destinations: unknown[], path: string): void {
  const fi = scope.f;
  let total = 0;
  destinations.forEach((d, i) => {
    const p = item(path, i);
    if (!isRecord(d)) {
      fi.error(p, d === null || d === undefined ? 'route destination must not be null' : `expected a route destination object, got ${jsonType(d)}`);
      return;
    }
    const dest = readObject(fi, d, 'destination', p);
    if (!dest) fi.error(field(p, 'destination'), 'required: a destination with a host');
    else checkDestination(scope, dest, field(p, 'destination'));
    const weight = readInteger(fi, d, 'weight', p, INT32_MIN, INT32_MAX, 'int32');
    if (weight !== undefined) {
      if (weight < 0) fi.error(field(p, 'weight'), `weight ${weight} is negative; expected 0 or more (weights are relative and need not sum to 100)`);
      else total += weight;
    }
  });
  if (destinations.length > 1 && total === 0) {
    fi.error(path, `the weights of these ${destinations.length} destinations are all 0, so no traffic can be routed; give at least one a positive weight`);
  }
}

function checkTCPRoute(scope: Scope, value: unknown, path: string): void {
  const fi = scope.f;
  if (!isRecord(value)) {
    fi.error(path, value === null || value === undefined ? 'tcp route must not be null' : `expected a tcp route object, got ${jsonType(value)}`);
    return;
  }
  const matches = readArray(fi, value, 'match', path);
  matches?.forEach((m, i) => {
    const p = item(field(path, 'match'), i);
    if (!isRecord(m)) fi.error(p, `expected a match object, got ${jsonType(m)}`);
    else checkL4Match(scope, m, p);
  });
  const route = readArray(fi, value, 'route', path) ?? [];
  if (route.length === 0) fi.error(field(path, 'route'), 'required: a tcp route needs at least one destination');
  checkL4Destinations(scope, route, field(path, 'route'));
}

function checkTLSRoute(scope: Scope, value: unknown, path: string): void {
  const fi = scope.f;
  if (!isRecord(value)) {
    fi.error(path, value === null || value === undefined ? 'tls route must not be null' : `expected a tls route object, got ${jsonType(value)}`);
    return;
  }
  const matches = readArray(fi, value, 'match', path) ?? [];
  if (matches.length === 0) fi.error(field(path, 'match'), 'required: a tls route needs at least one match with sniHosts');
  matches.forEach((m, i) => {
    const p = item(field(path, 'match'), i);
    if (!isRecord(m)) {
      fi.error(p, m === null || m === undefined ? 'tls match must not be null' : `expected a match object, got ${jsonType(m)}`);
      return;
    }
    const sni = readStringList(fi, m, 'sniHosts', p) ?? [];
    if (sni.length === 0) fi.error(field(p, 'sniHosts'), 'required: a tls match needs at least one SNI host');
    for (const [j, host] of sni) checkSniHost(scope, host, item(field(p, 'sniHosts'), j));
    checkL4Match(scope, m, p);
  });
  const route = readArray(fi, value, 'route', path) ?? [];
  if (route.length === 0) fi.error(field(path, 'route'), 'required: a tls route needs at least one destination');
  checkL4Destinations(scope, route, field(path, 'route'));
}

function checkSniHost(scope: Scope, sni: string, path: string): void {
  const fi = scope.f;
  const problem = wildcardDomainProblem(sni);
  if (problem) {
    if (isIPAddress(sni)) fi.warn(path, `${quote(sni)} is an IP address; clients do not send IP addresses as SNI, so this match will not be used`);
    else fi.error(path, `${quote(sni)} is not a valid SNI host: ${problem}`);
    return;
  }
  if (!scope.hosts.some((h) => hostSubsetOf(sni, h))) {
    fi.error(path, `${quote(sni)} is not covered by any of the VirtualService hosts [${scope.hosts.join(', ')}]`);
  }
}

// ---------- unreachable rules (warnings only, as in Istio) ----------

function canonical(value: unknown, depth = 0): string {
  if (depth > 50) return '…';
  if (Array.isArray(value)) return `[${value.map((v) => canonical(v, depth + 1)).join(',')}]`;
  if (isRecord(value)) {
    return `{${Object.keys(value)
      .filter((k) => value[k] !== null && value[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k], depth + 1)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** A prefix match reduced to what decides whether an earlier one covers it. */
interface PrefixMatch {
  rule: number;
  match: number;
  prefix: string;
  port: unknown;
  method: string;
  authority: string;
  headers: Map<string, string>;
  queryParams: Map<string, string>;
  withoutHeaders: Map<string, string>;
}

function exactOrPrefix(m: unknown): string {
  if (!isRecord(m)) return '';
  if (typeof m.exact === 'string' && m.exact !== '') return `exact:${m.exact}`;
  if (typeof m.prefix === 'string' && m.prefix !== '') return `prefix:${m.prefix}`;
  return '';
}

function stringMatchMap(m: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (isRecord(m)) for (const [k, v] of Object.entries(m)) out.set(k, exactOrPrefix(v));
  return out;
}

function toPrefixMatch(m: Obj, rule: number, match: number): PrefixMatch | undefined {
  const uri = isRecord(m.uri) ? m.uri : undefined;
  if (!uri || typeof uri.prefix !== 'string' || uri.prefix === '') return undefined;
  return {
    rule, match, prefix: uri.prefix, port: m.port ?? 0,
    // Istio treats a match without method as GET for this comparison.
    method: exactOrPrefix(m.method) || 'exact:GET',
    authority: exactOrPrefix(m.authority),
    headers: stringMatchMap(m.headers), queryParams: stringMatchMap(m.queryParams), withoutHeaders: stringMatchMap(m.withoutHeaders),
  };
}

function mapCovered(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (w === undefined || (v !== w && !v.startsWith(w))) return false;
  }
  return true;
}

/** Istio's overlap rule: does earlier match a catch every request the later one would? */
function covers(a: PrefixMatch, b: PrefixMatch): boolean {
  if (!b.prefix.startsWith(a.prefix) || a.port !== b.port) return false;
  if (a.method !== b.method && !a.method.startsWith(b.method)) return false;
  if (a.authority !== b.authority && !a.authority.startsWith(b.authority)) return false;
  return mapCovered(a.headers, b.headers) && mapCovered(a.queryParams, b.queryParams) && mapCovered(a.withoutHeaders, b.withoutHeaders);
}

function warnUnreachable(scope: Scope, routes: unknown[], base: string, http: boolean): void {
  const seen = new Map<string, number>();
  const prefixes: PrefixMatch[] = [];
  let catchAll = -1;
  routes.forEach((route, i) => {
    if (!isRecord(route)) return;
    const path = item(base, i);
    const matches = Array.isArray(route.match) ? route.match : [];
    if (matches.length === 0) {
      if (catchAll >= 0) scope.f.warn(path, `rule is never used: only the last rule can have no matches, and ${item(base, catchAll)} has none`);
      catchAll = i;
      return;
    }
    if (catchAll >= 0) {
      scope.f.warn(path, `rule is never used: ${item(base, catchAll)} has no matches and catches every request first`);
      return;
    }
    let duplicates = 0;
    matches.forEach((m, j) => {
      if (!isRecord(m) || --scope.budget.left < 0) return;
      const { name: _name, ...rest } = m;
      const key = canonical(http ? rest : m);
      const earlier = seen.get(key);
      if (earlier !== undefined) {
        duplicates++;
        scope.f.warn(item(field(path, 'match'), j), `match is never used: ${item(base, earlier)} has the same match and comes first`);
        return;
      }
      seen.set(key, i);
      const prefix = http ? toPrefixMatch(m, i, j) : undefined;
      if (prefix) prefixes.push(prefix);
    });
    if (duplicates === matches.length) scope.f.warn(path, 'rule is never used: all its matches are used by earlier rules');
  });
  for (let a = 0; a < prefixes.length; a++) {
    for (let b = a + 1; b < prefixes.length; b++) {
      if (--scope.budget.left < 0) return;
      const [x, y] = [prefixes[a], prefixes[b]];
      if (x.prefix === y.prefix || !covers(x, y)) continue;
      scope.f.warn(item(field(item(base, y.rule), 'match'), y.match), `match is never used: prefix ${quote(y.prefix)} is already caught by prefix ${quote(x.prefix)} at ${item(field(item(base, x.rule), 'match'), x.match)}`);
    }
  }
}
