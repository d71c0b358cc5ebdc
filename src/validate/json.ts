import { isRecord } from '../kube/types.ts';
import type { Findings } from './collector.ts';
import { field, quote } from './collector.ts';

// Typed reads of decoded JSON/YAML: each reports a wrong type at its path and returns undefined,
// so the rules that follow only ever see values of the expected shape.

export type JsonType = 'null' | 'string' | 'number' | 'boolean' | 'array' | 'object';

export function jsonType(value: unknown): JsonType | 'other' {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'array';
  switch (typeof value) {
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'object':
      return 'object';
    default:
      return 'other';
  }
}

export type Obj = Record<string, unknown>;

export function has(object: Obj, key: string): boolean {
  return Object.hasOwn(object, key) && object[key] !== null && object[key] !== undefined;
}

function typeError(f: Findings, path: string, expected: string, value: unknown): void {
  f.error(path, `expected ${expected}, got ${jsonType(value) === 'other' ? typeof value : jsonType(value)} ${jsonType(value) === 'object' || jsonType(value) === 'array' ? '' : quote(value)}`.trimEnd());
}

/** null/absent → undefined without complaint (Go and protobuf decoders treat null as unset). */
export function readObject(f: Findings, parent: Obj, key: string, path: string): Obj | undefined {
  const value = parent[key];
  if (value === null || value === undefined) return undefined;
  if (isRecord(value)) return value;
  typeError(f, field(path, key), 'an object', value);
  return undefined;
}

export function readArray(f: Findings, parent: Obj, key: string, path: string): unknown[] | undefined {
  const value = parent[key];
  if (value === null || value === undefined) return undefined;
  if (Array.isArray(value)) return value;
  typeError(f, field(path, key), 'a list', value);
  return undefined;
}

export function readString(f: Findings, parent: Obj, key: string, path: string): string | undefined {
  const value = parent[key];
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value;
  typeError(f, field(path, key), 'a string', value);
  return undefined;
}

export function readBool(f: Findings, parent: Obj, key: string, path: string): boolean | undefined {
  const value = parent[key];
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'boolean') return value;
  typeError(f, field(path, key), 'true or false', value);
  return undefined;
}

export function readNumber(f: Findings, parent: Obj, key: string, path: string): number | undefined {
  const value = parent[key];
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  typeError(f, field(path, key), 'a number', value);
  return undefined;
}

/** A whole number in [min, max]; the range is the field's storage type (uint32, int32), not a semantic rule. */
export function readInteger(f: Findings, parent: Obj, key: string, path: string, min: number, max: number, typeName: string): number | undefined {
  const value = parent[key];
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
  if (typeof value === 'number' && Number.isFinite(value)) {
    f.error(field(path, key), `expected a whole number from ${min} to ${max} (${typeName}), got ${value}`);
    return undefined;
  }
  typeError(f, field(path, key), `a whole number (${typeName})`, value);
  return undefined;
}

export const UINT32_MAX = 4294967295;
export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;

/** A map of string to string (labels, header values). Returns only the well-typed entries. */
export function readStringMap(f: Findings, parent: Obj, key: string, path: string): [string, string][] | undefined {
  const map = readObject(f, parent, key, path);
  if (map === undefined) return undefined;
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(map)) {
    if (typeof v === 'string') out.push([k, v]);
    else if (v !== null && v !== undefined) typeError(f, field(field(path, key), k), 'a string', v);
  }
  return out;
}

/** A list of strings; wrong-typed items are reported and skipped, indexes are kept. */
export function readStringList(f: Findings, parent: Obj, key: string, path: string): [number, string][] | undefined {
  const list = readArray(f, parent, key, path);
  if (list === undefined) return undefined;
  const out: [number, string][] = [];
  list.forEach((v, i) => {
    if (typeof v === 'string') out.push([i, v]);
    else typeError(f, `${field(path, key)}[${i}]`, 'a string', v);
  });
  return out;
}

/** Keys the decoder does not know: reported at their own path with the list of known keys. */
export function rejectUnknownKeys(f: Findings, object: Obj, path: string, known: ReadonlySet<string>, what: string): void {
  for (const key of Object.keys(object)) {
    if (!known.has(key)) {
      f.error(field(path, key), `unknown field ${quote(key)} in ${what}; expected one of ${[...known].join(', ')}`);
    }
  }
}
