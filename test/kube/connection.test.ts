import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeClient } from '../../src/kube/client.ts';
import { connectionFromKubeconfig, connectionInCluster, openKubeConnection } from '../../src/kube/connection.ts';
import { tokenFromFile } from '../../src/kube/token-file.ts';
import { hasOpenssl, json, makePki, startStandIn, type Pki, type StandIn } from './api-stand-in.ts';

// Connections from kubeconfigs and from a pod's service account, used for real requests against
// a loopback API server over TLS: the CA, client certificates, tls-server-name, tokens that
// rotate, basic auth, and an exec credential plugin through the client-node fallback.

const skip = hasOpenssl ? false : 'openssl is needed to make the stand-in PKI';
let pki: Pki;
let tlsApi: StandIn;
let certApi: StandIn;
let plainApi: StandIn;
let dir: string;
const version = { major: '1', minor: '20', gitVersion: 'v1.20.2' };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'weft-kube-conn-'));
  plainApi = await startStandIn((_request, response) => json(response, 200, version));
  if (!hasOpenssl) return;
  pki = makePki();
  tlsApi = await startStandIn((_request, response) => json(response, 200, version), { pki });
  certApi = await startStandIn((_request, response) => json(response, 200, version), { pki, requireClientCert: true });
});
after(async () => {
  await Promise.all([tlsApi?.close(), certApi?.close(), plainApi.close()]);
  pki?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

function kubeconfig(name: string, cluster: string, user: string): string {
  const path = join(dir, name);
  writeFileSync(path, `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n${cluster}\nusers:\n- name: u\n  user:\n${user}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n`);
  return path;
}

async function getVersion(paths: string[]): Promise<unknown> {
  const client = new KubeClient(await connectionFromKubeconfig(paths));
  try {
    return await client.request('/version');
  } finally {
    client.close();
  }
}

test('a client-certificate kubeconfig (files, as the k8s-e2e tool writes it) over real TLS', { skip }, async () => {
  const path = kubeconfig('cert', `    server: ${certApi.url}\n    certificate-authority: ${pki.files.ca}`, `    client-certificate: ${pki.files.clientCert}\n    client-key: ${pki.files.clientKey}`);
  assert.deepEqual(await getVersion([path]), version);
  assert.equal(certApi.requests.at(-1)?.clientCN, 'weft-test');
  assert.equal(certApi.requests.at(-1)?.authorization, undefined);
});

test('client certificate and CA inline (-data), and without a client certificate the server refuses the handshake', { skip }, async () => {
  const b64 = (file: string) => readFileSync(file).toString('base64');
  const path = kubeconfig('cert-data', `    server: ${certApi.url}\n    certificate-authority-data: ${b64(pki.files.ca)}`, `    client-certificate-data: ${b64(pki.files.clientCert)}\n    client-key-data: ${b64(pki.files.clientKey)}`);
  assert.deepEqual(await getVersion([path]), version);
  const anonymous = kubeconfig('no-cert', `    server: ${certApi.url}\n    certificate-authority: ${pki.files.ca}`, '    token: t');
  await assert.rejects(getVersion([anonymous]), (error: Error) => error.message.startsWith(`GET ${certApi.url}/version: `));
});

test('the server is verified against the CA; tls-server-name is the name checked; insecure-skip-tls-verify skips it', { skip }, async () => {
  const noCa = kubeconfig('no-ca', `    server: ${tlsApi.url}`, '    token: t');
  await assert.rejects(getVersion([noCa]), /self-signed|unable to (get|verify)/i);
  const wrongName = kubeconfig('wrong-name', `    server: ${tlsApi.url}\n    certificate-authority: ${pki.files.ca}\n    tls-server-name: other.test`, '    token: t');
  await assert.rejects(getVersion([wrongName]), /other\.test/);
  const rightName = kubeconfig('right-name', `    server: ${tlsApi.url}\n    certificate-authority: ${pki.files.ca}\n    tls-server-name: kubernetes.test`, '    token: t');
  assert.deepEqual(await getVersion([rightName]), version);
  const insecure = kubeconfig('insecure', `    server: ${tlsApi.url}\n    insecure-skip-tls-verify: true`, '    token: secret-token');
  assert.deepEqual(await getVersion([insecure]), version);
  assert.equal(tlsApi.requests.at(-1)?.authorization, 'Bearer secret-token');
});

test('basic auth and tokenFile users; a missing CA file is an error naming the field and the file', async () => {
  await getVersion([kubeconfig('basic', `    server: ${plainApi.url}`, '    username: admin\n    password: pw')]);
  assert.equal(plainApi.requests.at(-1)?.authorization, `Basic ${Buffer.from('admin:pw').toString('base64')}`);
  writeFileSync(join(dir, 'token'), 'from-file\n');
  await getVersion([kubeconfig('token-file', `    server: ${plainApi.url}`, '    tokenFile: token')]);
  assert.equal(plainApi.requests.at(-1)?.authorization, 'Bearer from-file');
  const missing = kubeconfig('missing-ca', `    server: ${plainApi.url}\n    certificate-authority: nowhere.crt`, '    token: t');
  await assert.rejects(connectionFromKubeconfig([missing]), new RegExp(`certificate-authority ${join(dir, 'nowhere.crt')}: ENOENT`));
  await assert.rejects(connectionFromKubeconfig([kubeconfig('no-scheme', '    server: "127.0.0.1:6443"', '    token: t')]), /server "127.0.0.1:6443" is not a URL \(expected https:\/\/host:port\)/);
  await assert.rejects(connectionFromKubeconfig([kubeconfig('bad-scheme', '    server: "ftp://h"', '    token: t')]), /server "ftp:\/\/h" must be an https:\/\/ \(or http:\/\/\) URL/);
});

test('an exec credential plugin goes through client-node, loaded only for it', { skip }, async () => {
  const plugin = join(dir, 'plugin.sh');
  writeFileSync(plugin, `#!/bin/sh\necho '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"from-plugin"}}'\n`);
  chmodSync(plugin, 0o755);
  await getVersion([kubeconfig('exec', `    server: ${tlsApi.url}\n    certificate-authority: ${pki.files.ca}`, `    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: ${plugin}\n      interactiveMode: Never`)]);
  assert.equal(tlsApi.requests.at(-1)?.authorization, 'Bearer from-plugin');
});

test('in cluster: service host and port, ca.crt, namespace, and a token re-read as the kubelet rotates it', { skip }, async () => {
  const sa = join(dir, 'sa');
  mkdirSync(sa);
  writeFileSync(join(sa, 'token'), 'token-1');
  writeFileSync(join(sa, 'ca.crt'), pki.caPem);
  writeFileSync(join(sa, 'namespace'), 'weft\n');
  const env = { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(tlsApi.port) };
  const connection = await connectionInCluster({ env, dir: sa, tokenRefreshMs: 0 });
  assert.ok(connection);
  assert.equal(connection.namespace, 'weft');
  assert.equal(connection.server.href, `https://127.0.0.1:${tlsApi.port}/`);
  const client = new KubeClient(connection);
  try {
    await client.request('/version');
    assert.equal(tlsApi.requests.at(-1)?.authorization, 'Bearer token-1');
    writeFileSync(join(sa, 'token'), 'token-2');
    await client.request('/version');
    assert.equal(tlsApi.requests.at(-1)?.authorization, 'Bearer token-2');
  } finally {
    client.close();
  }
  assert.equal(await connectionInCluster({ env: {}, dir: sa }), undefined, 'not in a pod');
  assert.equal((await connectionInCluster({ env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, dir: sa }))?.server.host, '[fd00::1]');
});

test('a token file is read again only once it is old, and a failed re-read keeps the last token', async () => {
  const file = join(dir, 'rotating');
  writeFileSync(file, 'one');
  let now = 0;
  const token = tokenFromFile(file, { refreshMs: 60_000, now: () => now });
  assert.equal(await token(), 'one');
  writeFileSync(file, 'two');
  now = 59_000;
  assert.equal(await token(), 'one', 'still fresh');
  now = 60_000;
  assert.equal(await token(), 'two');
  rmSync(file);
  now = 200_000;
  assert.equal(await token(), 'two', 'the file is being swapped: keep the last one');
  await assert.rejects(tokenFromFile(join(dir, 'never'))(), /cannot read token file .*never: ENOENT/);
  writeFileSync(join(dir, 'blank'), '\n');
  await assert.rejects(tokenFromFile(join(dir, 'blank'))(), /blank: the file is empty/);
});

test('which connection: the kubeconfig list given, else in-cluster, else ~/.kube/config, else none', async () => {
  const home = join(dir, 'home');
  mkdirSync(join(home, '.kube'), { recursive: true });
  assert.equal(await openKubeConnection(undefined, { HOME: home }), undefined);
  const config = kubeconfig('home-config', `    server: ${plainApi.url}`, '    token: t');
  writeFileSync(join(home, '.kube', 'config'), readFileSync(config));
  assert.equal((await openKubeConnection(undefined, { HOME: home }))?.source, `${join(home, '.kube', 'config')} (context x)`);
  // A $KUBECONFIG list may name files that do not exist; one named alone must exist.
  assert.equal((await openKubeConnection(`${join(dir, 'absent')}:${config}`, {}))?.source, `${config} (context x)`);
  await assert.rejects(openKubeConnection(join(dir, 'absent'), {}), /cannot read kubeconfig .*absent: ENOENT/);
});
