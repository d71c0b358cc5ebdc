// The informer's cache and how list results and watch events change it. No I/O: the informer
// (informer.ts) feeds this what the API server sends, and tests feed it the same events.
import { isRecord, type KubeObject } from './types.ts';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent {
  type: WatchEventType;
  object: KubeObject;
}

const EVENT_TYPES: ReadonlySet<string> = new Set<WatchEventType>(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']);

/** Checks one decoded watch line; anything else is an error that says what was wrong. */
export function parseWatchEvent(raw: unknown): WatchEvent {
  if (!isRecord(raw)) throw new Error('watch event is not an object');
  if (typeof raw.type !== 'string' || !EVENT_TYPES.has(raw.type)) throw new Error(`watch event has unknown type ${JSON.stringify(raw.type)}`);
  if (!isRecord(raw.object)) throw new Error(`${raw.type} watch event has no object`);
  return { type: raw.type as WatchEventType, object: raw.object as KubeObject };
}

/** What the cache keeps of an object; the rest is dropped as soon as it arrives. */
export type Keep = (object: KubeObject) => KubeObject;

/**
 * Namespaces: the injector and the validators read only name, labels and annotations. With
 * 10,000 namespaces the dropped spec, status and managedFields are most of the memory.
 */
export const keepNamespaceMetadata: Keep = (object) => {
  const metadata = object.metadata ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      ...(metadata.name !== undefined ? { name: metadata.name } : {}),
      ...(metadata.uid !== undefined ? { uid: metadata.uid } : {}),
      ...(typeof metadata.resourceVersion === 'string' ? { resourceVersion: metadata.resourceVersion } : {}),
      ...(metadata.labels ? { labels: metadata.labels } : {}),
      ...(metadata.annotations ? { annotations: metadata.annotations } : {}),
    },
  };
};

/** Other kinds are read whole, except managedFields, which no reader of the cache needs. */
export const keepWithoutManagedFields: Keep = (object) => {
  if (object.metadata?.managedFields === undefined) return object;
  const { managedFields: _dropped, ...metadata } = object.metadata;
  return { ...object, metadata };
};

export function resourceVersionOf(object: KubeObject): string | undefined {
  const version = object.metadata?.resourceVersion;
  return typeof version === 'string' && version !== '' ? version : undefined;
}

/** Objects by namespace ('' for cluster-scoped) and name. */
export class ObjectStore {
  readonly #byNamespace = new Map<string, Map<string, KubeObject>>();
  readonly #keep: Keep;
  #size = 0;
  /** Lists handed out since the last change; readers call list() per request. */
  readonly #lists = new Map<string | undefined, readonly KubeObject[]>();

  constructor(keep: Keep) {
    this.#keep = keep;
  }

  get size(): number {
    return this.#size;
  }

  get(name: string, namespace = ''): KubeObject | undefined {
    return this.#byNamespace.get(namespace)?.get(name);
  }

  list(namespace?: string): readonly KubeObject[] {
    let list = this.#lists.get(namespace);
    if (list === undefined) {
      if (namespace !== undefined) list = [...(this.#byNamespace.get(namespace)?.values() ?? [])];
      else list = [...this.#byNamespace.values()].flatMap((objects) => [...objects.values()]);
      this.#lists.set(namespace, list);
    }
    return list;
  }

  /** A relist: the cache becomes exactly these objects. */
  replace(objects: Iterable<KubeObject>): void {
    this.#byNamespace.clear();
    this.#lists.clear();
    this.#size = 0;
    for (const object of objects) this.upsert(object);
  }

  /** Stores what `keep` keeps of the object; false when it has no name. */
  upsert(object: KubeObject): boolean {
    const name = object.metadata?.name;
    if (typeof name !== 'string' || name === '') return false;
    const namespace = typeof object.metadata?.namespace === 'string' ? object.metadata.namespace : '';
    let objects = this.#byNamespace.get(namespace);
    if (!objects) this.#byNamespace.set(namespace, (objects = new Map()));
    if (!objects.has(name)) this.#size++;
    objects.set(name, this.#keep(object));
    this.#lists.clear();
    return true;
  }

  remove(object: KubeObject): boolean {
    const name = object.metadata?.name;
    const namespace = typeof object.metadata?.namespace === 'string' ? object.metadata.namespace : '';
    const objects = this.#byNamespace.get(namespace);
    if (typeof name !== 'string' || !objects?.delete(name)) return false;
    this.#size--;
    if (objects.size === 0) this.#byNamespace.delete(namespace);
    this.#lists.clear();
    return true;
  }
}

/** What the informer does after an event. */
export type EventOutcome =
  | { next: 'continue'; resourceVersion: string | undefined }
  /** The watch's resourceVersion is too old (HTTP 410): list again. */
  | { next: 'relist' }
  /** The API server reported another error in the stream: watch again after a backoff. */
  | { next: 'retry'; message: string };

/** Applies one watch event to the store. */
export function applyWatchEvent(store: ObjectStore, event: WatchEvent): EventOutcome {
  switch (event.type) {
    case 'ADDED':
    case 'MODIFIED':
      store.upsert(event.object);
      return { next: 'continue', resourceVersion: resourceVersionOf(event.object) };
    case 'DELETED':
      store.remove(event.object);
      return { next: 'continue', resourceVersion: resourceVersionOf(event.object) };
    case 'BOOKMARK':
      // Only the resourceVersion is meaningful: the watch has seen everything up to it.
      return { next: 'continue', resourceVersion: resourceVersionOf(event.object) };
    case 'ERROR': {
      const status = event.object as { code?: unknown; reason?: unknown; message?: unknown };
      if (status.code === 410 || status.reason === 'Expired' || status.reason === 'Gone') return { next: 'relist' };
      return { next: 'retry', message: `watch error ${String(status.code ?? '')} ${String(status.reason ?? '')}: ${String(status.message ?? 'no message')}`.replace(/\s+/g, ' ') };
    }
  }
}
