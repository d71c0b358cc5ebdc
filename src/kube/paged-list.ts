import * as https from 'node:https';
import * as http from 'node:http';
import type * as k8s from '@kubernetes/client-node';

const PAGE_SIZE = 500;

/** What the namespace cache keeps of each object: the injector and validator read nothing else. */
function trimToMetadata(item: k8s.KubernetesObject): k8s.KubernetesObject {
  const metadata = item.metadata ?? {};
  return {
    apiVersion: item.apiVersion ?? 'v1',
    kind: item.kind ?? 'Namespace',
    metadata: {
      name: metadata.name,
      uid: metadata.uid,
      resourceVersion: metadata.resourceVersion,
      ...(metadata.labels ? { labels: metadata.labels } : {}),
      ...(metadata.annotations ? { annotations: metadata.annotations } : {}),
    },
  };
}

async function getJson(kc: k8s.KubeConfig, url: URL): Promise<unknown> {
  const options: https.RequestOptions = { method: 'GET', headers: { accept: 'application/json' } };
  await kc.applyToHTTPSOptions(options);
  const transport = url.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const request = transport.request(url, options, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (response.statusCode !== 200) {
          const error = new Error(`GET ${url.pathname}: HTTP ${response.statusCode}: ${text.slice(0, 200)}`) as Error & { code?: number };
          error.code = response.statusCode;
          return reject(error);
        }
        try {
          resolve(JSON.parse(text));
        } catch (error) {
          reject(error);
        }
      });
      response.on('error', reject);
    });
    request.setTimeout(30_000, () => request.destroy(new Error(`GET ${url.pathname}: timed out`)));
    request.on('error', reject);
    request.end();
  });
}

/**
 * Lists a cluster-scoped collection in pages and keeps only metadata, for the informer's
 * initial list. With 10,000 namespaces, one unpaged list of full objects, parsed and then
 * deserialised into client-node's model classes, is what dominated the controller's memory.
 */
export function pagedMetadataList(kc: k8s.KubeConfig, path: string): () => Promise<k8s.KubernetesListObject<k8s.KubernetesObject>> {
  return async () => {
    const server = kc.getCurrentCluster()?.server;
    if (!server) throw new Error('kubeconfig has no current cluster');
    const items: k8s.KubernetesObject[] = [];
    let continueToken: string | undefined;
    let resourceVersion = '';
    do {
      const url = new URL(path, server.endsWith('/') ? server : `${server}/`);
      url.pathname = `${new URL(server).pathname.replace(/\/$/, '')}${path}`;
      url.searchParams.set('limit', String(PAGE_SIZE));
      if (continueToken) url.searchParams.set('continue', continueToken);
      const page = (await getJson(kc, url)) as { items?: k8s.KubernetesObject[]; metadata?: { continue?: string; resourceVersion?: string } };
      for (const item of page.items ?? []) items.push(trimToMetadata(item));
      continueToken = page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
    } while (continueToken);
    return { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion }, items } as k8s.KubernetesListObject<k8s.KubernetesObject>;
  };
}
