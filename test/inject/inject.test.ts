import { test } from 'node:test';
import assert from 'node:assert/strict';
import { injectPod, ownerLabel } from '../../src/inject/inject.ts';
import { escapePointer } from '../../src/inject/patch.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { applyPatch, asPod, loadReview, testConfig } from '../helpers/admission.ts';
import { withApiServerDefaults } from './api-defaults.ts';
import { proxyConfigOf } from './proxy-env.ts';

const enabled = { 'linkerd.io/inject': 'enabled' };

function run(pod: KubeObject, namespaceAnnotations: Record<string, string> = enabled, version = { major: 1, minor: 30 }, namespace = 'demo') {
  const result = injectPod({ pod, namespace, namespaceAnnotations, config: testConfig(), serverVersion: version });
  // What the API server stores: the patched pod with its defaults filled in.
  return { ...result, patched: asPod(withApiServerDefaults(applyPatch(pod, result.patch))) };
}

function byName(list: Record<string, unknown>[] | undefined, name: string): Record<string, unknown> {
  const found = list?.find((item) => item.name === name);
  assert.ok(found, `expected ${name} in ${JSON.stringify(list?.map((item) => item.name))}`);
  return found;
}

test('a ReplicaSet pod with generateName gets init container, proxy, volumes, labels and annotations', () => {
  const pod = loadReview('replicaset-pod').request.object;
  const { decision, patched, warnings } = run(pod);
  assert.equal(decision.inject, true);
  assert.deepEqual(warnings, []);
  const spec = patched.spec;
  assert.deepEqual(spec.containers.map((c) => c.name), ['weft-proxy', 'web'], 'proxy-await puts the proxy first');
  assert.deepEqual(spec.initContainers?.map((c) => c.name), ['weft-init']);
  assert.deepEqual(spec.volumes?.map((v) => v.name), ['kube-api-access-x7k2p', 'weft-identity-end-entity', 'weft-identity-token', 'weft-proxy-init-xtables-lock']);

  const init = byName(spec.initContainers, 'weft-init') as { args: string[]; securityContext: { capabilities: { add: string[]; drop: string[] }; allowPrivilegeEscalation: boolean; privileged?: boolean; readOnlyRootFilesystem: boolean; runAsNonRoot: boolean; runAsUser: number; seccompProfile: { type: string } } };
  assert.deepEqual(init.args, ['proxy-init', '--incoming-proxy-port', '4143', '--outgoing-proxy-port', '4140', '--proxy-uid', '2102', '--inbound-ports-to-ignore', '4190,4191']);
  assert.deepEqual(init.securityContext.capabilities, { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] });
  assert.equal(init.securityContext.allowPrivilegeEscalation, false);
  assert.equal(init.securityContext.readOnlyRootFilesystem, true);
  assert.equal(init.securityContext.seccompProfile.type, 'RuntimeDefault');
  assert.equal(init.securityContext.runAsUser, 0, 'root for iptables even under a pod-level runAsUser');
  assert.equal(init.securityContext.runAsNonRoot, false, 'explicit, so a pod-level runAsNonRoot does not block it');

  const proxy = byName(spec.containers, 'weft-proxy') as Record<string, any>;
  assert.equal(proxy.image, 'ghcr.io/weft-mesh/weft:0.1.0-test');
  assert.deepEqual(proxy.args, ['proxy']);
  assert.deepEqual(proxy.ports, [
    { name: 'weft-proxy', containerPort: 4143, protocol: 'TCP' },
    { name: 'weft-admin', containerPort: 4191, protocol: 'TCP' },
  ]);
  assert.deepEqual(proxy.livenessProbe, { httpGet: { path: '/live', port: 4191, scheme: 'HTTP' }, initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 });
  assert.deepEqual(proxy.readinessProbe, { httpGet: { path: '/ready', port: 4191, scheme: 'HTTP' }, initialDelaySeconds: 1, periodSeconds: 5, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 });
  assert.equal(proxy.imagePullPolicy, 'IfNotPresent');
  assert.equal(proxy.terminationMessagePolicy, 'FallbackToLogsOnError');
  assert.equal(proxy.securityContext.privileged ?? false, false);
  assert.equal(init.securityContext.privileged ?? false, false);
  assert.equal(proxy.securityContext.allowPrivilegeEscalation, false);
  assert.equal(proxy.securityContext.runAsUser, 2102);
  assert.equal(proxy.securityContext.runAsNonRoot, true);
  assert.equal(proxy.securityContext.readOnlyRootFilesystem, true);
  assert.deepEqual(proxy.securityContext.capabilities, { drop: ['ALL'] });
  assert.deepEqual(proxy.lifecycle.postStart.exec.command, ['weft', 'await', '--url=http://127.0.0.1:4191/ready', '--timeout=2m']);
  const env = Object.fromEntries((proxy.env as { name: string; value?: string; valueFrom?: { fieldRef: { fieldPath: string } } }[]).map((e) => [e.name, e.value ?? `field:${e.valueFrom?.fieldRef.fieldPath}`]));
  assert.equal(env.WEFT_POD_NAME, 'field:metadata.name');
  assert.equal(env.WEFT_POD_NAMESPACE, 'field:metadata.namespace');
  assert.equal(env.WEFT_POD_IP, 'field:status.podIP');
  assert.equal(env.WEFT_SERVICE_ACCOUNT, 'field:spec.serviceAccountName');
  assert.match(env.WEFT_TRUST_ANCHORS_PEM!, /BEGIN CERTIFICATE/);
  assert.deepEqual(proxy.resources, { requests: { cpu: '100m', memory: '20Mi' }, limits: { memory: '250Mi' } });

  const token = byName(spec.volumes, 'weft-identity-token') as { projected: { sources: { serviceAccountToken: { audience: string } }[] } };
  assert.equal(token.projected.sources[0]!.serviceAccountToken.audience, 'identity.l5d.io');
  assert.deepEqual(byName(spec.volumes, 'weft-identity-end-entity'), { name: 'weft-identity-end-entity', emptyDir: { medium: 'Memory' } });

  assert.equal(patched.metadata.annotations?.['linkerd.io/proxy-version'], '0.1.0-test');
  assert.equal(patched.metadata.annotations?.['kubectl.kubernetes.io/default-container'], 'web');
  assert.equal(patched.metadata.labels?.['linkerd.io/control-plane-ns'], 'weft');
  assert.equal(patched.metadata.labels?.['linkerd.io/workload-ns'], 'demo');
  assert.equal(patched.metadata.labels?.['linkerd.io/proxy-deployment'], 'web');
  assert.equal(patched.metadata.labels?.app, 'web', 'existing labels are kept');
});

