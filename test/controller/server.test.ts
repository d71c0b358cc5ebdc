import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { pino } from 'pino';
import { buildAdmissionApp, ADMISSION_BODY_LIMIT } from '../../src/controller/server.ts';
import { createAdmissionMetrics } from '../../src/controller/metrics.ts';
import type { ClusterState } from '../../src/kube/cluster-state.ts';
import { applyPatch, asPod, decodePatch, loadReview, silentLog, testClusterState, testConfig } from '../helpers/admission.ts';

function app(options: { clusterState?: ClusterState; onError?: 'allow' | 'deny' } = {}) {
  const registry = new Registry();
  const clusterState = options.clusterState ?? testClusterState();
  const instance = buildAdmissionApp({
    log: silentLog,
    metrics: createAdmissionMetrics(registry),
    inject: { config: testConfig(), clusterState, onError: options.onError ?? 'allow' },
    validate: { clusterState, clusterDomain: 'cluster.local' },
  });
  return { instance, registry };
}

const post = (payload: unknown, url = '/inject', headers: Record<string, string> = { 'content-type': 'application/json' }) => ({
  method: 'POST' as const,
  url,
  headers,
  payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
});

test('/inject answers a v1 review with the uid echoed and a base64 JSONPatch that applies', async () => {
  const { instance, registry } = app();
  const review = loadReview('replicaset-pod');
  const response = await instance.inject(post(review));
  assert.equal(response.statusCode, 200);
  const body = response.json();
  assert.equal(body.apiVersion, 'admission.k8s.io/v1');
  assert.equal(body.kind, 'AdmissionReview');
  assert.equal(body.response.uid, review.request.uid);
  assert.equal(body.response.allowed, true);
  assert.equal(body.response.patchType, 'JSONPatch');
  const pod = asPod(applyPatch(review.request.object, decodePatch(body.response.patch)));
  assert.ok(pod.spec.containers.some((c) => c.name === 'weft-proxy'));
  const metrics = await registry.metrics();
  assert.match(metrics, /weft_admission_requests_total\{webhook="inject",kind="Pod",operation="CREATE",dry_run="false",result="injected"\} 1/);
  assert.match(metrics, /weft_inject_total\{result="injected",reason=""\} 1/);
  assert.match(metrics, /weft_admission_duration_seconds_bucket\{le="0.00025",webhook="inject"\}/);
  await instance.close();
});

test('/inject answers v1beta1 in v1beta1, dry runs alike', async () => {
  const { instance, registry } = app();
  const v1beta1 = (await instance.inject(post(loadReview('replicaset-pod-v1beta1')))).json();
  assert.equal(v1beta1.apiVersion, 'admission.k8s.io/v1beta1');
  assert.equal(v1beta1.response.patchType, 'JSONPatch');
  const dry = (await instance.inject(post(loadReview('replicaset-pod-dry-run')))).json();
  assert.equal(dry.response.patchType, 'JSONPatch');
  assert.match(await registry.metrics(), /dry_run="true",result="injected"/);
  await instance.close();
});

test('/inject leaves alone what it must not touch, with the reason in metrics', async () => {
  const { instance, registry } = app();
  for (const name of ['host-network-pod', 'linkerd-injected-pod', 'pod-update']) {
    const review = loadReview(name);
    const body = (await instance.inject(post(review))).json();
    assert.equal(body.response.uid, review.request.uid);
    assert.equal(body.response.allowed, true);
    assert.equal(body.response.patch, undefined, `${name} must not be patched`);
  }
  const plain = loadReview('replicaset-pod');
  plain.request.namespace = 'plain';
  assert.equal((await instance.inject(post(plain))).json().response.patch, undefined);
  const metrics = await registry.metrics();
  assert.match(metrics, /weft_inject_total\{result="skipped",reason="host_network_enabled"\} 1/);
  assert.match(metrics, /weft_inject_total\{result="skipped",reason="sidecar_already_exists"\} 1/);
  assert.match(metrics, /weft_inject_total\{result="skipped",reason="injection_enable_annotation_absent"\} 1/);
  assert.match(metrics, /operation="UPDATE",dry_run="false",result="skipped"/);
  await instance.close();
});

test('an internal error admits the pod without the proxy and says so, or denies with --on-error=deny', async () => {
  const broken: ClusterState = {
    synced: () => true,
    waitForSync: async () => {},
    getNamespace: async () => {
      throw new Error('namespace cache unavailable');
    },
    list: () => undefined,
    serverVersion: () => undefined,
    close: async () => {},
  };
  const allow = app({ clusterState: broken });
  const allowed = (await allow.instance.inject(post(loadReview('replicaset-pod')))).json();
  assert.equal(allowed.response.allowed, true);
  assert.equal(allowed.response.patch, undefined);
  assert.match(allowed.response.warnings[0], /could not inject the mesh proxy \(namespace cache unavailable\)/);
  assert.match(await allow.registry.metrics(), /weft_inject_total\{result="error",reason="internal_error"\} 1/);
  const deny = app({ clusterState: broken, onError: 'deny' });
  const denied = (await deny.instance.inject(post(loadReview('replicaset-pod')))).json();
  assert.equal(denied.response.allowed, false);
  assert.equal(denied.response.status.code, 500);
  await allow.instance.close();
  await deny.instance.close();
});

