import type { KubeObject } from './types.ts';

/** Kinds besides Namespace that a ClusterState may cache for lookups. */
export type TrackedKind = 'Pod' | 'Service' | 'DestinationRule';

export interface ServerVersion {
  major: number;
  minor: number;
}

/**
 * The one way weft reads cluster state. The webhook, the CLI and the tests all use it; it is
 * implemented over list+watch informers (kube-state.ts) and over YAML files (file-state.ts).
 */
export interface ClusterState {
  /** True once every cache has finished its initial list. */
  synced(): boolean;
  /** Resolves once synced (or rejects when the first sync fails for good). */
  waitForSync(): Promise<void>;
  /** A namespace by name; a cache miss falls back to a direct read where the implementation can. */
  getNamespace(name: string): Promise<KubeObject | undefined>;
  /** Objects of a kind in a namespace (all namespaces when omitted), or undefined when this state does not track that kind. */
  list(kind: TrackedKind, namespace?: string): readonly KubeObject[] | undefined;
  /** The API server's version, when known (decides e.g. whether native sidecars exist). */
  serverVersion(): ServerVersion | undefined;
  close(): Promise<void>;
}
