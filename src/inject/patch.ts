import type { JsonPatchOperation } from '../admission/types.ts';
import { isRecord } from '../kube/types.ts';
import type { KubeObject } from '../kube/types.ts';
import type { Sidecar } from './sidecar.ts';
import { tableFor } from './memo.ts';

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
    ops.push({ op: 'add', path: entryPath(path, key), value: entries[key] });
  }
}

// The keys weft adds are a few fixed annotation and label names, so their paths are made once.
const entryPaths = new Map<string, Map<string, string>>();
const MAX_ENTRY_PATHS = 64;

function entryPath(map: string, key: string): string {
  const byKey = tableFor(entryPaths, map);
  let path = byKey.get(key);
  if (path === undefined) {
    path = `${map}/${escapePointer(key)}`;
    if (byKey.size < MAX_ENTRY_PATHS) byKey.set(key, path);
  }
  return path;
}

// Strings JSON writes as they are, between quotes: printable ASCII without `"` and `\`. Paths
// and label values always are; anything else goes through JSON.stringify.
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function quote(text: string): string {
  return PLAIN.test(text) ? `"${text}"` : JSON.stringify(text);
}

function opJson(op: JsonPatchOperation): string {
  if (op.op === 'remove') return `{"op":"remove","path":${quote(op.path)}}`;
  const value = op.value;
  let json: string;
  if (typeof value === 'string') json = quote(value);
  else if (Array.isArray(value) && value.length === 0) json = '[]';
  else json = JSON.stringify(value);
  return `{"op":"${op.op}","path":${quote(op.path)},"value":${json}}`;
}

// Path -> the last string value added there and that operation's JSON: the per-pod metadata
// (workload namespace, owner, default container) repeats from one pod of a workload to the next.
const stringOps = new Map<string, { value: string; json: string }>();
const MAX_STRING_OPS = 256;

function smallOpJson(op: JsonPatchOperation): string {
  if (op.op !== 'add' || typeof op.value !== 'string') return opJson(op);
  const known = stringOps.get(op.path);
  if (known !== undefined && known.value === op.value) return known.json;
  const json = opJson(op);
  if (known !== undefined || stringOps.size < MAX_STRING_OPS) stringOps.set(op.path, { value: op.value, json });
  return json;
}

/** Base64 of `text`, padded with JSON whitespace to a whole number of 3-byte groups. */
function encodeAligned(text: string): string {
  // Two spaces are always appended and only as many kept as the padding needs, so that the
  // text is measured and encoded in one pass.
  const bytes = Buffer.from(`${text}  `);
  const length = bytes.length - 2;
  return bytes.toString('base64', 0, length + ((3 - (length % 3)) % 3));
}

interface EncodedOp {
  path: string;
  first: boolean;
  piece: string;
}

// Frozen value -> the aligned base64 of each operation it was sent in (a handful of paths: the
// positions a sidecar part is added at). Scanned with ===, as the paths are the patch
// builder's constants, where a Map would hash the string again on every lookup.
const encodedOps = new WeakMap<object, EncodedOp[]>();
const MAX_ENCODED_PATHS = 8;

/** One step of the remembered patches: what follows one operation, by the next operation. */
interface PatchStep {
  next: Map<unknown, PatchStep>;
  // The step taken from here last time: a rollout sends the same patch again and again, and
  // an === is cheaper than hashing the key into the map.
  lastKey?: unknown;
  lastStep?: PatchStep;
  encoded?: string;
}

// The base64 of remembered patches, found operation by operation: an operation whose value is
// a frozen object (a shared sidecar part) by the value and then its path, any other by its
// JSON, which smallOpJson hands out as the same string for the same operation. The pods of one
// workload get the same patch, and encoding it was most of the cost of an answer after
// serialising. Bounded: emptied when full.
let patchRoot: PatchStep = { next: new Map() };
let patchStepCount = 0;
const MAX_PATCH_STEPS = 4096;

function frozenValue(op: JsonPatchOperation): object | undefined {
  const value = op.op === 'remove' ? undefined : op.value;
  return typeof value === 'object' && value !== null && Object.isFrozen(value) ? value : undefined;
}

function step(from: PatchStep, key: unknown): PatchStep {
  if (from.lastStep !== undefined && from.lastKey === key) return from.lastStep;
  let found = from.next.get(key);
  if (found === undefined) {
    found = { next: new Map() };
    from.next.set(key, found);
    patchStepCount++;
  }
  from.lastKey = key;
  from.lastStep = found;
  return found;
}

/**
 * The base64 of a patch's JSON, as an AdmissionResponse carries it, remembered by the
 * patch's content. A frozen value's JSON is fixed with it, so the value itself stands for it.
 */
export function patchBase64(ops: readonly JsonPatchOperation[]): string {
  if (patchStepCount >= MAX_PATCH_STEPS) {
    patchRoot = { next: new Map() };
    patchStepCount = 0;
  }
  let at = patchRoot;
  for (const op of ops) {
    const frozen = frozenValue(op);
    at = frozen === undefined ? step(at, smallOpJson(op)) : step(step(at, frozen), op.path);
  }
  if (at === patchRoot) return encodePatch(ops);
  at.encoded ??= encodePatch(ops);
  return at.encoded;
}

/**
 * Most of every patch is the shared, frozen sidecar (see sidecarFor), so its operations are
 * serialised and encoded once and reused: base64 of a concatenation is the concatenation of
 * the pieces' base64 when every piece before the last is a whole number of 3-byte groups, so
 * each piece is padded to that with spaces, which JSON ignores.
 */
function encodePatch(ops: readonly JsonPatchOperation[]): string {
  let encoded = '';
  let pending = '[';
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    const separator = i === 0 ? '' : ',';
    const value = frozenValue(op);
    if (value === undefined) {
      pending += separator + smallOpJson(op);
      continue;
    }
    let known = encodedOps.get(value);
    if (known === undefined) {
      known = [];
      encodedOps.set(value, known);
    }
    let piece: string | undefined;
    for (const entry of known) {
      if (entry.path === op.path && entry.first === (i === 0)) {
        piece = entry.piece;
        break;
      }
    }
    if (piece === undefined) {
      piece = encodeAligned(separator + opJson(op));
      if (known.length < MAX_ENCODED_PATHS) known.push({ path: op.path, first: i === 0, piece });
    }
    if (pending !== '') encoded += encodeAligned(pending);
    encoded += piece;
    pending = '';
  }
  return encoded + Buffer.from(`${pending}]`).toString('base64');
}
