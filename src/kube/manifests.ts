import { parseAllDocuments } from 'yaml';
import { isRecord } from './types.ts';
import type { KubeObject } from './types.ts';

export interface ManifestDocument {
  /** 1-based position of the document in its file, for messages like "file.yaml:2". */
  index: number;
  object: KubeObject | undefined;
  /** Set when the document is not valid YAML or not an object. */
  error?: string;
}

/**
 * Splits multi-document YAML (JSON is YAML too) into objects. A document that fails to parse is
 * reported with its position and does not stop the others.
 */
export function parseManifests(text: string): ManifestDocument[] {
  const out: ManifestDocument[] = [];
  const documents = parseAllDocuments(text, { uniqueKeys: false });
  const list = Array.isArray(documents) ? documents : [documents];
  let index = 0;
  for (const document of list) {
    index++;
    if (document.errors.length > 0) {
      out.push({ index, object: undefined, error: document.errors[0]?.message.split('\n')[0] ?? 'invalid YAML' });
      continue;
    }
    // A bounded alias count stops "billion laughs" documents from expanding without limit.
    const value: unknown = document.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue;
    if (!isRecord(value)) {
      out.push({ index, object: undefined, error: 'expected a Kubernetes object (a mapping)' });
      continue;
    }
    out.push({ index, object: value as KubeObject });
  }
  return out;
}

/** Expands `kind: List` (and *List kinds) into their items; other objects pass through. */
export function expandLists(objects: readonly KubeObject[]): KubeObject[] {
  const out: KubeObject[] = [];
  for (const object of objects) {
    if (typeof object.kind === 'string' && object.kind.endsWith('List') && Array.isArray(object.items)) {
      out.push(...expandLists(object.items.filter(isRecord) as KubeObject[]));
    } else {
      out.push(object);
    }
  }
  return out;
}
