import type { Logger } from '../log.ts';
import type { ClusterState, ServerVersion, TrackedKind } from './cluster-state.ts';
import { KubeApiError, type KubeClient } from './client.ts';
import { Informer } from './informer.ts';
import { isRecord, type KubeObject } from './types.ts';
import { keepNamespaceMetadata, keepWithoutManagedFields } from './watch-cache.ts';

interface Tracked {
  informer: Informer;
  /** False when we may not read this kind (403): nothing is known. */
  available: boolean;
  /** True once listed, or once known to be unavailable. */
  settled: boolean;
}

export interface KubeStateOptions {
  log: Logger;
  /** Kinds besides namespaces to cache (Service and DestinationRule feed validation warnings, Pod feeds discovery). */
  kinds?: readonly TrackedKind[];
  /** Delay before the first reconnect; doubles up to 30 s. */
  initialBackoffMs?: number;
  /** Seconds each watch stays open (tests make it short). */
  watchTimeoutSeconds?: () => number;
}

const KIND_PATHS: Record<TrackedKind, string> = {
  Pod: '/api/v1/pods',
  Service: '/api/v1/services',
  DestinationRule: '/apis/networking.istio.io/v1beta1/destinationrules',
};

/** A kind we may not read: nothing is known of it, and its lookups are skipped. */
function unavailable(error: unknown): boolean {
  return error instanceof KubeApiError && error.code === 403;
}

/**
 * ClusterState over weft's own list+watch informers; a namespace missing from the cache is read
 * directly so that a namespace created a moment ago is still seen.
 */
export class KubeClusterState implements ClusterState {
  private readonly client: KubeClient;
  private readonly log: Logger;
  private readonly namespaces: Tracked;
  private readonly tracked = new Map<TrackedKind, Tracked>();
  private version: ServerVersion | undefined;
  private syncPromise: Promise<void> | undefined;

  constructor(client: KubeClient, options: KubeStateOptions) {
    this.client = client;
    this.log = options.log;
    const common = {
      client,
      log: options.log,
      ...(options.initialBackoffMs !== undefined ? { initialBackoffMs: options.initialBackoffMs } : {}),
      ...(options.watchTimeoutSeconds ? { watchTimeoutSeconds: options.watchTimeoutSeconds } : {}),
    };
    this.namespaces = { informer: new Informer({ ...common, kind: 'Namespace', path: '/api/v1/namespaces', keep: keepNamespaceMetadata }), available: true, settled: false };
    for (const kind of options.kinds ?? []) {
      // A kind the cluster does not serve (no Istio CRDs) has no objects: DestinationRule lookups then find none.
      const informer = new Informer({ ...common, kind, path: KIND_PATHS[kind], keep: keepWithoutManagedFields, fatalOnFirstList: unavailable, absentIsEmpty: true });
      this.tracked.set(kind, { informer, available: true, settled: false });
    }
  }

  async start(): Promise<void> {
    const starts = [this.startOne('Namespace', this.namespaces)];
    for (const [kind, state] of this.tracked) starts.push(this.startOne(kind, state));
    this.syncPromise = Promise.all(starts).then(() => undefined);
    this.readVersion().catch((error: unknown) => this.log.warn({ err: (error as Error).message }, 'cannot read the API server version'));
    await this.syncPromise;
  }

  private async startOne(kind: string, state: Tracked): Promise<void> {
    try {
      await state.informer.start();
      this.log.info({ kind, count: state.informer.store.size }, 'cache synced');
    } catch (error) {
      state.available = false;
      if (unavailable(error)) this.log.info({ kind, err: (error as Error).message }, 'kind not permitted; its lookups are skipped');
    }
    state.settled = true;
  }

  private async readVersion(): Promise<void> {
    const info = await this.client.request('/version');
    if (!isRecord(info)) return;
    // Some distributions write minor versions like "30+".
    const major = Number.parseInt(String(info.major), 10);
    const minor = Number.parseInt(String(info.minor), 10);
    if (Number.isFinite(major) && Number.isFinite(minor)) this.version = { major, minor };
  }

  synced(): boolean {
    return this.namespaces.settled && [...this.tracked.values()].every((state) => state.settled);
  }

  async waitForSync(): Promise<void> {
    await (this.syncPromise ?? this.start());
  }

  async getNamespace(name: string): Promise<KubeObject | undefined> {
    if (name === '') return undefined;
    const cached = this.namespaces.informer.store.get(name);
    if (cached) return cached;
    try {
      const namespace = await this.client.request(`/api/v1/namespaces/${encodeURIComponent(name)}`);
      return isRecord(namespace) ? keepNamespaceMetadata(namespace as KubeObject) : undefined;
    } catch (error) {
      if (error instanceof KubeApiError && error.code === 404) return undefined;
      throw error;
    }
  }

  list(kind: TrackedKind, namespace?: string): readonly KubeObject[] | undefined {
    const state = this.tracked.get(kind);
    if (!state || !state.available || !state.informer.synced) return undefined;
    return state.informer.store.list(namespace);
  }

  serverVersion(): ServerVersion | undefined {
    return this.version;
  }

  namespaceCount(): number {
    return this.namespaces.informer.store.size;
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.namespaces, ...this.tracked.values()].map((state) => state.informer.stop()));
  }
}