test('the proxy started from the injected environment gets the settings the pod was injected with', () => {
  const pod = loadReview('replicaset-pod').request.object;
  const { patched } = run(pod);
  const proxy = byName(patched.spec.containers, 'weft-proxy');
  const config = proxyConfigOf(proxy, { 'metadata.name': 'web-5d8f9c7b6-x2x9q', 'metadata.namespace': 'demo', 'status.podIP': '10.0.0.7', 'spec.serviceAccountName': 'web' });
  assert.equal(config.inboundPort, 4143);
  assert.equal(config.outboundPort, 4140);
  assert.equal(config.adminPort, 4191);
  assert.equal(config.logLevel, 'info');
  assert.equal(config.trustDomain, 'cluster.local');
  assert.equal(config.controllerNamespace, 'weft');
  assert.equal(config.defaultInboundPolicy, 'all-unauthenticated');
  assert.deepEqual(config.pod, { name: 'web-5d8f9c7b6-x2x9q', namespace: 'demo', ip: '10.0.0.7', serviceAccount: 'web' });
  assert.ok(config.identity.kind === 'service');
  assert.equal(config.identity.url, 'https://weft-identity.weft.svc.cluster.local:8080');
  assert.equal(config.identity.localName, 'web.demo.serviceaccount.identity.weft.cluster.local');
  // The token and identity paths the proxy reads are where the pod mounts them.
  const mounts = Object.fromEntries((proxy.volumeMounts as { name: string; mountPath: string }[]).map((m) => [m.name, m.mountPath]));
  assert.equal(config.identity.tokenFile, `${mounts['weft-identity-token']}/weft-identity-token`);
  assert.equal(config.identity.identityDir, mounts['weft-identity-end-entity']);
  const volume = byName(patched.spec.volumes, 'weft-identity-token') as { projected: { sources: { serviceAccountToken: { path: string } }[] } };
  assert.equal(volume.projected.sources[0]!.serviceAccountToken.path, 'weft-identity-token');

  // Settings that differ from the proxy's defaults are written out.
  const custom = testConfig();
  custom.controllerNamespace = 'mesh-system';
  custom.trustDomain = 'example.org';
  const p = structuredClone(pod);
  p.metadata!.annotations = { 'config.linkerd.io/proxy-log-level': 'debug', 'config.linkerd.io/proxy-admin-port': '4999', 'config.linkerd.io/default-inbound-policy': 'deny' };
  const result = injectPod({ pod: p, namespace: 'demo', namespaceAnnotations: enabled, config: custom, serverVersion: { major: 1, minor: 30 } });
  const customProxy = byName(asPod(applyPatch(p, result.patch)).spec.containers, 'weft-proxy');
  const customConfig = proxyConfigOf(customProxy, { 'metadata.namespace': 'demo', 'spec.serviceAccountName': 'web' });
  assert.equal(customConfig.logLevel, 'debug');
  assert.equal(customConfig.adminPort, 4999);
  assert.equal(customConfig.defaultInboundPolicy, 'deny');
  assert.equal(customConfig.controllerNamespace, 'mesh-system');
  assert.equal(customConfig.trustDomain, 'example.org');
  assert.equal(customConfig.identity.kind === 'service' && customConfig.identity.localName, 'web.demo.serviceaccount.identity.mesh-system.example.org');
});

