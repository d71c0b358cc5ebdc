import { parseAllDocuments } from 'yaml';
import { isRecord } from '../kube/types.ts';
import type { FieldViolation, ValidatedKind, ValidationContext } from './index.ts';
import { validateObject } from './index.ts';

// `weft validate` on manifest text: the webhook's decision code applied to every object of
// multi-document YAML (and of `List`s), with results a person or CI can read. No I/O here.

export interface ManifestSource {
  /** What to call the input in output: a file name, or "-" for stdin. */
  name: string;
  text: string;
}

export type ObjectStatus = 'valid' | 'invalid' | 'skipped' | 'error';

export interface ObjectResult {
  file: string;
  /** 1-based document number, with `.items[i]` for members of a List. */
  document: string;
  kind: string;
  namespace: string;
  name: string;
  status: ObjectStatus;
  violations: FieldViolation[];
  warnings: string[];
  /** Why it was skipped, or what could not be read. */
  note?: string;
}

export interface ManifestOptions extends ValidationContext {
  /** Namespace assumed for objects without one, as kubectl does with its context. */
  defaultNamespace?: string;
}

const SUPPORTED: readonly ValidatedKind[] = ['ServiceProfile', 'VirtualService', 'AuthorizationPolicy'];

export function validateManifests(sources: readonly ManifestSource[], options: ManifestOptions = {}): ObjectResult[] {
  const results: ObjectResult[] = [];
  for (const source of sources) {
    let documents;
    try {
      // YAML 1.1 like kubectl's decoder (`yes` is a boolean there); aliases are capped by the library.
      documents = parseAllDocuments(source.text, { version: '1.1', prettyErrors: false });
    } catch (error) {
      results.push(errorResult(source.name, '1', `cannot read YAML: ${(error as Error).message}`));
      continue;
    }
    const list = Array.isArray(documents) ? documents : [documents];
    list.forEach((doc, i) => {
      const number = String(i + 1);
      if (doc.errors.length > 0) {
        results.push(errorResult(source.name, number, `cannot read YAML: ${doc.errors[0].message.split('\n')[0]}`));
        return;
      }
      let value: unknown;
      try {
        value = doc.toJS({ maxAliasCount: 100 });
      } catch (error) {
        results.push(errorResult(source.name, number, `cannot read YAML: ${(error as Error).message}`));
        return;
      }
      if (value === null || value === undefined) return; // empty document, e.g. a trailing ---
      checkValue(results, source.name, number, value, options);
    });
  }
  return results;
}

function checkValue(results: ObjectResult[], file: string, document: string, value: unknown, options: ManifestOptions): void {
  if (!isRecord(value)) {
    results.push(errorResult(file, document, 'not a Kubernetes object (expected a mapping with apiVersion and kind)'));
    return;
  }
  const kind = typeof value.kind === 'string' ? value.kind : '';
  if (kind.endsWith('List') && Array.isArray(value.items)) {
    value.items.forEach((entry, i) => checkValue(results, file, `${document}.items[${i}]`, entry, options));
    return;
  }
  const metadata = isRecord(value.metadata) ? value.metadata : {};
  const name = typeof metadata.name === 'string' ? metadata.name : '';
  let namespace = typeof metadata.namespace === 'string' ? metadata.namespace : '';
  let object: Record<string, unknown> = value;
  if (namespace === '' && options.defaultNamespace) {
    namespace = options.defaultNamespace;
    object = { ...value, metadata: { ...metadata, namespace } };
  }
  const outcome = validateObject(object, options);
  const base = { file, document, kind: kind || '?', namespace, name };
  if (outcome.kind === undefined) {
    const apiVersion = typeof value.apiVersion === 'string' ? value.apiVersion : '?';
    const note = SUPPORTED.includes(kind as ValidatedKind)
      ? `skipped: ${apiVersion} ${kind} is not a version weft validates`
      : `skipped: weft validates ${SUPPORTED.join(', ')}`;
    results.push({ ...base, status: 'skipped', violations: [], warnings: [], note });
    return;
  }
  results.push({ ...base, status: outcome.violations.length === 0 ? 'valid' : 'invalid', violations: outcome.violations, warnings: outcome.warnings });
}

function errorResult(file: string, document: string, note: string): ObjectResult {
  return { file, document, kind: '?', namespace: '', name: '', status: 'error', violations: [], warnings: [], note };
}

/** 0 when every checked object is valid, 1 when one is invalid or a document could not be read. */
export function exitCode(results: readonly ObjectResult[]): number {
  return results.some((r) => r.status === 'invalid' || r.status === 'error') ? 1 : 0;
}

function label(r: ObjectResult): string {
  return `${r.file}:${r.document} ${r.kind}/${r.namespace || '-'}/${r.name || '-'}`;
}

/** Text output: problems and warnings on stdout, one per line; notes and the summary for stderr. */
export function formatText(results: readonly ObjectResult[]): { out: string; err: string } {
  const out: string[] = [];
  const err: string[] = [];
  for (const r of results) {
    for (const v of r.violations) out.push(`${label(r)}: ${v.path === '' ? '' : `${v.path}: `}${v.message}`);
    for (const w of r.warnings) out.push(`${label(r)}: warning: ${w}`);
    if (r.status === 'error') out.push(`${label(r)}: ${r.note ?? 'error'}`);
    if (r.status === 'skipped') err.push(`${label(r)}: ${r.note ?? 'skipped'}`);
  }
  const count = (s: ObjectStatus): number => results.filter((r) => r.status === s).length;
  err.push(`${count('valid') + count('invalid')} checked: ${count('valid')} valid, ${count('invalid')} invalid; ${count('skipped')} skipped${count('error') > 0 ? `; ${count('error')} unreadable` : ''}`);
  return { out: out.length > 0 ? out.join('\n') + '\n' : '', err: err.join('\n') + '\n' };
}

export function formatJSON(results: readonly ObjectResult[]): string {
  return JSON.stringify({ valid: exitCode(results) === 0, results }, null, 2) + '\n';
}
