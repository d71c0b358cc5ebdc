import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { e2eKubeConfig, eventually, loopbackWebhook, runId, startE2EController } from '../helpers/kube.ts';

const kc = e2eKubeConfig();

test('e2e: pods that a Deployment creates in an annotated namespace come back injected; others do not', { skip: typeof kc === 'string' ? kc : false }, async (t) => {
  const kube = kc as k8s.KubeConfig;
  const core = kube.makeApiClient(k8s.CoreV1Api);
  const apps = kube.makeApiClient(k8s.AppsV1Api);
  const admission = kube.makeApiClient(k8s.AdmissionregistrationV1Api);
  const id = runId();
  const { controller, caBundle } = await startE2EController(t);

  const meshed = `inject-e2e-${id}`;
  const plain = `inject-e2e-plain-${id}`;
  const hook = `weft-inject-e2e-${id}`;
  for (const [name, annotations] of [[meshed, { 'linkerd.io/inject': 'enabled' }], [plain, {}]] as const) {
    await core.createNamespace({ body: { metadata: { name, labels: { 'weft-e2e': id }, annotations } } });
    t.after(() => core.deleteNamespace({ name }).catch(() => undefined));
  }
  await admission.createMutatingWebhookConfiguration({
    body: {
      metadata: { name: hook },
      webhooks: [
        loopbackWebhook({
          name: 'inject.weft.io',
          port: controller.admissionPort,
          path: '/inject',
          caBundle,
          id,
          rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
        }),
      ],
    },
  });
  t.after(() => admission.deleteMutatingWebhookConfiguration({ name: hook }).catch(() => undefined));

  const deployment = (namespace: string): k8s.V1Deployment => ({
    metadata: { name: 'web', namespace },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.27', ports: [{ name: 'http', containerPort: 8080 }] }] } },
    },
  });
  // The namespace cache may not have the new namespaces yet: the cache-miss GET must cover that.
  for (const namespace of [meshed, plain]) await apps.createNamespacedDeployment({ namespace, body: deployment(namespace) });

  const podsIn = (namespace: string) =>
    eventually(`2 pods in ${namespace}`, async () => {
      const list = await core.listNamespacedPod({ namespace });
      return list.items.length >= 2 ? list.items : undefined;
    }, 60_000);
  const injected = await podsIn(meshed);
  for (const pod of injected) {
    assert.match(pod.metadata?.name ?? '', /^web-[a-z0-9]+-[a-z0-9]+$/, 'pods are named by the ReplicaSet with generateName');
    assert.deepEqual(pod.spec?.containers.map((c) => c.name), ['weft-proxy', 'web']);
    assert.deepEqual(pod.spec?.initContainers?.map((c) => c.name), ['weft-init']);
    assert.equal(pod.metadata?.labels?.['linkerd.io/proxy-deployment'], 'web');
    assert.equal(pod.metadata?.labels?.['linkerd.io/workload-ns'], meshed);
    assert.equal(pod.metadata?.annotations?.['linkerd.io/proxy-version'], '0.1.0-e2e');
    const token = pod.spec?.volumes?.find((v) => v.name === 'weft-identity-token');
    assert.equal(token?.projected?.sources?.[0]?.serviceAccountToken?.audience, 'identity.l5d.io');
    const proxy = pod.spec?.containers[0];
    assert.equal(proxy?.securityContext?.runAsUser, 2102);
    assert.equal(proxy?.env?.find((e) => e.name === 'WEFT_POD_IP')?.valueFrom?.fieldRef?.fieldPath, 'status.podIP');
  }
  const untouched = await podsIn(plain);
  for (const pod of untouched) assert.deepEqual(pod.spec?.containers.map((c) => c.name), ['web']);

  // An invalid override reaches kubectl users as a warning, and the pod is still created.
  const warnings: string[] = [];
  const warned = await fetchWithWarnings(kube, meshed, warnings);
  assert.equal(warned, 201);
  assert.ok(warnings.some((w) => w.includes('config.linkerd.io/proxy-cpu-request')), `warnings: ${JSON.stringify(warnings)}`);

  const metrics = await (await fetch(`http://127.0.0.1:${controller.adminPort}/metrics`)).text();
  assert.match(metrics, /weft_inject_total\{result="injected",reason="",role="controller"\} [3-9]/);
  assert.match(metrics, /weft_inject_total\{result="skipped",reason="injection_enable_annotation_absent",role="controller"\} [2-9]/);
});

/** Creates a pod over raw HTTPS so the API server's Warning headers can be read. */
async function fetchWithWarnings(kube: k8s.KubeConfig, namespace: string, warnings: string[]): Promise<number> {
  const https = await import('node:https');
  const cluster = kube.getCurrentCluster()!;
  const options: import('node:https').RequestOptions = { method: 'POST', headers: { 'content-type': 'application/json' } };
  await kube.applyToHTTPSOptions(options);
  const url = new URL(`${cluster.server}/api/v1/namespaces/${namespace}/pods`);
  const body = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'warned', annotations: { 'config.linkerd.io/proxy-cpu-request': 'lots' } }, spec: { containers: [{ name: 'app', image: 'busybox' }] } });
  return new Promise((resolve, reject) => {
    const request = https.request(url, options, (response) => {
      const header = response.headers.warning;
      for (const value of Array.isArray(header) ? header : header ? [header] : []) warnings.push(value);
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('error', reject);
    request.end(body);
  });
}
