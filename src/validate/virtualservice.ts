import type { Findings } from './collector.ts';
import { item, quote } from './collector.ts';
import { VIRTUAL_SERVICE_SPEC, warnUnknownFields } from './istio-fields.ts';
import { checkExportTo, checkIstioObject } from './istio.ts';
import type { Obj } from './json.ts';
import { readArray, readObject, readStringList } from './json.ts';
import { wildcardDomainProblem } from './names.ts';
import { isIPAddress } from './net.ts';
import { checkHTTPRoute } from './vs-http.ts';
import { checkTCPRoute, checkTLSRoute } from './vs-l4.ts';
import type { Scope, VirtualServiceContext } from './vs-scope.ts';
import { MESH, checkGatewayNames, hostsOverlap } from './vs-scope.ts';
import { warnUnreachable } from './vs-unreachable.ts';

// networking.istio.io VirtualService, after Istio's ValidateVirtualService and the CRD schema
// (oneOf string matches, required fields, CEL duration minimums).

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
    budget: { left: 500_000 },
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

export { hostsOverlap } from './vs-scope.ts';
export type { VirtualServiceContext } from './vs-scope.ts';
