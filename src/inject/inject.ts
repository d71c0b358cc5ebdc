import type { JsonPatchOperation } from '../admission/types.ts';
import type { ServerVersion } from '../kube/cluster-state.ts';
import { isRecord } from '../kube/types.ts';
import type { KubeObject, OwnerReference } from '../kube/types.ts';
import { cachedOverrides } from './annotations.ts';
import type { InjectorConfig } from './config.ts';
import { decideInjection } from './decide.ts';
import type { InjectDecision } from './decide.ts';
import { buildPodPatch } from './patch.ts';
import { sidecarFor } from './sidecar.ts';

export interface InjectInput {
  pod: KubeObject;
  /** From the AdmissionRequest: pods created by controllers carry only generateName, and maybe no namespace. */
  namespace: string;
  namespaceAnnotations: Readonly<Record<string, string>>;
  config: InjectorConfig;
  serverVersion: ServerVersion | undefined;
}

export interface InjectResult {
  decision: InjectDecision;
  patch: JsonPatchOperation[];
  warnings: string[];
}

/** Native sidecars (restartPolicy Always on init containers) are on by default from 1.29. */
export function supportsNativeSidecars(version: ServerVersion | undefined): boolean {
  return version !== undefined && (version.major > 1 || (version.major === 1 && version.minor >= 29));
}

const NO_ANNOTATIONS: Readonly<Record<string, string>> = Object.freeze({});

/** The whole injection decision and patch for one pod: plain data in, plain data out. */
export function injectPod(input: InjectInput): InjectResult {
  const { pod, config } = input;
  const decision = decideInjection({
    pod,
    namespace: input.namespace,
    namespaceAnnotations: input.namespaceAnnotations,
    controllerNamespace: config.controllerNamespace,
  });
  if (!decision.inject) return { decision, patch: [], warnings: [] };

  const podAnnotations = pod.metadata?.annotations ?? NO_ANNOTATIONS;
  const resolved = cachedOverrides(config, podAnnotations, input.namespaceAnnotations);
  const spec = resolved.spec;
  const warnings = [...resolved.warnings];
  let native = spec.nativeSidecar;
  if (native && !supportsNativeSidecars(input.serverVersion)) {
    const version = input.serverVersion ? `${input.serverVersion.major}.${input.serverVersion.minor}` : 'unknown';
    warnings.push(`native sidecar requested but the cluster's version (${version}) does not support it (needs 1.29+); the proxy is added as a regular container`);
    native = false;
  }
  const sidecar = sidecarFor(config, spec, decision.mode, native);

  const annotations: Record<string, string> = {
    'linkerd.io/proxy-version': spec.version,
    'linkerd.io/created-by': `weft/controller ${config.proxy.version}`,
  };
  const firstApp = firstContainerName(pod);
  if (firstApp !== undefined && podAnnotations['kubectl.kubernetes.io/default-container'] === undefined) {
    annotations['kubectl.kubernetes.io/default-container'] = firstApp;
  }
  const labels: Record<string, string> = {
    'linkerd.io/control-plane-ns': config.controllerNamespace,
    'linkerd.io/workload-ns': input.namespace,
  };
  const owner = ownerLabelEntry(pod);
  if (owner !== undefined) labels[owner[0]] = owner[1];
  const patch = buildPodPatch(pod, { sidecar, annotations, labels, proxyFirst: spec.await });
  return { decision, patch, warnings };
}

function firstContainerName(pod: KubeObject): string | undefined {
  const spec = isRecord(pod.spec) ? pod.spec : {};
  const first = Array.isArray(spec.containers) ? spec.containers[0] : undefined;
  return isRecord(first) && typeof first.name === 'string' ? first.name : undefined;
}

const LABEL_VALUE = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;

/**
 * `linkerd.io/proxy-<kind>=<name>` for the workload that owns the pod, derived without an API
 * call: a ReplicaSet whose name ends in the pod's pod-template-hash belongs to a Deployment.
 */
export function ownerLabel(pod: KubeObject): Record<string, string> {
  const entry = ownerLabelEntry(pod);
  return entry === undefined ? {} : { [entry[0]]: entry[1] };
}

// Owner kind -> its label name; the kinds that own pods are a handful.
const ownerLabelNames = new Map<string, string>();
const MAX_OWNER_LABEL_NAMES = 32;

function ownerLabelEntry(pod: KubeObject): [string, string] | undefined {
  const owners = pod.metadata?.ownerReferences;
  if (!Array.isArray(owners)) return undefined;
  let owner: OwnerReference | undefined;
  for (const ref of owners) {
    if (!isRecord(ref)) continue;
    if (ref.controller === true) {
      owner = ref;
      break;
    }
    owner ??= ref;
  }
  if (!owner || typeof owner.kind !== 'string' || typeof owner.name !== 'string') return undefined;
  let kind = owner.kind;
  let name = owner.name;
  const hash = pod.metadata?.labels?.['pod-template-hash'];
  if (kind === 'ReplicaSet' && typeof hash === 'string' && hash !== '' && name.length > hash.length && name.endsWith(hash) && name[name.length - hash.length - 1] === '-') {
    kind = 'Deployment';
    name = name.slice(0, -(hash.length + 1));
  }
  let label = ownerLabelNames.get(kind);
  if (label === undefined) {
    const lower = kind.toLowerCase();
    if (!/^[a-z]{1,40}$/.test(lower)) return undefined;
    label = `linkerd.io/proxy-${lower}`;
    if (ownerLabelNames.size < MAX_OWNER_LABEL_NAMES) ownerLabelNames.set(kind, label);
  }
  if (!LABEL_VALUE.test(name)) return undefined;
  return [label, name];
}
