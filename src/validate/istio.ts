import type { Findings } from './collector.ts';
import { field, item, quote } from './collector.ts';
import { MS, parseDuration, SECOND } from './durations.ts';
import type { Obj } from './json.ts';
import { readObject, readString, readStringMap } from './json.ts';
import { isIstioLabel, isLabelKey, isLabelValue } from './names.ts';

// What Istio's webhook checks the same way for every kind: top-level keys, metadata annotations,
// exportTo, label selectors and durations.

const TOP_LEVEL = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']);

export const DRY_RUN = 'istio.io/dry-run';
const INTERNAL_ANNOTATIONS = ['internal.istio.io/webhook-always-reject', 'internal.istio.io/parent-namespace', 'internal.istio.io/parents'];

export interface IstioMeta {
  name: string;
  namespace: string;
  annotations: [string, string][];
}

/** Top-level keys and metadata; returns what later rules need to know. */
export function checkIstioObject(f: Findings, object: Obj, kind: string): IstioMeta {
  for (const key of Object.keys(object)) {
    if (!TOP_LEVEL.has(key)) {
      f.error(field('', key), `unknown top-level field ${quote(key)} on this ${kind}; expected only apiVersion, kind, metadata, spec and status (did you mean to put it under spec?)`);
    }
  }
  const metadata = readObject(f, object, 'metadata', '') ?? {};
  const name = readString(f, metadata, 'name', 'metadata') ?? '';
  const namespace = readString(f, metadata, 'namespace', 'metadata') ?? '';
  const annotations = readStringMap(f, metadata, 'annotations', 'metadata') ?? [];
  for (const [key] of annotations) {
    if (INTERNAL_ANNOTATIONS.includes(key)) {
      f.error(field('metadata.annotations', key), `annotation ${quote(key)} is reserved for Istio's own use; remove it`);
    }
    if (key === DRY_RUN && kind !== 'AuthorizationPolicy') {
      f.error(field('metadata.annotations', key), `annotation ${quote(key)} is only supported on AuthorizationPolicy, not on a ${kind}; remove it`);
    }
  }
  return { name, namespace, annotations };
}

/** spec.exportTo: ".", "*" or namespace names, no duplicates, "*" alone, never "~". */
export function checkExportTo(f: Findings, entries: [number, string][], path: string, namespace: string): void {
  const seen = new Map<string, number>();
  for (const [i, entry] of entries) {
    const key = entry === '.' ? namespace || '.' : entry;
    if (seen.has(key)) {
      f.error(item(path, i), `duplicate entry ${quote(entry)} (same as entry ${seen.get(key)}${entry === '.' || entries[seen.get(key) ?? 0]?.[1] === '.' ? ', "." is the own namespace' : ''})`);
      continue;
    }
    if (entry === '~') {
      f.error(item(path, i), '"~" (export to no namespace) is not allowed on Istio configuration objects; use "." to keep it in its own namespace');
    } else if (entry !== '.' && entry !== '*' && !isIstioLabel(entry)) {
      f.error(item(path, i), `${quote(entry)} is not ".", "*" or a namespace name (DNS-1123 label)`);
      continue;
    }
    seen.set(key, i);
  }
  if (seen.has('*') && seen.size > 1) f.error(path, 'cannot combine "*" (all namespaces) with other entries');
}

/** sourceLabels-style maps: Kubernetes label key and value syntax. */
export function checkLabels(f: Findings, parent: Obj, key: string, path: string): void {
  const labels = readStringMap(f, parent, key, path);
  if (!labels) return;
  for (const [k, v] of labels) {
    const p = field(field(path, key), k);
    if (!isLabelKey(k)) f.error(p, `${quote(k)} is not a valid label key (an optional DNS prefix and "/", then at most 63 letters, digits, "-", "_" or ".")`);
    if (!isLabelValue(v)) f.error(p, `${quote(v)} is not a valid label value (empty, or at most 63 letters, digits, "-", "_" or ".", starting and ending alphanumeric)`);
  }
}

export type DurationRule = 'ms' | 'seconds';

/** Istio durations: Go syntax, at least 1ms, whole milliseconds (or whole seconds for maxAge). */
export function checkIstioDuration(f: Findings, parent: Obj, key: string, path: string, rule: DurationRule = 'ms'): bigint | undefined {
  const value = parent[key];
  if (value === null || value === undefined) return undefined;
  const p = field(path, key);
  if (typeof value !== 'string') {
    f.error(p, `expected a duration string such as "10s", got ${typeof value} ${quote(value)}`);
    return undefined;
  }
  const parsed = parseDuration(value);
  if (!parsed.ok) {
    f.error(p, parsed.message);
    return undefined;
  }
  if (parsed.nanos < MS) f.error(p, `${quote(value)} is shorter than the minimum of 1ms`);
  else if (parsed.nanos % MS !== 0n) f.error(p, `${quote(value)} is not a whole number of milliseconds; Istio supports millisecond precision only`);
  else if (rule === 'seconds' && parsed.nanos % SECOND !== 0n) f.error(p, `${quote(value)} is not a whole number of seconds; maxAge has seconds precision only`);
  return parsed.nanos;
}
