import type { ClusterState } from '../kube/cluster-state.ts';
import { isRecord } from '../kube/types.ts';
import type { Findings } from './collector.ts';
import { field, item, quote } from './collector.ts';
import type { Obj } from './json.ts';
import { has, jsonType, readInteger, readNumber, readObject, readString, UINT32_MAX } from './json.ts';
import { fqdnProblem, isIstioLabel, wildcardDomainProblem } from './names.ts';
import { re2Problem } from './regex.ts';

// What the VirtualService rules share: the scope of one object (its hosts, gateways and
// namespace), destinations, gateway names, ports, regexes and string matches.

export interface VirtualServiceContext {
  clusterState?: ClusterState;
  clusterDomain: string;
}

export interface Scope {
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

export const MESH = 'mesh';

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
export function hostSubsetOf(a: string, b: string): boolean {
  if (isWildcard(a)) return isWildcard(b) && a.slice(1).endsWith(b.slice(1));
  if (isWildcard(b)) return a.endsWith(b.slice(1));
  return a === b;
}

export function checkGatewayNames(f: Findings, gateways: [number, string][], path: string): void {
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

export function checkPercent(f: Findings, percentage: Obj, path: string, what: string): void {
  const value = readNumber(f, percentage, 'value', path);
  if (value === undefined) return;
  if (value > 100) f.error(field(path, 'value'), `${what} ${value} is more than 100`);
  if (value < 0) f.error(field(path, 'value'), `${what} ${value} is negative`);
}

export const STRING_MATCH_KEYS = ['exact', 'prefix', 'regex'] as const;

export function checkStringMatchValue(f: Findings, value: unknown, path: string, allowEmptyPrefix: boolean, presenceStar: boolean): void {
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

export function checkRegex(f: Findings, pattern: string, path: string): void {
  if (pattern === '') {
    f.error(path, 'must not be empty');
    return;
  }
  const problem = re2Problem(pattern);
  if (problem) f.error(path, `${problem}; Istio matches with RE2 syntax`);
}

export function checkPort(f: Findings, port: number, path: string): void {
  if (port < 1 || port > 65535) f.error(path, `port ${port} is out of range; expected 1 to 65535`);
}

export function checkDestination(scope: Scope, dest: Obj, path: string): void {
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
