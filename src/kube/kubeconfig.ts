// Kubeconfig files, read as kubectl reads them: several files merge (the first to name a
// context, cluster or user wins, as does the first current-context), relative paths are
// relative to the file that holds them. Pure: text in, plain data out; no file is opened here.
import { dirname, isAbsolute, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { isRecord } from './types.ts';

export interface KubeconfigText {
  path: string;
  text: string;
}

/** Bytes given inline (`-data`, base64 in the file) or by a file to read. */
export type Material = { data: Buffer } | { file: string };

/** What the current context says about how to reach and authenticate to the API server. */
export interface ResolvedKubeconfig {
  /** The files it came from, for error messages. */
  source: string;
  context: string;
  server: string;
  namespace?: string;
  certificateAuthority?: Material;
  insecureSkipTlsVerify: boolean;
  tlsServerName?: string;
  clientCertificate?: Material;
  clientKey?: Material;
  token?: string;
  tokenFile?: string;
  basic?: { username: string; password: string };
  /**
   * Set when the user authenticates through a plugin (`exec`) or an `auth-provider`: those run
   * other programs and speak several protocols, and are left to client-node.
   */
  plugin?: 'exec' | 'auth-provider';
}

export class KubeconfigError extends Error {
  override name = 'KubeconfigError';
}

interface Named {
  file: string;
  body: Record<string, unknown>;
}

function namedEntries(doc: Record<string, unknown>, list: string, inner: string, file: string, into: Map<string, Named>): void {
  const entries = doc[list];
  if (entries === undefined || entries === null) return;
  if (!Array.isArray(entries)) throw new KubeconfigError(`${file}: ${list} must be a list`);
  entries.forEach((entry, index) => {
    if (!isRecord(entry) || typeof entry.name !== 'string') throw new KubeconfigError(`${file}: ${list}[${index}].name must be a string`);
    const body = entry[inner] ?? {};
    if (!isRecord(body)) throw new KubeconfigError(`${file}: ${list}[${index}].${inner} must be a mapping`);
    if (!into.has(entry.name)) into.set(entry.name, { file, body });
  });
}

function optionalString(entry: Named, field: string, where: string): string | undefined {
  const value = entry.body[field];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new KubeconfigError(`${entry.file}: ${where}.${field} must be a string`);
  return value;
}

function material(entry: Named, fileField: string, dataField: string, where: string): Material | undefined {
  const data = optionalString(entry, dataField, where);
  if (data !== undefined) {
    const bytes = Buffer.from(data, 'base64');
    if (bytes.length === 0) throw new KubeconfigError(`${entry.file}: ${where}.${dataField} is not base64`);
    return { data: bytes };
  }
  const file = optionalString(entry, fileField, where);
  if (file === undefined) return undefined;
  return { file: isAbsolute(file) ? file : join(dirname(entry.file), file) };
}

function required(map: Map<string, Named>, name: string, what: string, source: string): Named {
  const entry = map.get(name);
  if (!entry) throw new KubeconfigError(`${source}: context refers to ${what} "${name}", which is not defined`);
  return entry;
}

/**
 * The current context of the merged files. `contextOverride` picks another context by name.
 * Every error names the file and the field.
 */
export function resolveKubeconfig(files: readonly KubeconfigText[], contextOverride?: string): ResolvedKubeconfig {
  if (files.length === 0) throw new KubeconfigError('no kubeconfig file given');
  const source = files.map((file) => file.path).join(':');
  const contexts = new Map<string, Named>();
  const clusters = new Map<string, Named>();
  const users = new Map<string, Named>();
  let current: string | undefined;
  for (const file of files) {
    let doc: unknown;
    try {
      doc = parseYaml(file.text);
    } catch (error) {
      throw new KubeconfigError(`${file.path}: not YAML: ${(error as Error).message.split('\n')[0]}`);
    }
    if (doc === null || doc === undefined) continue; // an empty file contributes nothing, as with kubectl
    if (!isRecord(doc)) throw new KubeconfigError(`${file.path}: a kubeconfig is a mapping (apiVersion, clusters, users, contexts)`);
    namedEntries(doc, 'contexts', 'context', file.path, contexts);
    namedEntries(doc, 'clusters', 'cluster', file.path, clusters);
    namedEntries(doc, 'users', 'user', file.path, users);
    if (current === undefined && typeof doc['current-context'] === 'string' && doc['current-context'] !== '') current = doc['current-context'];
  }
  const contextName = contextOverride ?? current;
  if (contextName === undefined) throw new KubeconfigError(`${source}: current-context is not set`);
  const context = contexts.get(contextName);
  if (!context) throw new KubeconfigError(`${source}: current-context "${contextName}" is not among contexts`);
  const where = `contexts[name=${contextName}].context`;
  const clusterName = optionalString(context, 'cluster', where);
  if (clusterName === undefined) throw new KubeconfigError(`${context.file}: ${where}.cluster is required`);
  const cluster = required(clusters, clusterName, 'cluster', source);
  const clusterWhere = `clusters[name=${clusterName}].cluster`;
  const server = optionalString(cluster, 'server', clusterWhere);
  if (server === undefined) throw new KubeconfigError(`${cluster.file}: ${clusterWhere}.server is required`);
  const resolved: ResolvedKubeconfig = {
    source,
    context: contextName,
    server,
    insecureSkipTlsVerify: cluster.body['insecure-skip-tls-verify'] === true,
  };
  const namespace = optionalString(context, 'namespace', where);
  if (namespace !== undefined) resolved.namespace = namespace;
  const ca = material(cluster, 'certificate-authority', 'certificate-authority-data', clusterWhere);
  if (ca) resolved.certificateAuthority = ca;
  const tlsServerName = optionalString(cluster, 'tls-server-name', clusterWhere);
  if (tlsServerName !== undefined) resolved.tlsServerName = tlsServerName;

  const userName = optionalString(context, 'user', where);
  if (userName === undefined) return resolved; // anonymous
  const user = required(users, userName, 'user', source);
  const userWhere = `users[name=${userName}].user`;
  const cert = material(user, 'client-certificate', 'client-certificate-data', userWhere);
  const key = material(user, 'client-key', 'client-key-data', userWhere);
  if ((cert === undefined) !== (key === undefined)) throw new KubeconfigError(`${user.file}: ${userWhere} has a client certificate without a key or a key without a certificate`);
  if (cert && key) {
    resolved.clientCertificate = cert;
    resolved.clientKey = key;
  }
  const token = optionalString(user, 'token', userWhere);
  if (token !== undefined) resolved.token = token;
  const tokenFile = optionalString(user, 'tokenFile', userWhere);
  if (tokenFile !== undefined) resolved.tokenFile = isAbsolute(tokenFile) ? tokenFile : join(dirname(user.file), tokenFile);
  const username = optionalString(user, 'username', userWhere);
  const password = optionalString(user, 'password', userWhere);
  if (username !== undefined || password !== undefined) resolved.basic = { username: username ?? '', password: password ?? '' };
  if (user.body.exec !== undefined && user.body.exec !== null) resolved.plugin = 'exec';
  else if (user.body['auth-provider'] !== undefined && user.body['auth-provider'] !== null) resolved.plugin = 'auth-provider';
  return resolved;
}

/** `$KUBECONFIG`-style lists: colon-separated (semicolon on Windows), empty parts ignored. */
export function splitKubeconfigList(value: string): string[] {
  return value.split(process.platform === 'win32' ? ';' : ':').filter((part) => part !== '');
}
