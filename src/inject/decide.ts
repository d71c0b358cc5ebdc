import { isRecord } from '../kube/types.ts';
import type { KubeObject } from '../kube/types.ts';
import { MESH_PROXY_CONTAINER_NAMES } from './config.ts';
import { INJECT_ANNOTATION } from './annotations.ts';

/** Linkerd's vocabulary for why a pod was not injected, so dashboards built for Linkerd read right. */
export type SkipReason =
  | 'injection_disabled'
  | 'injection_enable_annotation_absent'
  | 'invalid_inject_annotation'
  | 'host_network_enabled'
  | 'sidecar_already_exists'
  | 'mirror_pod'
  | 'namespace_excluded'
  | 'unsupported_operation'
  | 'unsupported_resource';

export type InjectMode = 'enabled' | 'ingress';

export type InjectDecision =
  | { inject: true; mode: InjectMode; annotationAt: 'pod' | 'namespace' }
  | { inject: false; reason: SkipReason; detail: string };

/** Namespaces the mesh never touches, whatever their annotations say. */
export const SYSTEM_NAMESPACES: ReadonlySet<string> = new Set(['kube-system', 'kube-public', 'kube-node-lease']);

export interface DecideInput {
  pod: KubeObject;
  namespace: string;
  namespaceAnnotations: Readonly<Record<string, string>>;
  controllerNamespace: string;
}

/** Whether a pod gets the mesh, with Linkerd's semantics: the pod's annotation wins over its namespace's. */
export function decideInjection({ pod, namespace, namespaceAnnotations, controllerNamespace }: DecideInput): InjectDecision {
  if (SYSTEM_NAMESPACES.has(namespace) || namespace === controllerNamespace) {
    return { inject: false, reason: 'namespace_excluded', detail: `namespace "${namespace}" is never injected` };
  }
  const annotations = pod.metadata?.annotations ?? {};
  if (annotations['kubernetes.io/config.mirror'] !== undefined) {
    return { inject: false, reason: 'mirror_pod', detail: 'mirror pods are managed by the kubelet and cannot be changed' };
  }
  const podValue = annotations[INJECT_ANNOTATION];
  const namespaceValue = namespaceAnnotations[INJECT_ANNOTATION];
  const value = podValue ?? namespaceValue;
  const at = podValue !== undefined ? 'pod' : 'namespace';
  if (value === undefined) {
    return { inject: false, reason: 'injection_enable_annotation_absent', detail: `neither the pod nor namespace "${namespace}" has ${INJECT_ANNOTATION}` };
  }
  if (value === 'disabled') {
    return { inject: false, reason: 'injection_disabled', detail: `${INJECT_ANNOTATION}=disabled on the ${at}` };
  }
  if (value !== 'enabled' && value !== 'ingress') {
    return {
      inject: false,
      reason: 'invalid_inject_annotation',
      detail: `${INJECT_ANNOTATION}=${JSON.stringify(String(value).slice(0, 60))} on the ${at} is not one of "enabled", "ingress", "disabled"`,
    };
  }
  const spec = isRecord(pod.spec) ? pod.spec : {};
  if (spec.hostNetwork === true) {
    return { inject: false, reason: 'host_network_enabled', detail: 'pods with hostNetwork share the node network; redirecting it would capture the node traffic' };
  }
  const existing = meshProxyName(spec.containers) ?? meshProxyName(spec.initContainers);
  if (existing !== undefined) {
    return { inject: false, reason: 'sidecar_already_exists', detail: `the pod already has a mesh proxy container "${existing}"` };
  }
  return { inject: true, mode: value, annotationAt: at };
}

/** The first container in `list` named like a mesh proxy, found without copying the list. */
function meshProxyName(list: unknown): string | undefined {
  if (!Array.isArray(list)) return undefined;
  for (const container of list) {
    if (isRecord(container) && typeof container.name === 'string' && MESH_PROXY_CONTAINER_NAMES.has(container.name)) return container.name;
  }
  return undefined;
}
