import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeClient } from '../../src/kube/client.ts';
import { Informer } from '../../src/kube/informer.ts';
import { keepNamespaceMetadata } from '../../src/kube/watch-cache.ts';
import { silentLog } from '../helpers/admission.ts';
import { json, sendEvents, startStandIn, status, until, type Recorded, type StandIn } from './api-stand-in.ts';
import type { ServerResponse } from 'node:http';

// The informer against a loopback API server that pages lists, streams watch events, sends
// bookmarks, expires resourceVersions and drops connections, as kube-apiserver does.

function ns(name: string, resourceVersion: string, labels: Record<string, string> = {}) {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, uid: `u-${name}`, resourceVersion, labels }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } };
}

/** Serves `current()` as a NamespaceList in pages of the requested limit, continue tokens being offsets. */
function pagedList(request: Recorded, response: ServerResponse, items: readonly unknown[], resourceVersion: string): void {
  const limit = Number(request.query.get('limit') ?? items.length);
  const offset = Number(request.query.get('continue') ?? 0);
  const next = offset + limit < items.length ? String(offset + limit) : undefined;
  json(response, 200, { kind: 'NamespaceList', apiVersion: 'v1', metadata: { resourceVersion, ...(next ? { continue: next } : {}) }, items: items.slice(offset, offset + limit) });
}

function informerFor(api: StandIn, extra: { pageSize?: number; watchTimeoutSeconds?: () => number } = {}) {
  const client = new KubeClient({ server: new URL(api.url), verifyServer: true, authorization: async () => 'Bearer t', source: 'test' });
  const informer = new Informer({ client, path: '/api/v1/namespaces', kind: 'Namespace', keep: keepNamespaceMetadata, log: silentLog, initialBackoffMs: 20, maxBackoffMs: 80, ...extra });
  return { client, informer, stop: async () => (await informer.stop(), client.close()) };
}

const watchesOf = (api: StandIn) => api.requests.filter((r) => r.query.get('watch') === 'true');
const listsOf = (api: StandIn) => api.requests.filter((r) => r.query.get('watch') !== 'true');

test('pages the list, watches from its resourceVersion with bookmarks, applies events and resumes after a bookmark', async () => {
  const items = ['a', 'b', 'c', 'd', 'e'].map((name, i) => ns(name, String(10 + i)));
  const api = await startStandIn((request, response) => {
    if (request.query.get('watch') === 'true') return void response.writeHead(200, { 'content-type': 'application/json' }).flushHeaders();
    pagedList(request, response, items, '100');
  });
  const { informer, stop } = informerFor(api, { pageSize: 2, watchTimeoutSeconds: () => 42 });
  try {
    await informer.start();
    assert.equal(informer.synced, true);
    assert.equal(informer.store.size, 5);
    assert.deepEqual(listsOf(api).map((r) => [r.query.get('limit'), r.query.get('continue')]), [['2', null], ['2', '2'], ['2', '4']]);
    assert.equal(informer.store.get('a')?.spec, undefined, 'the cache keeps metadata only');
    assert.equal(api.requests[0]!.authorization, 'Bearer t');

    await until('the watch', () => api.watches.length === 1);
    const watch = watchesOf(api)[0]!;
    assert.equal(watch.query.get('resourceVersion'), '100');
    assert.equal(watch.query.get('allowWatchBookmarks'), 'true');
    assert.equal(watch.query.get('timeoutSeconds'), '42');

    sendEvents(api.watches[0]!, [
      { type: 'ADDED', object: ns('f', '101') },
      { type: 'MODIFIED', object: ns('a', '102', { team: 'x' }) },
      { type: 'DELETED', object: ns('b', '103') },
      { type: 'BOOKMARK', object: { kind: 'Namespace', apiVersion: 'v1', metadata: { resourceVersion: '150' } } },
    ]);
    await until('the events', () => informer.store.size === 5 && informer.store.get('f') !== undefined);
    assert.equal(informer.store.get('b'), undefined);
    assert.equal(informer.store.get('a')?.metadata?.labels?.team, 'x');
    // The API server ends each watch after timeoutSeconds; the next one starts at the bookmark.
    api.watches[0]!.end();
    await until('the second watch', () => api.watches.length === 2);
    assert.equal(watchesOf(api)[1]!.query.get('resourceVersion'), '150');
    assert.equal(listsOf(api).length, 3, 'no relist after a normal end');
  } finally {
    await stop();
    await api.close();
  }
});

