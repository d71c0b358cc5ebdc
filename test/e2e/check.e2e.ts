import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as https from 'node:https';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { stringify as toYaml } from 'yaml';
import { controllerConfigFromFlags, controllerFlagSpecs } from '../../src/controller/config.ts';
import { startController } from '../../src/controller/run.ts';
import { createWebhookCertificates } from '../../src/identity/ca.ts';
import type { CheckResult } from '../../src/check/types.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { parseFlags } from '../../src/util/flags.ts';
import { at, find, one, render, rendererSkipReason } from '../chart/render.ts';
import { silentLog } from '../helpers/admission.ts';
import { e2eKubeConfig, eventually, runId } from '../helpers/kube.ts';

// The chart against a real API server: install what it renders (webhook configurations pointed
// at a controller on this host through `url`), run injection and validation through them, then
// `weft check` on the result. Everything is prefixed chart-e2e- and removed afterwards. The shared
// cluster is locked by the caller, not here (a lock taken inside would deadlock against the usual
// wrapper): flock /tmp/k8s-e2e.lock env KUBECONFIG=... node --test test/e2e/check.e2e.ts

const kc = e2eKubeConfig();
const rendererSkip = rendererSkipReason();
const skip = typeof kc === 'string' ? kc : rendererSkip;
const weft = fileURLToPath(new URL('../../bin/weft.js', import.meta.url));

interface WebhookShape {
  clientConfig: { service?: { path: string }; url?: string; caBundle?: string };
  namespaceSelector: { matchExpressions: { key: string; operator: string; values: string[] }[] };
}

