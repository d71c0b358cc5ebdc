import { isRecord, type KubeObject } from '../kube/types.ts';
import { INJECT_ANNOTATION } from '../inject/annotations.ts';
import { MESH_PROXY_CONTAINER_NAMES } from '../inject/config.ts';
import { decodeBase64PEM } from './certs.ts';
import type { CertificateSources, CheckResult, Fetched } from './types.ts';

// Reading the objects `weft check` looks at: tolerant accessors over API JSON, pod predicates,
// and where the controller keeps its certificates and configuration.

/** Volume names the chart's Deployment uses for its certificates. */
export const VOLUMES = { webhook: 'webhook-tls', issuer: 'identity-issuer', trustRoots: 'trust-roots', config: 'config' } as const;
export const TRUST_ROOTS_KEY = 'ca-bundle.crt';
export const INJECT_CONFIG_KEY = 'config.yaml';

export const OPT_OUT_LABEL = 'config.linkerd.io/admission-webhooks';
export function records(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function podSpec(pod: KubeObject): Record<string, unknown> {
  return isRecord(pod.spec) ? pod.spec : {};
}

export function podStatus(pod: KubeObject): Record<string, unknown> {
  return isRecord(pod.status) ? pod.status : {};
}

/** Reads which Secret and ConfigMap the controller pods mount for their certificates. */
export function certificateSources(pods: readonly KubeObject[]): CertificateSources {
  const sources: CertificateSources = {};
  for (const pod of pods) {
    for (const volume of records(podSpec(pod).volumes)) {
      const secret = isRecord(volume.secret) ? str(volume.secret.secretName) : undefined;
      const configMap = isRecord(volume.configMap) ? str(volume.configMap.name) : undefined;
      if (volume.name === VOLUMES.webhook && secret) sources.webhookSecret ??= secret;
      if (volume.name === VOLUMES.issuer && secret) sources.issuerSecret ??= secret;
      if (volume.name === VOLUMES.trustRoots && configMap) sources.trustRootsConfigMap ??= configMap;
      if (volume.name === VOLUMES.config && configMap) sources.injectorConfigMap ??= configMap;
    }
  }
  return sources;
}

export function isPodReady(pod: KubeObject): boolean {
  const status = podStatus(pod);
  return status.phase === 'Running' && records(status.conditions).some((c) => c.type === 'Ready' && c.status === 'True');
}

export function whyNotReady(pod: KubeObject): string {
  const status = podStatus(pod);
  for (const cs of records(status.containerStatuses)) {
    const waiting = isRecord(cs.state) && isRecord(cs.state.waiting) ? str(cs.state.waiting.reason) : undefined;
    if (waiting) return `${str(cs.name) ?? 'container'} ${waiting}`;
    if (cs.ready === false && isRecord(cs.state) && isRecord(cs.state.running)) return `${str(cs.name) ?? 'container'} running, not ready`;
  }
  return str(status.phase) ?? 'no status';
}

export function hasMeshProxy(pod: KubeObject): boolean {
  const spec = podSpec(pod);
  return [...records(spec.containers), ...records(spec.initContainers)].some((c) => MESH_PROXY_CONTAINER_NAMES.has(str(c.name) ?? ''));
}

export function injectionEnabled(namespace: KubeObject): boolean {
  const value = namespace.metadata?.annotations?.[INJECT_ANNOTATION];
  return value === 'enabled' || value === 'ingress';
}

/** The workload to restart for a pod, from its controller owner reference. */
export function workloadOf(pod: KubeObject): { kind: string; name: string } | undefined {
  const owner = pod.metadata?.ownerReferences?.find((o) => o.controller) ?? pod.metadata?.ownerReferences?.[0];
  if (!owner) return undefined;
  if (owner.kind === 'ReplicaSet') {
    const hash = pod.metadata?.labels?.['pod-template-hash'];
    if (hash && owner.name.endsWith(`-${hash}`)) return { kind: 'deployment', name: owner.name.slice(0, -hash.length - 1) };
    return { kind: 'replicaset', name: owner.name };
  }
  if (owner.kind === 'StatefulSet' || owner.kind === 'DaemonSet') return { kind: owner.kind.toLowerCase(), name: owner.name };
  return { kind: owner.kind.toLowerCase(), name: owner.name };
}

export function secretPEM(secret: Fetched<KubeObject> | undefined, key: string): Fetched<string> | undefined {
  if (secret === undefined) return undefined;
  if (!secret.ok) return secret;
  const data = isRecord(secret.value.data) ? secret.value.data : {};
  const value = data[key];
  if (typeof value !== 'string' || value === '') return { ok: false, error: `${secret.value.kind ?? 'Secret'} ${secret.value.metadata?.name} has no ${key}` };
  return { ok: true, value: decodeBase64PEM(value) };
}

export function configMapText(configMap: Fetched<KubeObject> | undefined, key: string): Fetched<string> | undefined {
  if (configMap === undefined) return undefined;
  if (!configMap.ok) return configMap;
  const data = isRecord(configMap.value.data) ? configMap.value.data : {};
  const value = data[key];
  if (typeof value !== 'string' || value.trim() === '') return { ok: false, error: `ConfigMap ${configMap.value.metadata?.name} has no ${key}` };
  return { ok: true, value };
}

export function fetchFailure(description: string, category: string, id: string, what: string, error: string): CheckResult {
  return { category, id, description, status: 'fail', message: `cannot read ${what}: ${error}` };
}

