import * as k8s from '@kubernetes/client-node';
import type { Logger } from '../log.ts';
import type { ClusterState, ServerVersion, TrackedKind } from './cluster-state.ts';
import type { KubeObject } from './types.ts';
import { pagedMetadataList } from './paged-list.ts';

type CachingInformer = k8s.Informer<k8s.KubernetesObject> & k8s.ObjectCache<k8s.KubernetesObject>;

interface Tracked {
  informer: CachingInformer;
  synced: boolean;
  /** False when the cluster does not serve this kind (e.g. no Istio CRDs): nothing is known. */
  available: boolean;
}

export interface KubeStateOptions {
  log: Logger;
  /** Kinds besides namespaces to cache (Service and DestinationRule feed validation warnings). */
  kinds?: readonly TrackedKind[];
  /** Delay before the first reconnect; doubles up to 30 s. */
  initialBackoffMs?: number;
}

const KIND_SOURCES: Record<TrackedKind, { path: string; list: (kc: k8s.KubeConfig) => () => Promise<k8s.KubernetesListObject<k8s.KubernetesObject>> }> = {
  Pod: { path: '/api/v1/pods', list: (kc) => () => kc.makeApiClient(k8s.CoreV1Api).listPodForAllNamespaces() },
  Service: { path: '/api/v1/services', list: (kc) => () => kc.makeApiClient(k8s.CoreV1Api).listServiceForAllNamespaces() },
  DestinationRule: {
    path: '/apis/networking.istio.io/v1beta1/destinationrules',
    list: (kc) => async () =>
      (await kc.makeApiClient(k8s.CustomObjectsApi).listClusterCustomObject({ group: 'networking.istio.io', version: 'v1beta1', plural: 'destinationrules' })) as k8s.KubernetesListObject<k8s.KubernetesObject>,
  },
};

/**
 * ClusterState over client-node informers: list, then watch, restarted with backoff when the
 * watch fails; a namespace missing from the cache is read directly so that a namespace created
 * a moment ago is still seen.
 */
export class KubeClusterState implements ClusterState {
  private readonly kc: k8s.KubeConfig;
  private readonly log: Logger;
  private readonly core: k8s.CoreV1Api;
  private readonly namespaces: Tracked;
  private readonly tracked = new Map<TrackedKind, Tracked>();
  private version: ServerVersion | undefined;
  private stopped = false;
  private readonly backoffMs: number;
  private readonly timers = new Set<NodeJS.Timeout>();
  private syncPromise: Promise<void> | undefined;

  constructor(kc: k8s.KubeConfig, options: KubeStateOptions) {
    this.kc = kc;
    this.log = options.log;
    this.backoffMs = options.initialBackoffMs ?? 500;
    this.core = kc.makeApiClient(k8s.CoreV1Api);
    this.namespaces = this.track('Namespace', '/api/v1/namespaces', pagedMetadataList(kc, '/api/v1/namespaces'));
    for (const kind of options.kinds ?? []) {
      const source = KIND_SOURCES[kind];
      this.tracked.set(kind, this.track(kind, source.path, source.list(kc)));
    }
  }

  /** A kubeconfig from $KUBECONFIG or ~/.kube/config, else the in-cluster service account; undefined when neither exists. */
  static loadKubeConfig(path?: string): k8s.KubeConfig | undefined {
    const kc = new k8s.KubeConfig();
    try {
      if (path !== undefined) kc.loadFromFile(path);
      else kc.loadFromDefault();
    } catch {
      return undefined;
    }
    return kc.getCurrentCluster() ? kc : undefined;
  }

  private track(kind: string, path: string, list: () => Promise<k8s.KubernetesListObject<k8s.KubernetesObject>>): Tracked {
    const informer = k8s.makeInformer(this.kc, path, list) as CachingInformer;
    const state: Tracked = { informer, synced: false, available: true };
    let attempt = 0;
    informer.on('error', (error: unknown) => {
      // Before the first sync, startOne's own retry loop owns restarts.
      if (this.stopped || !state.synced) return;
      const delay = Math.min(30_000, this.backoffMs * 2 ** attempt++) * (0.8 + Math.random() * 0.4);
      this.log.warn({ kind, err: errorMessage(error), retryInMs: Math.round(delay) }, 'watch failed; restarting');
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        if (!this.stopped) informer.start().then(() => { attempt = 0; state.synced = true; }, () => undefined);
      }, delay);
      this.timers.add(timer);
    });
    informer.on('connect', () => {
      attempt = 0;
    });
    return state;
  }

  async start(): Promise<void> {
    const starts = [this.startOne('Namespace', this.namespaces, true)];
    for (const [kind, state] of this.tracked) starts.push(this.startOne(kind, state, false));
    this.syncPromise = Promise.all(starts).then(() => undefined);
    this.readVersion().catch(() => undefined);
    await this.syncPromise;
  }

  private async startOne(kind: string, state: Tracked, required: boolean): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await state.informer.start();
        state.synced = true;
        this.log.info({ kind, count: state.informer.list().length }, 'cache synced');
        return;
      } catch (error) {
        const code = statusCode(error);
        if (!required && (code === 404 || code === 403)) {
          state.available = false;
          state.synced = true;
          this.log.info({ kind, code }, 'kind not served or not permitted; its lookups are skipped');
          return;
        }
        const delay = Math.min(30_000, this.backoffMs * 2 ** attempt);
        this.log.warn({ kind, err: errorMessage(error), retryInMs: delay }, 'initial list failed; retrying');
        await new Promise((resolve) => {
          const timer = setTimeout(() => {
            this.timers.delete(timer);
            resolve(undefined);
          }, delay);
          this.timers.add(timer);
        });
      }
    }
  }

  private async readVersion(): Promise<void> {
    const info = await this.kc.makeApiClient(k8s.VersionApi).getCode();
    const major = Number.parseInt(info.major, 10);
    const minor = Number.parseInt(info.minor, 10);
    if (Number.isFinite(major) && Number.isFinite(minor)) this.version = { major, minor };
  }

  synced(): boolean {
    return this.namespaces.synced && [...this.tracked.values()].every((state) => state.synced);
  }

  async waitForSync(): Promise<void> {
    await (this.syncPromise ?? this.start());
  }

  async getNamespace(name: string): Promise<KubeObject | undefined> {
    const cached = this.namespaces.informer.get(name);
    if (cached) return cached as KubeObject;
    try {
      return (await this.core.readNamespace({ name })) as KubeObject;
    } catch (error) {
      if (statusCode(error) === 404) return undefined;
      throw error;
    }
  }

  list(kind: TrackedKind, namespace?: string): readonly KubeObject[] | undefined {
    const state = this.tracked.get(kind);
    if (!state || !state.available || !state.synced) return undefined;
    return state.informer.list(namespace) as KubeObject[];
  }

  serverVersion(): ServerVersion | undefined {
    return this.version;
  }

  namespaceCount(): number {
    return this.namespaces.informer.list().length;
  }

  async close(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([this.namespaces, ...this.tracked.values()].map((state) => state.informer.stop()));
  }
}

function statusCode(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null) {
    const record = error as { code?: unknown; statusCode?: unknown };
    if (typeof record.code === 'number') return record.code;
    if (typeof record.statusCode === 'number') return record.statusCode;
  }
  return undefined;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