function runCheck(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [weft, 'check', ...args], { encoding: 'utf8', env: { ...process.env }, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function checkById(json: string): Record<string, CheckResult> {
  const report = JSON.parse(json) as { checks: CheckResult[] };
  return Object.fromEntries(report.checks.map((c) => [c.id, c]));
}

test('e2e: the rendered chart injects and validates through the real API server, and weft check reads the install', { skip, timeout: 600_000 }, async (t) => {
  const kube = kc as k8s.KubeConfig;
  const core = kube.makeApiClient(k8s.CoreV1Api);
  const apps = kube.makeApiClient(k8s.AppsV1Api);
  const admission = kube.makeApiClient(k8s.AdmissionregistrationV1Api);
  const custom = kube.makeApiClient(k8s.CustomObjectsApi);
  const objects = k8s.KubernetesObjectApi.makeApiClient(kube);

  // A crashed earlier run may have left webhook configurations behind; they are ours by prefix.
  for (const item of (await admission.listMutatingWebhookConfiguration()).items) {
    const name = item.metadata?.name ?? '';
    if (name.startsWith('chart-e2e-')) await admission.deleteMutatingWebhookConfiguration({ name }).catch(() => undefined);
  }
  for (const item of (await admission.listValidatingWebhookConfiguration()).items) {
    const name = item.metadata?.name ?? '';
    if (name.startsWith('chart-e2e-')) await admission.deleteValidatingWebhookConfiguration({ name }).catch(() => undefined);
  }

  const id = runId();
  const ns = { weft: `chart-e2e-${id}-weft`, app: `chart-e2e-${id}-app`, old: `chart-e2e-${id}-old`, optout: `chart-e2e-${id}-optout` };
  const dir = await mkdtemp(join(tmpdir(), 'weft-chart-e2e-'));
  t.after(() => rm(dir, { recursive: true, force: true }));

  // The serving certificate names the Service (what the chart expects) and 127.0.0.1 (what the
  // API server dials here); it is handed to the chart as an existing Secret.
  const certs = await createWebhookCertificates({ service: 'weft-webhook', namespace: ns.weft, ipAddresses: ['127.0.0.1'] });
  const valuesFile = join(dir, 'values.yaml');
  await writeFile(
    valuesFile,
    toYaml({
      webhookCerts: { mode: 'existing', existing: { secretName: 'e2e-webhook-tls', caBundle: certs.ca.certPem } },
      // Only this run's namespaces reach the webhooks, so other suites on the cluster never meet them.
      injector: { failurePolicy: 'Fail', namespaceSelectorExpressions: [{ key: 'chart-e2e', operator: 'In', values: [id] }] },
      proxy: { image: 'registry.example/weft-e2e', version: '9.9.9-e2e', logLevel: 'debug' },
      crds: { install: true },
    }),
  );
  const docs = render(['-n', ns.weft, '--kube-version', '1.20.2', '--skip-tests', '-f', valuesFile]);

  const cleanups: (() => Promise<unknown>)[] = [];
  t.after(async () => {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((error: unknown) => process.stderr.write(`# chart e2e cleanup: ${(error as Error).message}\n`));
    }
  });

  // Namespaces. Kubernetes 1.20 does not set kubernetes.io/metadata.name itself; the chart's
  // selectors rely on it, so it is set here as values.yaml tells 1.20 users to.
  const createNamespace = async (name: string, labels: Record<string, string> = {}, annotations: Record<string, string> = {}) => {
    await core.createNamespace({ body: { metadata: { name, labels: { 'kubernetes.io/metadata.name': name, 'chart-e2e': id, ...labels }, annotations } } });
    cleanups.push(() => core.deleteNamespace({ name }));
    await eventually(`default ServiceAccount in ${name}`, async () => (await core.readNamespacedServiceAccount({ name: 'default', namespace: name }).catch(() => undefined)) ?? undefined, 60_000);
  };
  const enabled = { 'linkerd.io/inject': 'enabled' };
  // The release namespace is annotated too: the chart must exclude it anyway.
  await createNamespace(ns.weft, {}, enabled);
  await createNamespace(ns.app, {}, enabled);
  await createNamespace(ns.old);
  await createNamespace(ns.optout, { 'config.linkerd.io/admission-webhooks': 'disabled' }, enabled);
  await core.createNamespacedSecret({ namespace: ns.weft, body: { metadata: { name: 'e2e-webhook-tls' }, type: 'kubernetes.io/tls', data: { 'tls.crt': Buffer.from(certs.serving.certPem).toString('base64'), 'tls.key': Buffer.from(certs.serving.keyPem).toString('base64') } } });

  // client-node serialises known kinds through its models, which name fields differently
  // (x_kubernetes_preserve_unknown_fields): plain API JSON must go through the deserialiser first
  // or such fields are silently dropped.
  const model = (o: KubeObject): k8s.KubernetesObject => k8s.loadYaml<k8s.KubernetesObject>(toYaml(o));
  // CRDs are shared by every suite on the cluster: create when missing, never delete.
  for (const crd of find(docs, 'CustomResourceDefinition')) {
    await objects.create(model(crd)).catch((error: unknown) => {
      if ((error as { code?: number }).code !== 409) throw error;
    });
  }
  const webhookKinds = new Set(['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration', 'CustomResourceDefinition']);
  for (const doc of docs) {
    const o = doc.object!;
    if (webhookKinds.has(o.kind ?? '')) continue;
    await objects.create(model(o));
    if (!o.metadata?.namespace) cleanups.push(() => objects.delete(model(o)));
  }

  // The controller, started from the Deployment's own command line with the files it mounts
  // written to disk: the ConfigMap's injector config, the issuer Secret, the trust roots.
  const files = {
    tlsCert: join(dir, 'tls.crt'),
    tlsKey: join(dir, 'tls.key'),
    config: join(dir, 'config.yaml'),
    issuerDir: join(dir, 'issuer'),
    trustRoots: join(dir, 'ca-bundle.crt'),
  };
  await writeFile(files.tlsCert, certs.serving.certPem);
  await writeFile(files.tlsKey, certs.serving.keyPem);
  await writeFile(files.config, (one(docs, 'ConfigMap', 'weft-config').data as Record<string, string>)['config.yaml']!);
  await writeFile(files.trustRoots, (one(docs, 'ConfigMap', 'weft-identity-trust-roots').data as Record<string, string>)['ca-bundle.crt']!);
  await mkdir(files.issuerDir);
  const issuerData = one(docs, 'Secret', 'weft-identity-issuer').data as Record<string, string>;
  for (const key of ['tls.crt', 'tls.key', 'ca.crt']) await writeFile(join(files.issuerDir, key), Buffer.from(issuerData[key]!, 'base64'));

  const [command, ...chartArgs] = at(one(docs, 'Deployment', 'weft-controller'), 'spec', 'template', 'spec', 'containers', 0, 'args') as string[];
  assert.equal(command, 'controller');
  const local: Record<string, string> = {
    address: '127.0.0.1',
    port: '0',
    'admin-port': '0',
    'tls-cert': files.tlsCert,
    'tls-key': files.tlsKey,
    'inject-config': files.config,
    'identity-issuer-dir': files.issuerDir,
    'identity-trust-anchors': files.trustRoots,
    'identity-port': '0',
    'drain-delay': '0s',
  };
  const args = chartArgs.map((arg) => {
    const name = /^--([^=]+)=/.exec(arg)?.[1];
    return name !== undefined && name in local ? `--${name}=${local[name]}` : arg;
  });
  args.push('--admin-address=127.0.0.1', '--identity-address=127.0.0.1', `--kubeconfig=${process.env.KUBECONFIG}`);
  const flags = parseFlags(controllerFlagSpecs, args, { WEFT_NAMESPACE: ns.weft }).flags;
  const controller = await startController(await controllerConfigFromFlags(flags, '0.1.0-e2e'), silentLog);
  t.after(() => controller.shutdown('e2e over'));
  await controller.clusterState.waitForSync();
  // Ready means the serving certificate, the cache and the identity issuer from the chart all load.
  await eventually('controller /readyz', async () => ((await fetch(`http://127.0.0.1:${controller.adminPort}/readyz`)).status === 200 ? true : undefined), 30_000);

  // The webhook configurations exactly as rendered, but dialling this host instead of the Service.
  for (const o of [...find(docs, 'MutatingWebhookConfiguration'), ...find(docs, 'ValidatingWebhookConfiguration')]) {
    const config = structuredClone(o) as KubeObject & { webhooks: WebhookShape[] };
    config.metadata!.name = `chart-e2e-${id}-${config.metadata!.name}`;
    for (const hook of config.webhooks) {
      const path = hook.clientConfig.service!.path;
      hook.clientConfig = { url: `https://127.0.0.1:${controller.admissionPort}${path}`, caBundle: hook.clientConfig.caBundle };
      if (config.kind === 'ValidatingWebhookConfiguration') hook.namespaceSelector.matchExpressions.push({ key: 'chart-e2e', operator: 'In', values: [id] });
    }
    await objects.create(model(config));
    cleanups.push(() => objects.delete(model(config)));
  }
  const mutatingName = `chart-e2e-${id}-weft-proxy-injector`;

  const pod = (name: string, labels: Record<string, string> = {}): k8s.V1Pod => ({
    metadata: { name, labels: { app: name, ...labels } },
    spec: { containers: [{ name: 'app', image: 'example/app:1' }] },
  });
  const containerNames = (p: k8s.V1Pod) => [...(p.spec?.initContainers ?? []), ...(p.spec?.containers ?? [])].map((c) => c.name);

  await t.test('a pod in an annotated namespace gets the proxy the chart values describe', async () => {
    // The webhook configuration may take a moment to be picked up by the API server.
    const created = await eventually('an injected pod', async () => {
      const p = await core.createNamespacedPod({ namespace: ns.app, body: pod(`web-${Math.random().toString(36).slice(2, 7)}`) });
      if (containerNames(p).includes('weft-proxy')) return p;
      await core.deleteNamespacedPod({ name: p.metadata!.name!, namespace: ns.app });
      return undefined;
    }, 30_000);
    const proxy = created.spec?.containers.find((c) => c.name === 'weft-proxy') ?? created.spec?.initContainers?.find((c) => c.name === 'weft-proxy');
    assert.equal(proxy?.image, 'registry.example/weft-e2e:9.9.9-e2e');
  });

  await t.test("weft's own pods, the release namespace and opted-out namespaces are never sent to the injector", async () => {
    const own = await core.createNamespacedPod({ namespace: ns.app, body: pod('own', { 'app.kubernetes.io/part-of': 'weft' }) });
    assert.ok(!containerNames(own).includes('weft-proxy'), 'objectSelector excludes weft pods');
    const release = await core.createNamespacedPod({ namespace: ns.weft, body: pod('in-release-ns') });
    assert.ok(!containerNames(release).includes('weft-proxy'), 'namespaceSelector excludes the release namespace');
    const optedOut = await core.createNamespacedPod({ namespace: ns.optout, body: pod('opted-out') });
    assert.ok(!containerNames(optedOut).includes('weft-proxy'), 'namespaceSelector excludes config.linkerd.io/admission-webhooks=disabled');
  });

  await t.test('the validating webhook refuses a broken ServiceProfile and admits a good one', async () => {
    const profile = (name: string, timeout: string) => ({
      apiVersion: 'linkerd.io/v1alpha2',
      kind: 'ServiceProfile',
      metadata: { name, namespace: ns.app },
      spec: { routes: [{ name: 'GET /', condition: { method: 'GET', pathRegex: '/' }, timeout }] },
    });
    await eventually('ServiceProfile CRD served', async () => (await custom.listNamespacedCustomObject({ group: 'linkerd.io', version: 'v1alpha2', namespace: ns.app, plural: 'serviceprofiles' }).catch(() => undefined)) ?? undefined, 30_000);
    const name = `web.${ns.app}.svc.cluster.local`;
    const target = { group: 'linkerd.io', version: 'v1alpha2', namespace: ns.app, plural: 'serviceprofiles' };
    // A just-created webhook configuration reaches the API server's admission chain a moment later.
    const refusal = await eventually('the broken ServiceProfile to be refused', async () => {
      try {
        await custom.createNamespacedCustomObject({ ...target, body: profile(name, 'ten seconds') });
      } catch (error) {
        return String((error as { body?: unknown }).body ?? error);
      }
      await custom.deleteNamespacedCustomObject({ ...target, name });
      return undefined;
    }, 30_000);
    assert.match(refusal, /admission webhook \\?"validator\.weft\.io\\?" denied the request/);
    assert.match(refusal, /spec\.routes\[0\]\.timeout/);
    await custom.createNamespacedCustomObject({ ...target, body: profile(name, '10s') });
  });

  await t.test('weft check: Pending controller pods fail; once ready the install passes and unmeshed pods get their fix', async () => {
    // Pods that existed before their namespace was annotated: the case check exists for.
    await apps.createNamespacedDeployment({
      namespace: ns.old,
      body: { metadata: { name: 'web' }, spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'example/web:1' }] } } } },
    });
    await eventually('the old pod', async () => ((await core.listNamespacedPod({ namespace: ns.old })).items.length > 0 ? true : undefined), 60_000);
    await core.patchNamespace({ name: ns.old, body: { metadata: { annotations: enabled } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));

    const controllerPods = await eventually('2 controller pods', async () => {
      const list = await core.listNamespacedPod({ namespace: ns.weft, labelSelector: 'app.kubernetes.io/component=controller' });
      return list.items.length >= 2 ? list.items : undefined;
    }, 90_000);
    const selector = 'app.kubernetes.io/name=weft,app.kubernetes.io/instance=weft,app.kubernetes.io/component=controller';
    const pending = runCheck(['--namespace', ns.weft, '--selector', selector, '--output', 'json']);
    assert.equal(pending.code, 1, pending.stderr);
    assert.equal(checkById(pending.stdout)['controller-pods-ready']?.status, 'fail');

    // No kubelet here: play its part and mark the pods Running and Ready.
    for (const p of controllerPods) {
      const now = new Date();
      const current = await core.readNamespacedPod({ name: p.metadata!.name!, namespace: ns.weft });
      current.status = { phase: 'Running', startTime: now, conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }], containerStatuses: [{ name: 'controller', image: 'x', imageID: '', ready: true, restartCount: 0, state: { running: { startedAt: now } } }] };
      await core.replaceNamespacedPodStatus({ name: p.metadata!.name!, namespace: ns.weft, body: current });
    }

    const healthy = runCheck(['--namespace', ns.weft, '--selector', selector, '--output', 'json']);
    const results = checkById(healthy.stdout);
    for (const id of ['kubernetes-api-reachable', 'kubernetes-version', 'controller-pods-ready', 'mutating-webhook-registered', 'validating-webhook-registered', 'webhook-ca-bundle', 'webhook-certificate-validity', 'issuer-certificate-validity', 'trust-anchor-validity', 'issuer-signed-by-trust-anchor', 'injector-config-valid', 'namespaces-annotated']) {
      assert.equal(results[id]?.status, 'pass', `${id}: ${results[id]?.message}`);
    }
    assert.match(results['controller-pods-ready']!.message, /2\/2 ready/);
    assert.match(results['injector-config-valid']!.message, /registry\.example\/weft-e2e:9\.9\.9-e2e \(log level debug\)/);
    assert.match(results['namespaces-annotated']!.message, new RegExp(ns.app));
    const proxies = results['pods-have-proxy']!;
    assert.equal(proxies.status, 'warn');
    assert.match(proxies.message, new RegExp(`${ns.old}/web-`));
    assert.ok(proxies.hint?.split('\n').includes(`kubectl rollout restart --namespace ${ns.old} deployment/web`), proxies.hint);
    assert.doesNotMatch(proxies.message, new RegExp(`${ns.optout}|${ns.app}/own`), 'opted-out pods are not reported');
    assert.equal(healthy.code, 0, healthy.stdout);

    const text = runCheck(['--namespace', ns.weft, '--selector', selector]);
    assert.match(text.stdout, /√ controller pods are ready/);
    assert.match(text.stdout, /‼ pods in injected namespaces have the proxy \[warn\]/);

    // The `helm test` pod runs as the chart's weft-check ServiceAccount: its RBAC must be enough
    // for the same verdicts (a 403 anywhere would turn a check into a failure).
    const request = await core.createNamespacedServiceAccountToken({ name: 'weft-check', namespace: ns.weft, body: { spec: { audiences: [], expirationSeconds: 600 } } });
    const token = request.status?.token ?? '';
    assert.ok(token, 'TokenRequest returned a token');
    {
      const cluster = kube.getCurrentCluster()!;
      const saConfig = join(dir, 'check-sa.kubeconfig');
      await writeFile(
        saConfig,
        toYaml({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'c', cluster: { server: cluster.server, ...(cluster.caData ? { 'certificate-authority-data': cluster.caData } : {}), ...(cluster.caFile ? { 'certificate-authority': cluster.caFile } : {}), ...(cluster.skipTLSVerify ? { 'insecure-skip-tls-verify': true } : {}) } }],
          users: [{ name: 'weft-check', user: { token } }],
          contexts: [{ name: 'c', context: { cluster: 'c', user: 'weft-check' } }],
          'current-context': 'c',
        }),
      );
      const asTestPod = runCheck(['--namespace', ns.weft, '--selector', selector, '--output', 'json', '--kubeconfig', saConfig]);
      const seen = checkById(asTestPod.stdout);
      for (const [id, result] of Object.entries(seen)) {
        assert.doesNotMatch(result.message, /HTTP 403/, `${id} is forbidden to the weft-check ServiceAccount`);
        assert.equal(result.status, results[id]?.status, `${id}: ${result.message}`);
      }
      assert.equal(asTestPod.code, 0, asTestPod.stdout);
    }

    // A caBundle that no longer matches the serving certificate is a failure.
    const other = await createWebhookCertificates({ service: 'weft-webhook', namespace: ns.weft });
    const mutating = await admission.readMutatingWebhookConfiguration({ name: mutatingName });
    mutating.webhooks![0]!.clientConfig.caBundle = other.caBundle;
    await admission.replaceMutatingWebhookConfiguration({ name: mutatingName, body: mutating });
    const broken = runCheck(['--namespace', ns.weft, '--selector', selector, '--output', 'json']);
    assert.equal(broken.code, 1);
    const ca = checkById(broken.stdout)['webhook-ca-bundle']!;
    assert.equal(ca.status, 'fail');
    assert.match(ca.message, new RegExp(`${mutatingName}/proxy-injector\\.weft\\.io: caBundle .* did not sign the serving certificate`));
  });
});