test('410 Expired, in the stream or as the watch answer, lists again; the relist replaces the cache', async () => {
  let items = [ns('a', '1'), ns('b', '2')];
  let listVersion = '10';
  let watchAnswer: 'events' | 'http410' = 'events';
  const api = await startStandIn((request, response) => {
    if (request.query.get('watch') !== 'true') return pagedList(request, response, items, listVersion);
    if (watchAnswer === 'http410') return status(response, 410, 'Expired', 'too old resource version');
    response.writeHead(200, { 'content-type': 'application/json' }).flushHeaders();
  });
  const { informer, stop } = informerFor(api);
  try {
    await informer.start();
    await until('the watch', () => api.watches.length === 1);
    // Meanwhile "b" went away and "c" came, and the watch's version was compacted.
    items = [ns('a', '1'), ns('c', '20')];
    listVersion = '30';
    sendEvents(api.watches[0]!, [{ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'too old resource version: 10 (25)', reason: 'Expired', code: 410 } }]);
    await until('the relist', () => listsOf(api).length === 2 && informer.store.get('c') !== undefined);
    assert.equal(informer.store.get('b'), undefined, 'what the relist does not have is gone');
    await until('the watch after the relist', () => api.watches.length === 2);
    assert.equal(watchesOf(api)[1]!.query.get('resourceVersion'), '30');

    items = [ns('d', '40')];
    listVersion = '41';
    watchAnswer = 'http410';
    api.watches[1]!.end();
    await until('the relist after HTTP 410', () => informer.store.get('d') !== undefined);
    assert.equal(informer.store.size, 1);
    assert.equal(informer.synced, true, 'a relist never makes the cache unsynced');
  } finally {
    await stop();
    await api.close();
  }
});

test('a dropped connection resumes from the last resourceVersion seen; failures back off doubling to the cap', async () => {
  let failLists = 0;
  const api = await startStandIn((request, response) => {
    if (request.query.get('watch') !== 'true') {
      if (failLists > 0) {
        failLists--;
        return status(response, 500, 'InternalError', 'etcd unavailable');
      }
      return pagedList(request, response, [ns('a', '1')], '5');
    }
    response.writeHead(200, { 'content-type': 'application/json' }).flushHeaders();
  });
  const { informer, stop } = informerFor(api);
  try {
    failLists = 5;
    const started = Date.now();
    await informer.start();
    const lists = listsOf(api);
    assert.equal(lists.length, 6);
    // Retries after ~20, 40, 80, 80, 80 ms (±20%): doubling, then capped.
    assert.ok(Date.now() - started >= 0.8 * (20 + 40 + 80 + 80 + 80), `backed off (${Date.now() - started} ms)`);
    assert.ok(Date.now() - started < 2_000, 'capped at maxBackoffMs');

    await until('the watch', () => api.watches.length === 1);
    sendEvents(api.watches[0]!, [{ type: 'ADDED', object: ns('b', '7') }]);
    await until('the event', () => informer.store.get('b') !== undefined);
    api.watches[0]!.socket?.destroy();
    await until('the reconnect', () => api.watches.length === 2);
    assert.equal(watchesOf(api)[1]!.query.get('resourceVersion'), '7', 'resumes where it was, without a relist');
    assert.equal(listsOf(api).length, 6);
    assert.equal(informer.store.size, 2);
  } finally {
    await stop();
    await api.close();
  }
});

test('stop() ends the loop promptly; a first list still pending rejects instead of hanging', async () => {
  const api = await startStandIn((request, response) => {
    if (request.query.get('watch') !== 'true') return status(response, 503, 'ServiceUnavailable', 'starting');
  });
  const { informer, stop } = informerFor(api);
  const first = informer.start();
  await until('a list attempt', () => api.requests.length >= 1);
  const t0 = Date.now();
  await stop();
  await assert.rejects(first, /stopped before its first list/);
  assert.ok(Date.now() - t0 < 500);
  await api.close();
});