test('imagePullPolicy is written only where the API server would default to another one', () => {
  const pod = loadReview('replicaset-pod').request.object;
  const policyOf = (annotations: Record<string, string>) => {
    const p = structuredClone(pod);
    p.metadata!.annotations = annotations;
    const { patch } = injectPod({ pod: p, namespace: 'demo', namespaceAnnotations: enabled, config: testConfig(), serverVersion: { major: 1, minor: 30 } });
    const raw = asPod(applyPatch(p, patch));
    const stored = asPod(withApiServerDefaults(applyPatch(p, patch)));
    return ['weft-init', 'weft-proxy'].map((name) => {
      const list = name === 'weft-init' ? 'initContainers' : 'containers';
      return [byName(raw.spec[list], name).imagePullPolicy, byName(stored.spec[list], name).imagePullPolicy];
    });
  };
  assert.deepEqual(policyOf({}), [[undefined, 'IfNotPresent'], [undefined, 'IfNotPresent']], 'a tagged image defaults to IfNotPresent');
  assert.deepEqual(policyOf({ 'config.linkerd.io/proxy-version': 'latest' }), [['IfNotPresent', 'IfNotPresent'], ['IfNotPresent', 'IfNotPresent']], '"latest" would default to Always');
  assert.deepEqual(policyOf({ 'config.linkerd.io/image-pull-policy': 'Never' }), [['Never', 'Never'], ['Never', 'Never']]);
});