/** POSTs raw API JSON (with ?dryRun=All unless told otherwise): no client-side model in between to drop fields. */
async function dryRunCreate(kube: k8s.KubeConfig, object: KubeObject, dryRun = true): Promise<{ status: number; body: Record<string, unknown> }> {
  const [group, version] = object.apiVersion!.includes('/') ? object.apiVersion!.split('/') : ['', object.apiVersion!];
  const plural = `${object.kind!.toLowerCase()}s`;
  const ns = object.metadata?.namespace;
  const path = `${group ? `/apis/${group}/${version}` : `/api/${version}`}${ns ? `/namespaces/${ns}` : ''}/${plural}${dryRun ? '?dryRun=All' : ''}`;
  const url = new URL(path, kube.getCurrentCluster()!.server);
  const options: https.RequestOptions = { method: 'POST', headers: { 'content-type': 'application/json' } };
  await kube.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const req = https.request(url, options, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || '{}') as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(object));
  });
}

/** Paths of `sent` that are missing or different in `got` (the API server silently drops unknown fields). */
function lostFields(sent: unknown, got: unknown, path = ''): string[] {
  if (Array.isArray(sent)) {
    if (!Array.isArray(got)) return [path];
    return sent.flatMap((item, i) => lostFields(item, got[i], `${path}[${i}]`));
  }
  if (sent !== null && typeof sent === 'object') {
    if (got === null || typeof got !== 'object') return [path];
    return Object.entries(sent).flatMap(([k, v]) => lostFields(v, (got as Record<string, unknown>)[k], path ? `${path}.${k}` : k));
  }
  // Quantities and ints may come back normalised ("1" vs 1); compare as text.
  return String(sent) === String(got) ? [] : [path];
}

