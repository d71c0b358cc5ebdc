import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyWatchEvent, keepNamespaceMetadata, keepWithoutManagedFields, ObjectStore, parseWatchEvent } from '../../src/kube/watch-cache.ts';
import type { KubeObject } from '../../src/kube/types.ts';

// A namespace as the API server sends it in a list or a watch event.
function namespace(name: string, resourceVersion: string, annotations: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, uid: `uid-${name}`, resourceVersion, labels: { 'kubernetes.io/metadata.name': name }, annotations, managedFields: [{ manager: 'kubectl', operation: 'Update' }] },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}

function pod(namespaceName: string, name: string, resourceVersion: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: namespaceName, resourceVersion, managedFields: [{ manager: 'kubelet' }] }, spec: { containers: [{ name: 'app' }] }, status: { podIP: '10.0.0.1' } };
}

test('namespaces keep only name, uid, resourceVersion, labels and annotations', () => {
  const kept = keepNamespaceMetadata(namespace('shop', '7', { 'linkerd.io/inject': 'enabled' }));
  assert.deepEqual(kept, {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'shop', uid: 'uid-shop', resourceVersion: '7', labels: { 'kubernetes.io/metadata.name': 'shop' }, annotations: { 'linkerd.io/inject': 'enabled' } },
  });
});

test('other kinds keep everything but managedFields', () => {
  const kept = keepWithoutManagedFields(pod('shop', 'web-1', '9'));
  assert.equal(kept.metadata?.managedFields, undefined);
  assert.deepEqual(kept.spec, { containers: [{ name: 'app' }] });
  assert.deepEqual(kept.status, { podIP: '10.0.0.1' });
  const plain: KubeObject = { metadata: { name: 'x' } };
  assert.equal(keepWithoutManagedFields(plain), plain, 'nothing to drop: the same object');
});

test('ADDED, MODIFIED and DELETED change the store and advance the resourceVersion', () => {
  const store = new ObjectStore(keepNamespaceMetadata);
  assert.deepEqual(applyWatchEvent(store, { type: 'ADDED', object: namespace('shop', '10') }), { next: 'continue', resourceVersion: '10' });
  assert.equal(store.size, 1);
  assert.deepEqual(store.get('shop')?.metadata?.annotations, {});
  applyWatchEvent(store, { type: 'MODIFIED', object: namespace('shop', '11', { 'linkerd.io/inject': 'disabled' }) });
  assert.equal(store.size, 1);
  assert.equal(store.get('shop')?.metadata?.annotations?.['linkerd.io/inject'], 'disabled');
  assert.equal(store.get('shop')?.spec, undefined, 'kept through keep()');
  assert.deepEqual(applyWatchEvent(store, { type: 'DELETED', object: namespace('shop', '12') }), { next: 'continue', resourceVersion: '12' });
  assert.equal(store.size, 0);
  assert.equal(store.get('shop'), undefined);
  // A delete of something never seen (the watch resumed after it went) is harmless.
  applyWatchEvent(store, { type: 'DELETED', object: namespace('gone', '13') });
  assert.equal(store.size, 0);
});

test('a BOOKMARK moves only the resourceVersion', () => {
  const store = new ObjectStore(keepNamespaceMetadata);
  store.replace([namespace('a', '1')]);
  const outcome = applyWatchEvent(store, parseWatchEvent({ type: 'BOOKMARK', object: { kind: 'Namespace', apiVersion: 'v1', metadata: { resourceVersion: '500', annotations: { 'k8s.io/initial-events-end': 'true' } } } }));
  assert.deepEqual(outcome, { next: 'continue', resourceVersion: '500' });
  assert.deepEqual(store.list().map((o) => o.metadata?.name), ['a']);
});

test('ERROR 410 (Expired, Gone) asks for a relist; other errors for a retry with the message', () => {
  const store = new ObjectStore(keepNamespaceMetadata);
  const expired = { type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'too old resource version: 1 (5)', reason: 'Expired', code: 410 } };
  assert.deepEqual(applyWatchEvent(store, parseWatchEvent(expired)), { next: 'relist' });
  assert.deepEqual(applyWatchEvent(store, parseWatchEvent({ type: 'ERROR', object: { kind: 'Status', reason: 'Gone' } })), { next: 'relist' });
  const other = applyWatchEvent(store, parseWatchEvent({ type: 'ERROR', object: { kind: 'Status', code: 500, reason: 'InternalError', message: 'etcd is sad' } }));
  assert.deepEqual(other, { next: 'retry', message: 'watch error 500 InternalError: etcd is sad' });
});

test('malformed watch lines are errors that say what is wrong', () => {
  assert.throws(() => parseWatchEvent('ADDED'), /not an object/);
  assert.throws(() => parseWatchEvent({ type: 'SYNC', object: {} }), /unknown type "SYNC"/);
  assert.throws(() => parseWatchEvent({ type: 'ADDED' }), /ADDED watch event has no object/);
});

test('the store lists by namespace, and a list handed out is not changed by later events', () => {
  const store = new ObjectStore(keepWithoutManagedFields);
  store.replace([pod('shop', 'a', '1'), pod('shop', 'b', '2'), pod('blog', 'c', '3')]);
  assert.equal(store.size, 3);
  const shop = store.list('shop');
  assert.deepEqual(shop.map((o) => o.metadata?.name), ['a', 'b']);
  assert.equal(store.list('shop'), shop, 'the same list until something changes');
  assert.deepEqual(store.list().map((o) => o.metadata?.name).sort(), ['a', 'b', 'c']);
  assert.deepEqual(store.list('none'), []);
  applyWatchEvent(store, { type: 'DELETED', object: pod('shop', 'a', '4') });
  assert.deepEqual(shop.map((o) => o.metadata?.name), ['a', 'b'], 'a reader holding a list keeps a consistent one');
  assert.deepEqual(store.list('shop').map((o) => o.metadata?.name), ['b']);
  assert.equal(store.get('c', 'blog')?.metadata?.name, 'c');
  // A relist replaces everything: what the list no longer has is gone.
  store.replace([pod('blog', 'c', '5')]);
  assert.deepEqual(store.list().map((o) => o.metadata?.name), ['c']);
  assert.equal(store.size, 1);
  assert.equal(store.upsert({ metadata: {} }), false, 'an object without a name is not stored');
});
