// How to reach the API server: from a kubeconfig or from the pod's service account. Opening a
// connection reads the files it names once (CA, client certificate and key); tokens from files
// are re-read as they rotate.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeconfigError, resolveKubeconfig, splitKubeconfigList, type Material, type ResolvedKubeconfig } from './kubeconfig.ts';
import { tokenFromFile } from './token-file.ts';

export interface KubeConnection {
  /** The API server's base URL (a path prefix, as behind some proxies, is kept). */
  server: URL;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** False only when the kubeconfig says insecure-skip-tls-verify. */
  verifyServer: boolean;
  tlsServerName?: string;
  /** The Authorization header for the next request; undefined for none. */
  authorization(): Promise<string | undefined>;
  /** The default namespace (the pod's own in cluster). */
  namespace?: string;
  /** Where this connection came from, for messages. */
  source: string;
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

async function readMaterial(material: Material | undefined, field: string, source: string): Promise<Buffer | undefined> {
  if (material === undefined) return undefined;
  if ('data' in material) return material.data;
  try {
    return await readFile(material.file);
  } catch (error) {
    throw new KubeconfigError(`${source}: ${field} ${material.file}: ${(error as Error).message}`);
  }
}

function parseServer(server: string, source: string): URL {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new KubeconfigError(`${source}: server "${server}" is not a URL (expected https://host:port)`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new KubeconfigError(`${source}: server "${server}" must be an https:// (or http://) URL`);
  return url;
}

function authorizationFor(resolved: ResolvedKubeconfig): () => Promise<string | undefined> {
  if (resolved.token !== undefined) {
    const header = `Bearer ${resolved.token}`;
    return async () => header;
  }
  if (resolved.tokenFile !== undefined) {
    const token = tokenFromFile(resolved.tokenFile);
    return async () => `Bearer ${await token()}`;
  }
  if (resolved.basic !== undefined) {
    const header = `Basic ${Buffer.from(`${resolved.basic.username}:${resolved.basic.password}`).toString('base64')}`;
    return async () => header;
  }
  return async () => undefined;
}

/** A connection from kubeconfig files (already split from a `$KUBECONFIG` list). */
export async function connectionFromKubeconfig(paths: readonly string[]): Promise<KubeConnection> {
  const files = [];
  for (const path of paths) {
    try {
      files.push({ path, text: await readFile(path, 'utf8') });
    } catch (error) {
      // As with kubectl, a list may name files that do not exist; a single file must.
      if (paths.length > 1 && (error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new KubeconfigError(`cannot read kubeconfig ${path}: ${(error as Error).message}`);
    }
  }
  if (files.length === 0) throw new KubeconfigError(`none of the kubeconfig files ${paths.join(':')} exists`);
  const resolved = resolveKubeconfig(files);
  const where = `${resolved.source} (context ${resolved.context})`;
  const connection: KubeConnection = {
    server: parseServer(resolved.server, where),
    verifyServer: !resolved.insecureSkipTlsVerify,
    authorization: authorizationFor(resolved),
    source: where,
  };
  const ca = await readMaterial(resolved.certificateAuthority, 'certificate-authority', where);
  if (ca) connection.ca = ca;
  const cert = await readMaterial(resolved.clientCertificate, 'client-certificate', where);
  if (cert) connection.cert = cert;
  const key = await readMaterial(resolved.clientKey, 'client-key', where);
  if (key) connection.key = key;
  if (resolved.tlsServerName !== undefined) connection.tlsServerName = resolved.tlsServerName;
  if (resolved.namespace !== undefined) connection.namespace = resolved.namespace;
  if (resolved.plugin !== undefined) {
    // Plugins and auth providers run other programs with protocols of their own; client-node
    // implements them, and is loaded only here so that the usual controller never pays for it.
    const { pluginAuthorization } = await import('./plugin-auth.ts');
    connection.authorization = await pluginAuthorization(files.map((file) => file.path), resolved);
  }
  return connection;
}

export interface InClusterEnvironment {
  env: Record<string, string | undefined>;
  /** The service account's mounted files (token, ca.crt, namespace). */
  dir?: string;
  tokenRefreshMs?: number;
}

/** The pod's service account, as every in-cluster client reads it; undefined outside a pod. */
export async function connectionInCluster(options: InClusterEnvironment = { env: process.env }): Promise<KubeConnection | undefined> {
  const host = options.env.KUBERNETES_SERVICE_HOST;
  const port = options.env.KUBERNETES_SERVICE_PORT;
  const dir = options.dir ?? SERVICE_ACCOUNT_DIR;
  if (!host || !port || !existsSync(join(dir, 'token'))) return undefined;
  const source = `in-cluster service account (${dir})`;
  // An IPv6 service host needs brackets in a URL.
  const server = parseServer(`https://${host.includes(':') ? `[${host}]` : host}:${port}`, source);
  let ca: Buffer;
  try {
    ca = await readFile(join(dir, 'ca.crt'));
  } catch (error) {
    throw new KubeconfigError(`${source}: ca.crt: ${(error as Error).message}`);
  }
  const token = tokenFromFile(join(dir, 'token'), options.tokenRefreshMs === undefined ? {} : { refreshMs: options.tokenRefreshMs });
  await token(); // a token that cannot be read is an error now, not at the first request
  const namespace = await readFile(join(dir, 'namespace'), 'utf8').then((text) => text.trim(), () => '');
  return { server, ca, verifyServer: true, authorization: async () => `Bearer ${await token()}`, source, ...(namespace ? { namespace } : {}) };
}

/**
 * The connection the controller uses: the kubeconfig(s) given (`--kubeconfig`, `$KUBECONFIG`,
 * colon-separated), else the in-cluster service account, else `~/.kube/config`; undefined
 * when there is none. A kubeconfig that exists but is wrong is an error that says why.
 */
export async function openKubeConnection(kubeconfig: string | undefined, env: Record<string, string | undefined> = process.env): Promise<KubeConnection | undefined> {
  const paths = kubeconfig === undefined ? [] : splitKubeconfigList(kubeconfig);
  if (paths.length > 0) return connectionFromKubeconfig(paths);
  const inCluster = await connectionInCluster({ env });
  if (inCluster) return inCluster;
  const home = join(env.HOME ?? homedir(), '.kube', 'config');
  return existsSync(home) ? connectionFromKubeconfig([home]) : undefined;
}
