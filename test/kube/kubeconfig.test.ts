import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveKubeconfig, splitKubeconfigList } from '../../src/kube/kubeconfig.ts';

// Kubeconfigs in the shapes kubectl, kind, cloud CLIs and the k8s-e2e tool write them.
const b64 = (text: string) => Buffer.from(text).toString('base64');

test('client certificate and CA by file: relative paths are relative to the kubeconfig', () => {
  const text = `apiVersion: v1
kind: Config
clusters:
- name: k8s-e2e
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority: pki/ca.crt
users:
- name: admin
  user:
    client-certificate: /abs/admin.crt
    client-key: pki/admin.key
contexts:
- name: e2e
  context: {cluster: k8s-e2e, user: admin, namespace: shop}
current-context: e2e
`;
  const resolved = resolveKubeconfig([{ path: '/etc/kube/config', text }]);
  assert.deepEqual(resolved, {
    source: '/etc/kube/config',
    context: 'e2e',
    server: 'https://127.0.0.1:6443',
    namespace: 'shop',
    insecureSkipTlsVerify: false,
    certificateAuthority: { file: '/etc/kube/pki/ca.crt' },
    clientCertificate: { file: '/abs/admin.crt' },
    clientKey: { file: '/etc/kube/pki/admin.key' },
  });
});

test('inline data, tls-server-name, token', () => {
  const text = `clusters: [{name: c, cluster: {server: "https://10.0.0.1", certificate-authority-data: ${b64('CA PEM')}, tls-server-name: kubernetes.default}}]
users: [{name: u, user: {token: abc.def, client-certificate-data: ${b64('CERT')}, client-key-data: ${b64('KEY')}}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`;
  const resolved = resolveKubeconfig([{ path: 'k', text }]);
  assert.deepEqual(resolved.certificateAuthority, { data: Buffer.from('CA PEM') });
  assert.deepEqual(resolved.clientCertificate, { data: Buffer.from('CERT') });
  assert.deepEqual(resolved.clientKey, { data: Buffer.from('KEY') });
  assert.equal(resolved.tlsServerName, 'kubernetes.default');
  assert.equal(resolved.token, 'abc.def');
});

test('tokenFile, basic auth, insecure-skip-tls-verify, anonymous', () => {
  const text = `clusters: [{name: c, cluster: {server: "https://h", insecure-skip-tls-verify: true}}]
users: [{name: t, user: {tokenFile: tok}}, {name: b, user: {username: admin, password: s3cret}}]
contexts: [{name: t, context: {cluster: c, user: t}}, {name: b, context: {cluster: c, user: b}}, {name: anon, context: {cluster: c}}]
current-context: t
`;
  const file = { path: '/home/me/.kube/config', text };
  const token = resolveKubeconfig([file]);
  assert.equal(token.tokenFile, '/home/me/.kube/tok');
  assert.equal(token.insecureSkipTlsVerify, true);
  assert.deepEqual(resolveKubeconfig([file], 'b').basic, { username: 'admin', password: 's3cret' });
  const anon = resolveKubeconfig([file], 'anon');
  assert.equal(anon.token, undefined);
  assert.equal(anon.basic, undefined);
});

test('exec and auth-provider users are marked for the plugin path', () => {
  const text = (user: string) => `clusters: [{name: c, cluster: {server: "https://h"}}]
users: [{name: u, user: ${user}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`;
  assert.equal(resolveKubeconfig([{ path: 'k', text: text('{exec: {apiVersion: client.authentication.k8s.io/v1, command: aws}}') }]).plugin, 'exec');
  assert.equal(resolveKubeconfig([{ path: 'k', text: text('{auth-provider: {name: oidc}}') }]).plugin, 'auth-provider');
  assert.equal(resolveKubeconfig([{ path: 'k', text: text('{token: t}') }]).plugin, undefined);
});

test('several files merge: the first current-context and the first entry of a name win', () => {
  const first = { path: '/a', text: 'current-context: one\nclusters: [{name: c, cluster: {server: "https://first"}}]\n' };
  const second = {
    path: '/b',
    text: 'current-context: two\nclusters: [{name: c, cluster: {server: "https://second"}}]\ncontexts: [{name: one, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {token: t}}]\n',
  };
  const resolved = resolveKubeconfig([first, { path: '/empty', text: '' }, second]);
  assert.equal(resolved.context, 'one');
  assert.equal(resolved.server, 'https://first');
  assert.equal(resolved.token, 't');
  assert.equal(resolved.source, '/a:/empty:/b');
  assert.deepEqual(splitKubeconfigList('/a::/b:'), ['/a', '/b']);
});

test('bad kubeconfigs are errors that name the file and the field', () => {
  const cases: [string, RegExp][] = [
    ['[1, 2]', /k: a kubeconfig is a mapping/],
    ['clusters: {a: 1}', /k: clusters must be a list/],
    ['clusters: [{cluster: {}}]', /k: clusters\[0\]\.name must be a string/],
    ['contexts: [{name: x, context: {cluster: c}}]', /k: current-context is not set/],
    ['current-context: y\ncontexts: [{name: x, context: {cluster: c}}]', /current-context "y" is not among contexts/],
    ['current-context: x\ncontexts: [{name: x, context: {user: u}}]', /k: contexts\[name=x\]\.context\.cluster is required/],
    ['current-context: x\ncontexts: [{name: x, context: {cluster: c}}]', /refers to cluster "c", which is not defined/],
    ['current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\nclusters: [{name: c, cluster: {}}]', /clusters\[name=c\]\.cluster\.server is required/],
    ['current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\nclusters: [{name: c, cluster: {server: s}}]\nusers: [{name: u, user: {client-key: k}}]', /users\[name=u\]\.user has a client certificate without a key or a key without a certificate/],
    ['current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\nclusters: [{name: c, cluster: {server: 5}}]', /clusters\[name=c\]\.cluster\.server must be a string/],
    ['a: [unclosed', /k: not YAML/],
  ];
  for (const [text, error] of cases) assert.throws(() => resolveKubeconfig([{ path: 'k', text }]), error, text);
});
