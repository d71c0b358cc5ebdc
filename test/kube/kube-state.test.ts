import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { KubeApiError, KubeClient } from '../../src/kube/client.ts';
import { KubeClusterState } from '../../src/kube/kube-state.ts';
import { silentLog } from '../helpers/admission.ts';
import { json, sendEvents, startStandIn, status, until } from './api-stand-in.ts';

// The cluster-backed ClusterState and the request function under it, against a loopback API
// server answering as kube-apiserver does (lists, watches, Status errors).

const list = (kind: string, items: unknown[]) => ({ kind, apiVersion: 'v1', metadata: { resourceVersion: '50' }, items });

test('caches namespaces and services; a namespace missing from the cache is read directly; a kind not served has none until it is, one not permitted is unknown', async () => {
  let istioInstalled = false;
  const api = await startStandIn((request, response) => {
    if (request.query.get('watch') === 'true') return void response.writeHead(200, { 'content-type': 'application/json' }).flushHeaders();
    switch (request.path) {
      case '/api/v1/namespaces':
        return json(response, 200, list('NamespaceList', [{ metadata: { name: 'shop', resourceVersion: '3', annotations: { 'linkerd.io/inject': 'enabled' } }, spec: { finalizers: ['kubernetes'] } }]));
      case '/api/v1/namespaces/fresh':
        return json(response, 200, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'fresh', resourceVersion: '60', labels: { a: 'b' }, managedFields: [{}] }, status: { phase: 'Active' } });
      case '/api/v1/services':
        return json(response, 200, list('ServiceList', [{ metadata: { name: 'web', namespace: 'shop', resourceVersion: '4' }, spec: { ports: [{ port: 80 }] } }]));
      case '/api/v1/pods':
        return status(response, 403, 'Forbidden', 'pods is forbidden: User "system:serviceaccount:weft:weft" cannot list resource "pods"');
      case '/apis/networking.istio.io/v1beta1/destinationrules':
        if (istioInstalled) return json(response, 200, list('DestinationRuleList', [{ apiVersion: 'networking.istio.io/v1beta1', kind: 'DestinationRule', metadata: { name: 'reviews', namespace: 'shop', resourceVersion: '80' }, spec: { host: 'reviews', subsets: [{ name: 'v1' }] } }]));
        return status(response, 404, 'NotFound', 'the server could not find the requested resource');
      case '/version':
        return json(response, 200, { major: '1', minor: '30+', gitVersion: 'v1.30.2-eks' });
      default:
        return status(response, 404, 'NotFound', `the server could not find the requested resource (${request.path})`);
    }
  });
  const client = new KubeClient({ server: new URL(api.url), verifyServer: true, authorization: async () => undefined, source: 'test' });
  const state = new KubeClusterState(client, { log: silentLog, kinds: ['Service', 'DestinationRule', 'Pod'], initialBackoffMs: 20 });
  try {
    assert.equal(state.synced(), false);
    await state.waitForSync();
    assert.equal(state.synced(), true);
    assert.equal(state.namespaceCount(), 1);
    assert.deepEqual((await state.getNamespace('shop'))?.metadata?.annotations, { 'linkerd.io/inject': 'enabled' });
    assert.equal(api.requests.filter((r) => r.path.startsWith('/api/v1/namespaces/')).length, 0, 'a cached namespace costs no request');
    const fresh = await state.getNamespace('fresh');
    assert.deepEqual(fresh?.metadata, { name: 'fresh', resourceVersion: '60', labels: { a: 'b' } });
    assert.equal(await state.getNamespace('absent'), undefined);
    assert.deepEqual(state.list('Service', 'shop')?.map((s) => s.metadata?.name), ['web']);
    assert.equal(state.list('Pod'), undefined, 'not permitted: nothing is known');
    assert.deepEqual(state.list('DestinationRule'), [], 'no Istio CRDs: there are no DestinationRules');
    await until('the version', () => state.serverVersion() !== undefined);
    assert.deepEqual(state.serverVersion(), { major: 1, minor: 30 });
    istioInstalled = true;
    await until('the DestinationRule CRD to be picked up', () => state.list('DestinationRule', 'shop')?.length === 1);
    await until('the watches', () => api.watches.length === 3);
    sendEvents(api.watches.find((w) => w.req.url?.startsWith('/api/v1/services'))!, [{ type: 'ADDED', object: { metadata: { name: 'api', namespace: 'shop', resourceVersion: '70' } } }]);
    await until('the service event', () => state.list('Service', 'shop')?.length === 2);
  } finally {
    await state.close();
    client.close();
    await api.close();
  }
});

