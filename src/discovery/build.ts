import { isIP } from 'node:net';
import { dnsIdentity } from '../identity/names.ts';
import { isRecord } from '../kube/types.ts';
import type { KubeObject } from '../kube/types.ts';
import { PROXY_CONTAINER_NAME } from '../inject/config.ts';
import type { DiscoveryDocument, DiscoveryEndpoint } from '../proxy/discovery.ts';

export interface DiscoveryScope {
  controllerNamespace: string;
  trustDomain: string;
}

function hasWeftProxy(pod: KubeObject): boolean {
  const spec = isRecord(pod.spec) ? pod.spec : {};
  const containers = [...(Array.isArray(spec.containers) ? spec.containers : []), ...(Array.isArray(spec.initContainers) ? spec.initContainers : [])];
  return containers.some((container) => isRecord(container) && container.name === PROXY_CONTAINER_NAME);
}

/**
 * The discovery document proxies poll: every running pod of this control plane that carries
 * weft's proxy, by IP, with the identity its certificate proves (derived from its service
 * account exactly as the identity service derives it). Pods of other meshes are left out on
 * purpose: their proxies do not speak weft's mesh TLS.
 */
export function buildDiscoveryDocument(pods: readonly KubeObject[], scope: DiscoveryScope): DiscoveryDocument {
  const endpoints: DiscoveryEndpoint[] = [];
  const seen = new Set<string>();
  for (const pod of pods) {
    if (pod.metadata?.labels?.['linkerd.io/control-plane-ns'] !== scope.controllerNamespace) continue;
    if (!hasWeftProxy(pod)) continue;
    const status = isRecord(pod.status) ? pod.status : {};
    if (status.phase === 'Succeeded' || status.phase === 'Failed') continue;
    const namespace = pod.metadata?.namespace;
    if (typeof namespace !== 'string') continue;
    const spec = isRecord(pod.spec) ? pod.spec : {};
    const serviceAccount = typeof spec.serviceAccountName === 'string' && spec.serviceAccountName !== '' ? spec.serviceAccountName : 'default';
    const identity = dnsIdentity(serviceAccount, namespace, scope.controllerNamespace, scope.trustDomain);
    const ips = new Set<string>();
    if (typeof status.podIP === 'string') ips.add(status.podIP);
    if (Array.isArray(status.podIPs)) for (const entry of status.podIPs) if (isRecord(entry) && typeof entry.ip === 'string') ips.add(entry.ip);
    for (const ip of ips) {
      // A host-network pod is never injected, but a stale cache entry must not claim a node IP twice.
      if (isIP(ip) === 0 || seen.has(ip)) continue;
      seen.add(ip);
      endpoints.push({ ip, identity });
    }
  }
  endpoints.sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
  return { endpoints };
}