test('the patch creates missing maps and arrays first and escapes "/" and "~" in keys', () => {
  const pod = loadReview('bare-pod').request.object;
  const { patch, patched } = run(pod);
  const paths = patch.map((op) => op.path);
  assert.ok(paths.includes('/metadata/labels'), 'labels map created (the pod had none)');
  assert.ok(paths.indexOf('/metadata/labels') < paths.indexOf('/metadata/labels/linkerd.io~1control-plane-ns'));
  assert.ok(paths.includes('/spec/initContainers'));
  assert.ok(paths.includes('/spec/volumes'));
  assert.ok(!paths.includes('/metadata/annotations'), 'existing annotations map is reused');
  assert.ok(patch.every((op) => op.op === 'add'), 'add-only');
  assert.equal(escapePointer('a/b~c'), 'a~1b~0c');
  assert.equal(patched.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'], '{}\n');
  assert.equal(patched.metadata.labels?.['linkerd.io/proxy-deployment'], undefined, 'a bare pod has no owner label');
});

test('init containers stay first, app sidecars keep their order, overrides and bad values warn', () => {
  const pod = loadReview('pod-with-init-and-sidecar').request.object;
  const { patched, warnings } = run(pod);
  assert.deepEqual(patched.spec.initContainers?.map((c) => c.name), ['migrate', 'weft-init'], 'the redirect is installed after the pod\'s own init containers');
  assert.deepEqual(patched.spec.containers.map((c) => c.name), ['weft-proxy', 'web', 'log-shipper']);
  const init = byName(patched.spec.initContainers, 'weft-init') as { args: string[] };
  assert.deepEqual(init.args.slice(-2), ['--outbound-ports-to-ignore', '5432']);
  const proxy = byName(patched.spec.containers, 'weft-proxy') as { resources: unknown };
  assert.deepEqual(proxy.resources, { requests: { cpu: '100m', memory: '20Mi' }, limits: { cpu: '1', memory: '250Mi' } });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /config\.linkerd\.io\/proxy-memory-request="not-a-quantity" on the pod is ignored: expected a Kubernetes quantity/);
  assert.deepEqual((byName(patched.spec.containers, 'log-shipper') as { ports: unknown }).ports, [{ name: 'metrics', containerPort: 2020, protocol: 'TCP' }]);
});

test('namespace config annotations apply when the pod has none; the pod wins when it has one', () => {
  const pod = loadReview('replicaset-pod').request.object;
  const ns = { ...enabled, 'config.linkerd.io/proxy-cpu-request': '250m', 'config.linkerd.io/skip-inbound-ports': '9000,9100-9200', 'config.linkerd.io/proxy-log-level': 'debug' };
  const fromNamespace = run(pod, ns).patched;
  const proxy = byName(fromNamespace.spec.containers, 'weft-proxy') as { resources: { requests: { cpu: string } }; env: { name: string; value?: string }[] };
  assert.equal(proxy.resources.requests.cpu, '250m');
  assert.equal(proxy.env.find((e) => e.name === 'WEFT_PROXY_LOG_LEVEL')?.value, 'debug');
  const init = byName(fromNamespace.spec.initContainers, 'weft-init') as { args: string[] };
  assert.equal(init.args[init.args.indexOf('--inbound-ports-to-ignore') + 1], '4190,4191,9000,9100-9200');

  const own = structuredClone(pod);
  own.metadata!.annotations = { 'config.linkerd.io/proxy-cpu-request': '50m', 'config.linkerd.io/proxy-uid': '3000' };
  const fromPod = run(own, ns).patched;
  const podProxy = byName(fromPod.spec.containers, 'weft-proxy') as { resources: { requests: { cpu: string } }; securityContext: { runAsUser: number } };
  assert.equal(podProxy.resources.requests.cpu, '50m');
  assert.equal(podProxy.securityContext.runAsUser, 3000);
  const podInit = byName(fromPod.spec.initContainers, 'weft-init') as { args: string[] };
  assert.equal(podInit.args[podInit.args.indexOf('--proxy-uid') + 1], '3000', 'proxy-init exempts the uid the proxy runs as');
});

