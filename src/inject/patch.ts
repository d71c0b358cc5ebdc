import type { JsonPatchOperation } from '../admission/types.ts';
import { isRecord } from '../kube/types.ts';
import type { KubeObject } from '../kube/types.ts';
import type { Sidecar } from './sidecar.ts';

/** RFC 6901: "~" and "/" inside a key are written "~0" and "~1". */
export function escapePointer(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

export interface PodAdditions {
  sidecar: Sidecar;
  annotations: Record<string, string>;
  labels: Record<string, string>;
  /** Put the proxy first among the app containers (proxy-await without native sidecars). */
  proxyFirst: boolean;
}

/**
 * Builds the add-only JSON patch straight from what is added, without cloning and diffing the
 * pod: containers, volumes and metadata keys are appended; missing arrays and maps are created
 * first, so the patch applies to exactly the pod the API server sent.
 */
export function buildPodPatch(pod: KubeObject, additions: PodAdditions): JsonPatchOperation[] {
  const ops: JsonPatchOperation[] = [];
  const metadata = isRecord(pod.metadata) ? pod.metadata : undefined;
  if (metadata === undefined) ops.push({ op: 'add', path: '/metadata', value: {} });
  addMapEntries(ops, '/metadata/annotations', metadata?.annotations, additions.annotations);
  addMapEntries(ops, '/metadata/labels', metadata?.labels, additions.labels);

  const spec = isRecord(pod.spec) ? pod.spec : undefined;
  if (spec === undefined) ops.push({ op: 'add', path: '/spec', value: {} });
  const { sidecar } = additions;

  const initContainers = Array.isArray(spec?.initContainers) ? spec.initContainers : undefined;
  if (initContainers === undefined) ops.push({ op: 'add', path: '/spec/initContainers', value: [] });
  if (sidecar.native) {
    // Native sidecar: iptables first, then the proxy, so that every later init container and
    // every app container already talks through the mesh.
    ops.push({ op: 'add', path: '/spec/initContainers/0', value: sidecar.initContainer });
    ops.push({ op: 'add', path: '/spec/initContainers/1', value: sidecar.proxyContainer });
  } else {
    // Classic sidecar: the proxy only starts with the app containers, so the redirect goes in
    // last; the pod's own init containers keep plain networking instead of a dead proxy port.
    ops.push({ op: 'add', path: '/spec/initContainers/-', value: sidecar.initContainer });
  }

  if (!sidecar.native) {
    const hasContainers = Array.isArray(spec?.containers);
    if (!hasContainers) ops.push({ op: 'add', path: '/spec/containers', value: [] });
    const path = additions.proxyFirst && hasContainers ? '/spec/containers/0' : '/spec/containers/-';
    ops.push({ op: 'add', path, value: sidecar.proxyContainer });
  }

  const volumes = Array.isArray(spec?.volumes) ? spec.volumes : undefined;
  if (volumes === undefined) ops.push({ op: 'add', path: '/spec/volumes', value: [] });
  for (const volume of sidecar.volumes) ops.push({ op: 'add', path: '/spec/volumes/-', value: volume });
  return ops;
}

function addMapEntries(ops: JsonPatchOperation[], path: string, existing: unknown, entries: Record<string, string>): void {
  const keys = Object.keys(entries);
  if (keys.length === 0) return;
  const current = isRecord(existing) ? existing : undefined;
  if (current === undefined) {
    ops.push({ op: 'add', path, value: {} });
  }
  for (const key of keys) {
    if (current !== undefined && current[key] === entries[key]) continue;
    ops.push({ op: 'add', path: `${path}/${escapePointer(key)}`, value: entries[key] });
  }
}

const frozenJson = new WeakMap<object, string>();

/**
 * JSON of a patch, reusing the text of frozen (shared, cached) values such as the sidecar
 * containers instead of serialising them again for every pod.
 */
export function serializePatch(ops: readonly JsonPatchOperation[]): string {
  const parts: string[] = [];
  for (const op of ops) {
    if (op.op === 'remove') {
      parts.push(JSON.stringify(op));
      continue;
    }
    const value = op.value;
    let json: string | undefined;
    if (typeof value === 'object' && value !== null && Object.isFrozen(value)) {
      json = frozenJson.get(value);
      if (json === undefined) {
        json = JSON.stringify(value);
        frozenJson.set(value, json);
      }
    } else {
      json = JSON.stringify(value);
    }
    parts.push(`{"op":${JSON.stringify(op.op)},"path":${JSON.stringify(op.path)},"value":${json}}`);
  }
  return `[${parts.join(',')}]`;
}