test('errors name the URL and carry the Status; answers are capped in size and time', async () => {
  const api = await startStandIn((request, response) => {
    if (request.path === '/forbidden') return status(response, 403, 'Forbidden', 'namespaces is forbidden: User "system:anonymous" cannot list resource "namespaces"');
    if (request.path === '/text') return void response.writeHead(502).end('<html>bad gateway</html>');
    if (request.path === '/big') return json(response, 200, { blob: 'x'.repeat(4096) });
    if (request.path === '/not-json') return void response.writeHead(200).end('{"half":');
    if (request.path === '/slow') return; // never answers
    if (request.path === '/watch-garbage') return void response.writeHead(200).end('{"type":"ADDED","object":{}}\nnot json\n');
    if (request.path === '/prefix/echo') return json(response, 201, { method: request.method, body: JSON.parse(request.body) });
  });
  const client = new KubeClient({ server: new URL(`${api.url}/prefix/`), verifyServer: true, authorization: async () => undefined, source: 'test' });
  // A server URL with a path (behind a proxy) keeps it as a prefix.
  const stripped = new KubeClient({ server: new URL(api.url), verifyServer: true, authorization: async () => undefined, source: 'test' });
  try {
    await assert.rejects(stripped.request('/forbidden'), (error: unknown) => {
      assert.ok(error instanceof KubeApiError);
      assert.equal(error.code, 403);
      assert.equal(error.reason, 'Forbidden');
      assert.equal(error.message, `GET ${api.url}/forbidden: HTTP 403 Forbidden: namespaces is forbidden: User "system:anonymous" cannot list resource "namespaces"`);
      return true;
    });
    await assert.rejects(stripped.request('/text'), { message: `GET ${api.url}/text: HTTP 502: <html>bad gateway</html>`, code: 502 });
    await assert.rejects(stripped.request('/big', { maxBytes: 1024 }), /\/big: answer larger than 1024 bytes/);
    await assert.rejects(stripped.request('/not-json'), /\/not-json: answer is not JSON/);
    await assert.rejects(stripped.request('/slow', { timeoutMs: 100 }), /\/slow: no answer within 100 ms/);
    const events: unknown[] = [];
    await assert.rejects(stripped.watch('/watch-garbage', (event) => events.push(event)), /watch event is not JSON: not json/);
    assert.equal(events.length, 1);
    assert.deepEqual(await client.request('/echo', { method: 'POST', body: { a: 1 } }), { method: 'POST', body: { a: 1 } });
    assert.equal(api.requests.at(-1)?.path, '/prefix/echo');
  } finally {
    client.close();
    stripped.close();
    await api.close();
  }
});

test('the controller code path does not load client-node (its models alone cost ~80 MB of RSS)', () => {
  // Every module URL resolved while loading `weft controller`, recorded by a resolve hook.
  const script = `
    import { registerHooks } from 'node:module';
    const seen = [];
    registerHooks({ resolve(specifier, context, next) { const result = next(specifier, context); seen.push(result.url); return result; } });
    await import(${JSON.stringify(new URL('../../src/commands/controller.ts', import.meta.url).href)});
    process.stdout.write(JSON.stringify(seen.filter((url) => url.includes('@kubernetes/client-node'))));
  `;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout), []);
});