test('every documented override is honoured and every invalid one is named in a warning', () => {
  const pod = loadReview('replicaset-pod').request.object;
  const good: Record<string, string> = {
    'config.linkerd.io/proxy-image': 'registry.local:5000/mesh/weft',
    'config.linkerd.io/proxy-version': 'v9.9.9',
    'config.linkerd.io/image-pull-policy': 'Always',
    'config.linkerd.io/proxy-cpu-limit': '2',
    'config.linkerd.io/proxy-memory-limit': '1Gi',
    'config.linkerd.io/opaque-ports': '3306,6379',
    'config.linkerd.io/skip-subnets': '10.96.0.0/12,fd00::/8',
    'config.linkerd.io/proxy-await': 'disabled',
    'config.linkerd.io/proxy-require-identity-inbound-ports': '8080',
  };
  const p = structuredClone(pod);
  p.metadata!.annotations = good;
  const { patched, warnings } = run(p);
  assert.deepEqual(warnings, []);
  const proxy = byName(patched.spec.containers, 'weft-proxy') as Record<string, any>;
  assert.equal(proxy.image, 'registry.local:5000/mesh/weft:v9.9.9');
  assert.equal(proxy.imagePullPolicy, 'Always');
  assert.deepEqual(proxy.resources.limits, { cpu: '2', memory: '1Gi' });
  assert.equal(proxy.lifecycle, undefined, 'proxy-await disabled: no postStart hook');
  assert.deepEqual(patched.spec.containers.map((c) => c.name), ['web', 'weft-proxy'], 'without await the proxy goes last');
  const env = Object.fromEntries((proxy.env as { name: string; value?: string }[]).map((e) => [e.name, e.value]));
  assert.equal(env.WEFT_OPAQUE_PORTS, '3306,6379');
  assert.equal(env.WEFT_REQUIRE_IDENTITY_INBOUND_PORTS, '8080');
  const init = byName(patched.spec.initContainers, 'weft-init') as { args: string[] };
  assert.equal(init.args[init.args.indexOf('--subnets-to-ignore') + 1], '10.96.0.0/12,fd00::/8');

  const bad: Record<string, string> = {
    'config.linkerd.io/proxy-image': 'UPPER CASE',
    'config.linkerd.io/proxy-version': '../etc',
    'config.linkerd.io/image-pull-policy': 'always',
    'config.linkerd.io/proxy-cpu-request': '1 core',
    'config.linkerd.io/proxy-cpu-limit': '-',
    'config.linkerd.io/proxy-memory-request': '12 MB',
    'config.linkerd.io/proxy-memory-limit': 'lots',
    'config.linkerd.io/proxy-log-level': 'chatty',
    'config.linkerd.io/skip-inbound-ports': '80,http',
    'config.linkerd.io/skip-outbound-ports': '0',
    'config.linkerd.io/skip-subnets': '10.0.0.0/33',
    'config.linkerd.io/opaque-ports': '70000',
    'config.linkerd.io/proxy-uid': 'root',
    'config.linkerd.io/proxy-await': 'yes',
    'config.linkerd.io/proxy-enable-native-sidecar': 'enabled',
  };
  const q = structuredClone(pod);
  q.metadata!.annotations = bad;
  const result = run(q);
  assert.equal(result.warnings.length, Object.keys(bad).length);
  for (const key of Object.keys(bad)) assert.ok(result.warnings.some((w) => w.startsWith(`annotation ${key}=`) && w.includes('expected')), `warning for ${key}`);
  const fallback = byName(result.patched.spec.containers, 'weft-proxy') as Record<string, any>;
  assert.equal(fallback.image, 'ghcr.io/weft-mesh/weft:0.1.0-test', 'invalid values fall back to the defaults');
  assert.equal(fallback.securityContext.runAsUser, 2102);
});