test('bad requests get a clear 4xx, never a crash', async () => {
  const { instance } = app();
  const cases: { request: ReturnType<typeof post>; status: number; message: RegExp }[] = [
    { request: post('{"apiVersion": '), status: 400, message: /JSON/i },
    { request: post({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE' } }), status: 400, message: /request\.uid/ },
    { request: post({ apiVersion: 'admission.k8s.io/v2', kind: 'AdmissionReview', request: {} }), status: 400, message: /apiVersion/ },
    { request: post({ apiVersion: 'admission.k8s.io/v1', kind: 'Pod' }), status: 400, message: /kind: expected "AdmissionReview"/ },
    { request: post({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'x', operation: 'CREATE', kind: 'Pod' } }), status: 400, message: /request\.kind/ },
    { request: post([1, 2, 3]), status: 400, message: /AdmissionReview JSON object/ },
    { request: post('null'), status: 400, message: /AdmissionReview/ },
    { request: post('{"__proto__": {"polluted": true}}'), status: 400, message: /./ },
    { request: post('apiVersion: x', '/inject', { 'content-type': 'application/yaml' }), status: 415, message: /content-type|media type/i },
    { request: post('{}', '/inject', {}), status: 415, message: /./ },
  ];
  for (const c of cases) {
    const response = await instance.inject(c.request);
    assert.equal(response.statusCode, c.status, `${c.request.payload.slice(0, 40)} -> ${response.body}`);
    assert.match(response.json().message, c.message);
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  const huge = await instance.inject(post(`{"pad":"${'x'.repeat(ADMISSION_BODY_LIMIT)}"}`));
  assert.equal(huge.statusCode, 413);
  assert.match(huge.json().message, /larger than 7340032 bytes/);
  const missing = await instance.inject({ method: 'GET', url: '/nope' });
  assert.equal(missing.statusCode, 404);
  const object = loadReview('replicaset-pod');
  (object.request as Record<string, unknown>).object = 'not a pod';
  assert.equal((await instance.inject(post(object))).statusCode, 400);
  await instance.close();
});

test('/validate refuses an invalid ServiceProfile with 422 Invalid and the field path, and allows other kinds', async () => {
  const { instance, registry } = app();
  const review = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'e5a1d2c3-4444-4444-8444-444444444444',
      kind: { group: 'linkerd.io', version: 'v1alpha2', kind: 'ServiceProfile' },
      resource: { group: 'linkerd.io', version: 'v1alpha2', resource: 'serviceprofiles' },
      name: 'web.demo.svc.cluster.local',
      namespace: 'demo',
      operation: 'CREATE',
      object: {
        apiVersion: 'linkerd.io/v1alpha2',
        kind: 'ServiceProfile',
        metadata: { name: 'web.demo.svc.cluster.local', namespace: 'demo' },
        spec: { routes: [{ name: 'get', condition: { method: 'GET', pathRegex: '/x' }, timeout: '10' }] },
      },
      dryRun: false,
    },
  };
  const body = (await instance.inject(post(review, '/validate'))).json();
  assert.equal(body.response.uid, review.request.uid);
  assert.equal(body.response.allowed, false);
  assert.equal(body.response.status.code, 422);
  assert.equal(body.response.status.reason, 'Invalid');
  assert.match(body.response.status.message, /spec\.routes\[0\]\.timeout/);
  assert.match(await registry.metrics(), /weft_validate_total\{kind="ServiceProfile",result="denied"\} 1/);

  const other = structuredClone(review);
  other.request.kind = { group: 'apps', version: 'v1', kind: 'Deployment' };
  (other.request as Record<string, unknown>).object = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' } };
  assert.equal((await instance.inject(post(other, '/validate'))).json().response.allowed, true);
  await instance.close();
});

test('every admission writes one JSON log line with uid, namespace, kind, name, decision and latency', async () => {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  const clusterState = testClusterState();
  const instance = buildAdmissionApp({
    log,
    metrics: createAdmissionMetrics(new Registry()),
    inject: { config: testConfig(), clusterState, onError: 'allow' },
    validate: { clusterState, clusterDomain: 'cluster.local' },
  });
  const injected = loadReview('replicaset-pod');
  assert.equal((await instance.inject(post(injected))).statusCode, 200);
  const dryRun = loadReview('replicaset-pod-dry-run');
  dryRun.request.namespace = 'plain';
  assert.equal((await instance.inject(post(dryRun))).statusCode, 200);
  const admissions = lines.filter((line) => line.msg === 'admission');
  assert.equal(admissions.length, 2);
  const [first, second] = admissions as [Record<string, unknown>, Record<string, unknown>];
  assert.equal(first.level, 30);
  assert.equal(first.uid, injected.request.uid);
  assert.equal(first.namespace, 'demo');
  assert.equal(first.kind, 'Pod');
  assert.equal(first.name, `${injected.request.object.metadata?.generateName}*`);
  assert.equal(first.operation, 'CREATE');
  assert.equal(first.decision, 'injected');
  assert.equal(typeof first.latencyMs, 'number');
  assert.equal(typeof first.reqId, 'string');
  assert.equal(first.dryRun, undefined, 'flags are written only when set');
  assert.equal(second.decision, 'skipped');
  assert.equal(second.reason, 'injection_enable_annotation_absent');
  assert.equal(second.dryRun, true);
});
