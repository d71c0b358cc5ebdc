import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClusterState, ServerVersion, TrackedKind } from './cluster-state.ts';
import { expandLists, parseManifests } from './manifests.ts';
import type { KubeObject } from './types.ts';

const TRACKED: ReadonlySet<string> = new Set<TrackedKind>(['Pod', 'Service', 'DestinationRule']);

/**
 * ClusterState over a folder of YAML manifests, for standalone mode, the CLI and tests. A
 * `ConfigMap` named `weft-cluster-info` with `data.serverVersion: "1.30"` sets the version the
 * injector sees (native sidecars need 1.29+).
 */
export class FileClusterState implements ClusterState {
  private readonly namespaces = new Map<string, KubeObject>();
  private readonly objects = new Map<string, KubeObject[]>();
  private version: ServerVersion | undefined;
  private loaded = false;

  static async fromDirectory(directory: string): Promise<FileClusterState> {
    const state = new FileClusterState();
    const names = (await readdir(directory)).filter((name) => /\.(ya?ml|json)$/.test(name)).sort();
    for (const name of names) {
      const documents = parseManifests(await readFile(join(directory, name), 'utf8'));
      for (const document of documents) {
        if (document.error !== undefined) throw new Error(`${join(directory, name)}:${document.index}: ${document.error}`);
      }
      state.add(expandLists(documents.flatMap((document) => (document.object ? [document.object] : []))));
    }
    state.loaded = true;
    return state;
  }

  static fromObjects(objects: readonly KubeObject[], version?: ServerVersion): FileClusterState {
    const state = new FileClusterState();
    state.add(objects);
    state.version = version ?? state.version;
    state.loaded = true;
    return state;
  }

  private add(objects: readonly KubeObject[]): void {
    for (const object of objects) {
      const name = object.metadata?.name;
      if (typeof name !== 'string') continue;
      if (object.kind === 'Namespace') {
        this.namespaces.set(name, object);
      } else if (object.kind === 'ConfigMap' && name === 'weft-cluster-info') {
        const data = object.data as Record<string, unknown> | undefined;
        const match = /^v?(\d+)\.(\d+)/.exec(String(data?.serverVersion ?? ''));
        if (match) this.version = { major: Number(match[1]), minor: Number(match[2]) };
      } else if (typeof object.kind === 'string' && TRACKED.has(object.kind)) {
        const key = `${object.kind}/${object.metadata?.namespace ?? 'default'}`;
        const list = this.objects.get(key) ?? [];
        list.push(object);
        this.objects.set(key, list);
      }
    }
  }

  synced(): boolean {
    return this.loaded;
  }

  async waitForSync(): Promise<void> {}

  async getNamespace(name: string): Promise<KubeObject | undefined> {
    return this.namespaces.get(name);
  }

  list(kind: TrackedKind, namespace?: string): readonly KubeObject[] | undefined {
    if (namespace !== undefined) return this.objects.get(`${kind}/${namespace}`) ?? [];
    return [...this.objects.entries()].filter(([key]) => key.startsWith(`${kind}/`)).flatMap(([, objects]) => objects);
  }

  serverVersion(): ServerVersion | undefined {
    return this.version;
  }

  namespaceCount(): number {
    return this.namespaces.size;
  }

  async close(): Promise<void> {}
}
