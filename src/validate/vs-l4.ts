import { isRecord } from '../kube/types.ts';
import { field, item, quote } from './collector.ts';
import { checkLabels } from './istio.ts';
import type { Obj } from './json.ts';
import { INT32_MAX, INT32_MIN, jsonType, readArray, readInteger, readObject, readString, readStringList, UINT32_MAX } from './json.ts';
import { isIstioLabel, wildcardDomainProblem } from './names.ts';
import { cidrProblem, isIPAddress } from './net.ts';
import type { Scope } from './vs-scope.ts';
import { checkDestination, checkGatewayNames, checkPort, hostSubsetOf } from './vs-scope.ts';

// VirtualService TCP and TLS routes: L4 matches, SNI hosts and weighted destinations.

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

export function checkTCPRoute(scope: Scope, value: unknown, path: string): void {
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

export function checkTLSRoute(scope: Scope, value: unknown, path: string): void {
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