test('native sidecar: proxy becomes a restartable init container right after weft-init, only on 1.29+', () => {
  const pod = loadReview('pod-with-init-and-sidecar').request.object;
  const p = structuredClone(pod);
  p.metadata!.annotations = { 'config.linkerd.io/proxy-enable-native-sidecar': 'true' };
  const modern = run(p, enabled, { major: 1, minor: 29 });
  assert.deepEqual(modern.patched.spec.initContainers?.map((c) => c.name), ['weft-init', 'weft-proxy', 'migrate']);
  assert.deepEqual(modern.patched.spec.containers.map((c) => c.name), ['web', 'log-shipper']);
  const proxy = byName(modern.patched.spec.initContainers, 'weft-proxy') as Record<string, any>;
  assert.equal(proxy.restartPolicy, 'Always');
  assert.deepEqual(proxy.startupProbe, { httpGet: { path: '/ready', port: 4191, scheme: 'HTTP' }, periodSeconds: 1, failureThreshold: 120, timeoutSeconds: 1, successThreshold: 1 });
  assert.equal(proxy.lifecycle, undefined);

  const old = run(p, enabled, { major: 1, minor: 20 });
  assert.deepEqual(old.patched.spec.initContainers?.map((c) => c.name), ['migrate', 'weft-init']);
  assert.ok(old.patched.spec.containers.some((c) => c.name === 'weft-proxy'));
  assert.match(old.warnings.join('\n'), /native sidecar requested but the cluster's version \(1\.20\) does not support it/);
});

test('a pod that already carries the sidecar gets no patch: injecting twice is a no-op', () => {
  const pod = loadReview('replicaset-pod').request.object;
  const first = run(pod);
  const second = injectPod({ pod: first.patched as unknown as KubeObject, namespace: 'demo', namespaceAnnotations: enabled, config: testConfig(), serverVersion: { major: 1, minor: 30 } });
  assert.equal(second.decision.inject, false);
  assert.deepEqual(second.patch, []);
  assert.equal(!second.decision.inject && second.decision.reason, 'sidecar_already_exists');
});

test('ingress mode marks the proxy', () => {
  const pod = structuredClone(loadReview('replicaset-pod').request.object);
  pod.metadata!.annotations = { 'linkerd.io/inject': 'ingress' };
  const proxy = byName(run(pod, {}).patched.spec.containers, 'weft-proxy') as { env: { name: string; value?: string }[] };
  assert.equal(proxy.env.find((e) => e.name === 'WEFT_PROXY_INGRESS_MODE')?.value, 'true');
});

test('owner labels follow the controlling owner', () => {
  const owned = (kind: string, name: string, hash?: string): KubeObject => ({
    metadata: { labels: hash ? { 'pod-template-hash': hash } : {}, ownerReferences: [{ apiVersion: 'apps/v1', kind, name, controller: true }] },
  });
  assert.deepEqual(ownerLabel(owned('ReplicaSet', 'api-5d8f9c7b6', '5d8f9c7b6')), { 'linkerd.io/proxy-deployment': 'api' });
  assert.deepEqual(ownerLabel(owned('ReplicaSet', 'standalone-rs')), { 'linkerd.io/proxy-replicaset': 'standalone-rs' });
  assert.deepEqual(ownerLabel(owned('StatefulSet', 'db')), { 'linkerd.io/proxy-statefulset': 'db' });
  assert.deepEqual(ownerLabel(owned('DaemonSet', 'agent')), { 'linkerd.io/proxy-daemonset': 'agent' });
  assert.deepEqual(ownerLabel(owned('Job', 'backup-28391')), { 'linkerd.io/proxy-job': 'backup-28391' });
  assert.deepEqual(ownerLabel(owned('StatefulSet', 'x'.repeat(70))), {}, 'a name too long for a label value is left out');
  assert.deepEqual(ownerLabel({ metadata: {} }), {});
});