test('e2e: every object the chart renders, in every mode, passes the real API server (dry run) with no field dropped', { skip, timeout: 300_000 }, async (t) => {
  const kube = kc as k8s.KubeConfig;
  const core = kube.makeApiClient(k8s.CoreV1Api);
  const namespace = `chart-e2e-${runId()}-dry`;
  await core.createNamespace({ body: { metadata: { name: namespace, labels: { 'kubernetes.io/metadata.name': namespace } } } });
  t.after(() => core.deleteNamespace({ name: namespace }).catch(() => undefined));
  const dir = await mkdtemp(join(tmpdir(), 'weft-chart-dry-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const pem = (await createWebhookCertificates({ service: 'weft-webhook', namespace })).ca.certPem;
  const modes: Record<string, unknown> = {
    defaults: {},
    existing: { webhookCerts: { mode: 'existing', existing: { secretName: 'w', caBundle: pem } }, identity: { trustAnchor: { pem }, issuer: { mode: 'existing', existing: { secretName: 'i' } } } },
    // cert-manager's own kinds are left out below: this cluster has no cert-manager CRDs.
    'cert-manager': { webhookCerts: { mode: 'cert-manager' }, identity: { trustAnchor: { pem }, issuer: { mode: 'cert-manager', certManager: { issuerRef: { name: 'ta' } } } } },
    tuned: { controller: { replicas: 3, extraArgs: ['--log-level=debug'], tolerations: [{ operator: 'Exists' }], podAnnotations: { a: 'b' } }, injector: { failurePolicy: 'Fail', reinvocationPolicy: 'IfNeeded' }, crds: { install: true }, imagePullSecrets: ['regcred'] },
  };
  for (const [mode, values] of Object.entries(modes)) {
    const file = join(dir, `${mode}.yaml`);
    await writeFile(file, toYaml(values));
    const docs = render(['-n', namespace, '--kube-version', '1.20.2', '-f', file]);
    // A dry-run Pod still needs its ServiceAccount (and, before 1.24, its token Secret) to exist,
    // so the chart's ServiceAccounts are created for real (once; the namespace goes at the end).
    for (const sa of find(docs, 'ServiceAccount')) {
      const name = sa.metadata!.name!;
      const { status, body } = await dryRunCreate(kube, sa, false);
      if (status === 409) continue;
      assert.ok(status >= 200 && status < 300, `${mode}: ServiceAccount/${name} refused (${status}): ${String(body.message)}`);
      assert.deepEqual(lostFields(sa, body), [], `${mode}: ServiceAccount/${name}: fields dropped`);
      await eventually(`token of ${name}`, async () => ((await core.readNamespacedServiceAccount({ name, namespace })).secrets?.length ? true : undefined), 30_000).catch(() => undefined);
    }
    for (const doc of docs) {
      const o = doc.object!;
      if (o.apiVersion?.startsWith('cert-manager.io/') || o.kind === 'ServiceAccount') continue;
      const { status, body } = await dryRunCreate(kube, o);
      const what = `${mode}: ${o.kind}/${o.metadata?.name}`;
      // CRDs are cluster-wide and may exist already (another suite, or the first test here).
      if (o.kind === 'CustomResourceDefinition' && status === 409) continue;
      assert.ok(status >= 200 && status < 300, `${what} refused (${status}): ${String(body.message)}`);
      assert.deepEqual(lostFields(o, body), [], `${what}: the API server dropped or changed these fields`);
    }
  }
});
