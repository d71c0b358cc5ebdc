import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import type { KubeObject } from '../../src/kube/types.ts';
import { makeCA, makeLeaf, type TestCert } from '../check/certs.ts';
import { at, find, objects, one, parseRendered, render, renderRaw, rendererSkipReason, type RenderedDoc } from './render.ts';
import { selectorMatches, type LabelSelector } from './selector.ts';

const skip = rendererSkipReason();
const NS = 'weft';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
const unb64 = (text: unknown): string => Buffer.from(String(text), 'base64').toString('utf8');

let tmp = '';
let webhookCA: TestCert;
let webhookLeaf: TestCert;
let trustAnchor: TestCert;

/** Writes values to a file and returns the `-f` arguments for it. */
function valuesFile(name: string, values: unknown): string[] {
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(file, toYaml(values));
  return ['-f', file];
}

/** The checks every render must pass, whatever the values. */
function assertWellFormed(docs: readonly RenderedDoc[], label: string): void {
  const seen = new Set<string>();
  for (const doc of docs) {
    assert.ok(doc.object, `${label}: ${doc.source} rendered an empty document`);
    const o = doc.object;
    assert.ok(o.apiVersion && o.kind && o.metadata?.name, `${label}: ${doc.source} lacks apiVersion, kind or name`);
    const key = `${o.apiVersion.split('/')[0]}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    assert.ok(!seen.has(key), `${label}: duplicate ${key}`);
    seen.add(key);
    assert.ok(o.metadata.name.length <= 63, `${label}: name too long: ${o.metadata.name}`);
    assert.equal(o.metadata.labels?.['app.kubernetes.io/managed-by'], 'Helm', `${label}: ${key} lacks the standard labels`);
    assert.equal(o.metadata.labels?.['app.kubernetes.io/instance'], 'weft', `${label}: ${key}`);
    assert.equal(o.metadata.labels?.['app.kubernetes.io/name'], 'weft', `${label}: ${key}`);
    assert.ok(o.metadata.labels?.['helm.sh/chart']?.startsWith('weft-'), `${label}: ${key}`);
    const clusterScoped = ['ClusterRole', 'ClusterRoleBinding', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration', 'CustomResourceDefinition'];
    if (clusterScoped.includes(o.kind)) assert.equal(o.metadata.namespace, undefined, `${label}: ${key} is cluster-scoped`);
    else assert.equal(o.metadata.namespace, NS, `${label}: ${key} must name the release namespace`);
    assert.doesNotMatch(doc.text, /<no value>|%!/, `${label}: ${doc.source} leaked a template artefact`);
  }
}

function webhooks(config: KubeObject): Record<string, unknown>[] {
  return (config.webhooks as Record<string, unknown>[] | undefined) ?? [];
}

function deploymentContainer(docs: readonly RenderedDoc[]): Record<string, unknown> {
  const deployment = one(docs, 'Deployment');
  return at(deployment, 'spec', 'template', 'spec', 'containers', 0) as Record<string, unknown>;
}

function volumeSource(docs: readonly RenderedDoc[], volume: string): Record<string, unknown> {
  const volumes = at(one(docs, 'Deployment'), 'spec', 'template', 'spec', 'volumes') as Record<string, unknown>[];
  const found = volumes.find((v) => v.name === volume);
  assert.ok(found, `volume ${volume} not mounted`);
  return found;
}

function sanNames(pem: string): string[] {
  const san = new X509Certificate(pem).subjectAltName ?? '';
  return san.split(', ').filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4));
}

/** The webhook's service must be the Service the chart creates, and the certificate must name it. */
function assertServiceAndSANs(docs: readonly RenderedDoc[], certNames: readonly string[]): void {
  for (const config of [...find(docs, 'MutatingWebhookConfiguration'), ...find(docs, 'ValidatingWebhookConfiguration')]) {
    for (const hook of webhooks(config)) {
      const service = at(hook, 'clientConfig', 'service') as { name: string; namespace: string; port: number };
      assert.equal(service.namespace, NS);
      const svc = one(docs, 'Service', service.name);
      const port = (at(svc, 'spec', 'ports') as { port: number; targetPort: string }[]).find((p) => p.port === service.port);
      assert.ok(port, `Service ${service.name} has no port ${service.port}`);
      const containerPorts = deploymentContainer(docs).ports as { name: string; containerPort: number }[];
      const target = containerPorts.find((p) => p.name === port.targetPort);
      assert.ok(target, `targetPort ${port.targetPort} is not a container port`);
      assert.ok(deploymentArgs(docs).includes(`--port=${target.containerPort}`), 'the Service targets the admission port');
      // The API server dials <service>.<namespace>.svc and checks that name.
      assert.ok(certNames.includes(`${service.name}.${service.namespace}.svc`), `certificate lacks ${service.name}.${service.namespace}.svc: ${certNames.join(', ')}`);
    }
  }
}

function deploymentArgs(docs: readonly RenderedDoc[]): string[] {
  return deploymentContainer(docs).args as string[];
}

function caBundles(docs: readonly RenderedDoc[]): string[] {
  return [...find(docs, 'MutatingWebhookConfiguration'), ...find(docs, 'ValidatingWebhookConfiguration')].flatMap((c) => webhooks(c).map((h) => at(h, 'clientConfig', 'caBundle') as string));
}

describe('weft chart', { skip }, () => {
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'weft-chart-'));
    webhookCA = await makeCA('webhook-test-ca');
    webhookLeaf = await makeLeaf(webhookCA, ['weft-webhook.weft.svc', 'weft-webhook']);
    trustAnchor = await makeCA('root.cluster.local');
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  describe('default values', () => {
    let docs: RenderedDoc[];
    before(() => {
      docs = render();
    });

    test('every document parses, none is empty or duplicated, all carry the standard labels', () => {
      assertWellFormed(docs, 'defaults');
    });

    test('renders exactly the expected kinds and names', () => {
      const names = objects(docs).map((o) => `${o.kind}/${o.metadata?.name}`).sort();
      assert.deepEqual(names, [
        'ClusterRole/weft-check-weft',
        'ClusterRole/weft-weft-controller',
        'ClusterRoleBinding/weft-check-weft',
        'ClusterRoleBinding/weft-weft-controller',
        'ConfigMap/weft-config',
        'ConfigMap/weft-identity-trust-roots',
        'Deployment/weft-controller',
        'MutatingWebhookConfiguration/weft-proxy-injector',
        'Pod/weft-check',
        'PodDisruptionBudget/weft-controller',
        'Role/weft-check',
        'RoleBinding/weft-check',
        'Secret/weft-identity-issuer',
        'Secret/weft-webhook-tls',
        'Service/weft-identity',
        'Service/weft-webhook',
        'ServiceAccount/weft-check',
        'ServiceAccount/weft-controller',
        'ValidatingWebhookConfiguration/weft-validator',
      ]);
    });

    test('a release named differently prefixes every name with it', () => {
      const other = renderRaw(['--name', 'mesh', '-n', NS]);
      assert.equal(other.status, 0, other.stderr);
      assert.match(other.stdout, /name: mesh-weft-controller/);
      assert.doesNotMatch(other.stdout, /name: weft-controller\b/);
    });

    test('long release names still give valid, distinct object names', () => {
      const release = 'a-very-long-release-name-that-goes-on-and-on-and-on';
      const out = renderRaw(['--name', release, '-n', NS]);
      assert.equal(out.status, 0, out.stderr);
      const names = objects(parseRendered(out.stdout)).map((o) => `${o.kind}/${o.metadata?.name}`);
      for (const entry of names) {
        const name = entry.split('/')[1]!;
        assert.ok(name.length <= 63, `${entry} is longer than 63`);
        assert.match(name, /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/, `${entry} is not a DNS name`);
      }
      assert.equal(new Set(names).size, names.length);
    });

    test('the ClusterRole grants only what the controller reads', () => {
      const role = one(docs, 'ClusterRole', 'weft-weft-controller');
      const rules = (role.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[]).map((r) => `${r.apiGroups.join(',')}|${r.resources.join(',')}|${r.verbs.join(',')}`);
      assert.deepEqual(rules.sort(), [
        'authentication.k8s.io|tokenreviews|create',
        'discovery.k8s.io|endpointslices|get,list,watch',
        'linkerd.io|serviceprofiles|get,list,watch',
        'networking.istio.io|virtualservices,destinationrules|get,list,watch',
        'security.istio.io|authorizationpolicies|get,list,watch',
        '|namespaces,pods,services|get,list,watch',
      ]);
      const binding = one(docs, 'ClusterRoleBinding', 'weft-weft-controller');
      assert.equal(at(binding, 'roleRef', 'name'), 'weft-weft-controller');
      assert.deepEqual(at(binding, 'subjects', 0), { kind: 'ServiceAccount', name: 'weft-controller', namespace: NS });
      assert.equal(at(one(docs, 'Deployment'), 'spec', 'template', 'spec', 'serviceAccountName'), 'weft-controller');
    });

    test('the Deployment: 2 replicas spread over nodes, a PDB, probes on the admin port, restricted security', () => {
      const deployment = one(docs, 'Deployment');
      assert.equal(at(deployment, 'spec', 'replicas'), 2);
      const pod = at(deployment, 'spec', 'template') as KubeObject;
      const selector = at(deployment, 'spec', 'selector', 'matchLabels') as Record<string, string>;
      assert.ok(selectorMatches({ matchLabels: selector }, pod.metadata?.labels ?? {}), 'the selector selects its own pods');
      const spread = at(pod, 'spec', 'topologySpreadConstraints') as { topologyKey: string; labelSelector: LabelSelector }[];
      assert.deepEqual(spread.map((s) => s.topologyKey), ['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
      for (const s of spread) assert.ok(selectorMatches(s.labelSelector, pod.metadata?.labels ?? {}));

      const pdb = one(docs, 'PodDisruptionBudget', 'weft-controller');
      assert.equal(pdb.apiVersion, 'policy/v1');
      assert.equal(at(pdb, 'spec', 'maxUnavailable'), 1);
      assert.deepEqual(at(pdb, 'spec', 'selector', 'matchLabels'), selector);

      const container = deploymentContainer(docs);
      const adminPort = (container.ports as { name: string; containerPort: number }[]).find((p) => p.name === 'admin');
      assert.equal(adminPort?.containerPort, 9995);
      assert.ok(deploymentArgs(docs).includes('--admin-port=9995'));
      for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
        assert.equal(at(container, probe, 'httpGet', 'port'), 'admin', probe);
      }
      assert.equal(at(container, 'livenessProbe', 'httpGet', 'path'), '/healthz');
      assert.equal(at(container, 'readinessProbe', 'httpGet', 'path'), '/readyz');
      // Pod Security "restricted": non-root, no escalation, no capabilities, a seccomp profile.
      assert.equal(at(pod, 'spec', 'securityContext', 'runAsNonRoot'), true);
      assert.equal(at(pod, 'spec', 'securityContext', 'seccompProfile', 'type'), 'RuntimeDefault');
      assert.equal(at(container, 'securityContext', 'allowPrivilegeEscalation'), false);
      assert.deepEqual(at(container, 'securityContext', 'capabilities', 'drop'), ['ALL']);
      assert.equal(at(container, 'securityContext', 'readOnlyRootFilesystem'), true);
      assert.ok(at(container, 'resources', 'requests', 'cpu'));
      assert.ok(at(container, 'resources', 'limits', 'memory'));
      assert.deepEqual(at(container, 'env', 0), { name: 'WEFT_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } });
    });

    test('the mutating webhook: pods CREATE, sideEffects None, v1 and v1beta1, timeout 10, Ignore, reinvocation from values', () => {
      const config = one(docs, 'MutatingWebhookConfiguration', 'weft-proxy-injector');
      const [hook, ...rest] = webhooks(config);
      assert.equal(rest.length, 0);
      assert.deepEqual(hook!.rules, [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }]);
      assert.equal(hook!.sideEffects, 'None');
      assert.deepEqual(hook!.admissionReviewVersions, ['v1', 'v1beta1']);
      assert.equal(hook!.timeoutSeconds, 10);
      assert.equal(hook!.failurePolicy, 'Ignore');
      assert.equal(hook!.reinvocationPolicy, 'Never');
      assert.equal(at(hook, 'clientConfig', 'service', 'path'), '/inject');
      assert.equal(at(hook, 'clientConfig', 'service', 'port'), 443);

      const tuned = render(['--set', 'injector.failurePolicy=Fail', '--set', 'injector.timeoutSeconds=5', '--set', 'injector.reinvocationPolicy=IfNeeded']);
      const tunedHook = webhooks(one(tuned, 'MutatingWebhookConfiguration'))[0]!;
      assert.equal(tunedHook.failurePolicy, 'Fail');
      assert.equal(tunedHook.timeoutSeconds, 5);
      assert.equal(tunedHook.reinvocationPolicy, 'IfNeeded');
    });

    test('the namespaceSelector excludes kube-system, kube-node-lease, the release namespace and opted-out namespaces', () => {
      const hook = webhooks(one(docs, 'MutatingWebhookConfiguration'))[0]!;
      const selector = hook.namespaceSelector as LabelSelector;
      // On the immutable name label, not on a label anyone could set.
      assert.ok(selector.matchExpressions?.some((e) => e.key === 'kubernetes.io/metadata.name' && e.operator === 'NotIn'));
      const ns = (name: string, labels: Record<string, string> = {}) => ({ 'kubernetes.io/metadata.name': name, ...labels });
      for (const excluded of ['kube-system', 'kube-node-lease', NS]) {
        assert.equal(selectorMatches(selector, ns(excluded)), false, `${excluded} must be excluded`);
      }
      assert.equal(selectorMatches(selector, ns('shop', { 'config.linkerd.io/admission-webhooks': 'disabled' })), false);
      assert.equal(selectorMatches(selector, ns('shop')), true);
      assert.equal(selectorMatches(selector, ns('kube-public')), true);

      const elsewhere = render(['-n', 'mesh-system']);
      const moved = webhooks(one(elsewhere, 'MutatingWebhookConfiguration'))[0]!.namespaceSelector as LabelSelector;
      assert.equal(selectorMatches(moved, ns('mesh-system')), false);
      assert.equal(selectorMatches(moved, ns(NS)), true);
    });

    test("the objectSelector excludes weft's own pods and nothing ordinary", () => {
      const hook = webhooks(one(docs, 'MutatingWebhookConfiguration'))[0]!;
      const selector = hook.objectSelector as LabelSelector;
      const controllerPod = at(one(docs, 'Deployment'), 'spec', 'template', 'metadata', 'labels') as Record<string, string>;
      assert.equal(selectorMatches(selector, controllerPod), false);
      assert.equal(selectorMatches(selector, one(docs, 'Pod', 'weft-check').metadata?.labels ?? {}), false);
      assert.equal(selectorMatches(selector, { app: 'shop', 'app.kubernetes.io/name': 'shop' }), true);
      assert.equal(selectorMatches(selector, { app: 'shop', 'config.linkerd.io/admission-webhooks': 'disabled' }), false);
    });

    test('the validating webhook: the three kinds on CREATE and UPDATE, failurePolicy Fail', () => {
      const hook = webhooks(one(docs, 'ValidatingWebhookConfiguration', 'weft-validator'))[0]!;
      const rules = hook.rules as { operations: string[]; apiGroups: string[]; resources: string[] }[];
      assert.deepEqual(rules.map((r) => `${r.apiGroups[0]}/${r.resources[0]}`), ['linkerd.io/serviceprofiles', 'networking.istio.io/virtualservices', 'security.istio.io/authorizationpolicies']);
      for (const rule of rules) assert.deepEqual(rule.operations, ['CREATE', 'UPDATE']);
      assert.equal(hook.failurePolicy, 'Fail');
      assert.equal(hook.sideEffects, 'None');
      assert.deepEqual(hook.admissionReviewVersions, ['v1', 'v1beta1']);
      assert.equal(at(hook, 'clientConfig', 'service', 'path'), '/validate');
      assert.equal(find(render(['--set', 'validator.enabled=false']), 'ValidatingWebhookConfiguration').length, 0);
    });

    test('generated certificates: the caBundle verifies the serving certificate, which names the webhook Service', () => {
      const secret = one(docs, 'Secret', 'weft-webhook-tls');
      assert.equal(secret.type, 'kubernetes.io/tls');
      const data = secret.data as Record<string, string>;
      const cert = new X509Certificate(unb64(data['tls.crt']));
      const bundles = caBundles(docs);
      assert.equal(bundles.length, 2);
      for (const bundle of bundles) {
        assert.equal(bundle, data['ca.crt'], 'caBundle is the CA in the Secret');
        const ca = new X509Certificate(unb64(bundle));
        assert.ok(ca.ca);
        assert.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey), 'the caBundle CA signed the serving certificate');
      }
      assertServiceAndSANs(docs, sanNames(unb64(data['tls.crt'])));
      assert.equal(at(volumeSource(docs, 'webhook-tls'), 'secret', 'secretName'), 'weft-webhook-tls');
      assert.ok(deploymentArgs(docs).includes('--tls-cert=/var/run/weft/tls/tls.crt'));
    });

    test('the checksum annotation follows the certificate, so new certificates roll the pods', () => {
      const annotations = at(one(docs, 'Deployment'), 'spec', 'template', 'metadata', 'annotations') as Record<string, string>;
      const data = one(docs, 'Secret', 'weft-webhook-tls').data as Record<string, string>;
      assert.equal(annotations['checksum/webhook-tls'], sha256(unb64(data['tls.crt'])));
      const issuer = one(docs, 'Secret', 'weft-identity-issuer').data as Record<string, string>;
      assert.equal(annotations['checksum/identity'], sha256(unb64(issuer['tls.crt'])));
      const config = (one(docs, 'ConfigMap', 'weft-config').data as Record<string, string>)['config.yaml']!;
      assert.equal(annotations['checksum/config'], sha256(config.replace(/\n$/, '')));
      // `helm template` cannot see the cluster, so every render makes a new certificate (the drift
      // values.yaml warns GitOps users about).
      const again = at(one(render(), 'Deployment'), 'spec', 'template', 'metadata', 'annotations') as Record<string, string>;
      assert.notEqual(again['checksum/webhook-tls'], annotations['checksum/webhook-tls']);
    });

    test('generated identity: one CA is trust anchor and issuer, and it reaches the trust-roots ConfigMap and the injector config', () => {
      const issuer = one(docs, 'Secret', 'weft-identity-issuer').data as Record<string, string>;
      const issuerPEM = unb64(issuer['tls.crt']);
      assert.ok(new X509Certificate(issuerPEM).ca, 'the issuer can sign');
      const roots = (one(docs, 'ConfigMap', 'weft-identity-trust-roots').data as Record<string, string>)['ca-bundle.crt']!;
      assert.equal(roots.trim(), issuerPEM.trim());
      assert.equal(at(volumeSource(docs, 'identity-issuer'), 'secret', 'secretName'), 'weft-identity-issuer');
      assert.equal(at(volumeSource(docs, 'trust-roots'), 'configMap', 'name'), 'weft-identity-trust-roots');
    });

    test('NOTES tell how to enable injection and how to check the install', () => {
      const out = renderRaw(['--name', 'weft', '-n', NS, '--notes']);
      assert.equal(out.status, 0, out.stderr);
      const notes = out.stdout.slice(out.stdout.indexOf('# Source: weft/templates/NOTES.txt'));
      assert.match(notes, /kubectl annotate namespace \S+ linkerd\.io\/inject=enabled/);
      assert.match(notes, /weft check --namespace weft/);
      assert.match(notes, /helm test weft/);
      assert.match(notes, /rollout restart/);
    });

    test('the helm test pod is a test hook running `weft check` on the release', () => {
      const pod = one(docs, 'Pod', 'weft-check');
      assert.equal(pod.metadata?.annotations?.['helm.sh/hook'], 'test');
      const args = at(pod, 'spec', 'containers', 0, 'args') as string[];
      assert.equal(args[0], 'check');
      assert.ok(args.includes(`--namespace=${NS}`));
      const selectorArg = args.find((a) => a.startsWith('--selector='))!.slice('--selector='.length);
      const controllerLabels = at(one(docs, 'Deployment'), 'spec', 'template', 'metadata', 'labels') as Record<string, string>;
      for (const pair of selectorArg.split(',')) {
        const [k, v] = pair.split('=');
        assert.equal(controllerLabels[k!], v, `the check's selector ${pair} selects the controller pods`);
      }
      const skipped = render(['--skip-tests']);
      assert.equal(find(skipped, 'Pod').length, 0);
    });
  });

  describe('certificate modes', () => {
    test('webhook certificates from cert-manager: a Certificate for the Service names and inject-ca-from on both webhooks', () => {
      const docs = render(['--set', 'webhookCerts.mode=cert-manager']);
      assertWellFormed(docs, 'cert-manager');
      assert.equal(find(docs, 'Secret', 'weft-webhook-tls').length, 0, 'cert-manager makes the Secret');
      const certificate = one(docs, 'Certificate', 'weft-webhook-tls');
      assert.equal(certificate.apiVersion, 'cert-manager.io/v1');
      assert.equal(at(certificate, 'spec', 'secretName'), 'weft-webhook-tls');
      assert.equal(at(volumeSource(docs, 'webhook-tls'), 'secret', 'secretName'), 'weft-webhook-tls');
      assert.deepEqual(at(certificate, 'spec', 'issuerRef'), { name: 'weft-selfsigned', kind: 'Issuer', group: 'cert-manager.io' });
      assert.deepEqual(at(one(docs, 'Issuer', 'weft-selfsigned'), 'spec'), { selfSigned: {} });
      assertServiceAndSANs(docs, at(certificate, 'spec', 'dnsNames') as string[]);
      for (const config of [one(docs, 'MutatingWebhookConfiguration'), one(docs, 'ValidatingWebhookConfiguration')]) {
        assert.equal(config.metadata?.annotations?.['cert-manager.io/inject-ca-from'], `${NS}/weft-webhook-tls`);
        for (const hook of webhooks(config)) assert.equal(at(hook, 'clientConfig', 'caBundle'), undefined, 'the CA injector fills caBundle');
      }

      const withIssuer = render(['--set', 'webhookCerts.mode=cert-manager', '--set', 'webhookCerts.certManager.issuerRef.name=corp-ca', '--set', 'webhookCerts.certManager.issuerRef.kind=ClusterIssuer']);
      assert.equal(find(withIssuer, 'Issuer').length, 0);
      assert.deepEqual(at(one(withIssuer, 'Certificate', 'weft-webhook-tls'), 'spec', 'issuerRef'), { name: 'corp-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' });
    });

    test('an existing webhook Secret: no Secret rendered, the given CA in caBundle, the Secret mounted', () => {
      const args = valuesFile('existing-webhook', { webhookCerts: { mode: 'existing', existing: { secretName: 'my-webhook-tls', caBundle: webhookCA.certPEM } } });
      const docs = render(args);
      assertWellFormed(docs, 'existing');
      assert.equal(find(docs, 'Secret', 'weft-webhook-tls').length, 0);
      assert.equal(find(docs, 'Certificate').length, 0);
      assert.equal(at(volumeSource(docs, 'webhook-tls'), 'secret', 'secretName'), 'my-webhook-tls');
      for (const bundle of caBundles(docs)) {
        assert.equal(unb64(bundle), webhookCA.certPEM);
        // A certificate made for the Service the chart names verifies against that bundle.
        const leaf = new X509Certificate(webhookLeaf.certPEM);
        assert.ok(leaf.verify(new X509Certificate(unb64(bundle)).publicKey));
      }
      assertServiceAndSANs(docs, sanNames(webhookLeaf.certPEM));
      const annotations = at(one(docs, 'Deployment'), 'spec', 'template', 'metadata', 'annotations') as Record<string, string>;
      const again = at(one(render(args), 'Deployment'), 'spec', 'template', 'metadata', 'annotations') as Record<string, string>;
      assert.equal(again['checksum/webhook-tls'], annotations['checksum/webhook-tls'], 'stable when nothing changed');
      const rotated = render(valuesFile('existing-webhook-2', { webhookCerts: { mode: 'existing', existing: { secretName: 'my-webhook-tls-2', caBundle: webhookCA.certPEM } } }));
      assert.notEqual((at(one(rotated, 'Deployment'), 'spec', 'template', 'metadata', 'annotations') as Record<string, string>)['checksum/webhook-tls'], annotations['checksum/webhook-tls']);
    });

    test('identity from cert-manager: an isCA Certificate under the given issuer, the trust anchor from values', () => {
      const args = valuesFile('cm-identity', { identity: { trustAnchor: { pem: trustAnchor.certPEM }, issuer: { mode: 'cert-manager', certManager: { issuerRef: { name: 'weft-trust-anchor' } } } } });
      const docs = render(args);
      assertWellFormed(docs, 'cm-identity');
      assert.equal(find(docs, 'Secret', 'weft-identity-issuer').length, 0);
      const certificate = one(docs, 'Certificate', 'weft-identity-issuer');
      assert.equal(at(certificate, 'spec', 'isCA'), true);
      assert.equal(at(certificate, 'spec', 'secretName'), 'weft-identity-issuer');
      assert.equal(at(certificate, 'spec', 'issuerRef', 'name'), 'weft-trust-anchor');
      assert.ok((at(certificate, 'spec', 'usages') as string[]).includes('cert sign'));
      const roots = (one(docs, 'ConfigMap', 'weft-identity-trust-roots').data as Record<string, string>)['ca-bundle.crt']!;
      assert.equal(roots.trim(), trustAnchor.certPEM.trim());
      const config = (one(docs, 'ConfigMap', 'weft-config').data as Record<string, string>)['config.yaml']!;
      assert.ok(config.includes(trustAnchor.certPEM.trim().split('\n')[1]!), 'the trust anchor reaches the injector config');

      const noIssuer = renderRaw(['--name', 'weft', '-n', NS, ...valuesFile('cm-no-issuer', { identity: { trustAnchor: { pem: trustAnchor.certPEM }, issuer: { mode: 'cert-manager' } } })]);
      assert.notEqual(noIssuer.status, 0);
      assert.match(noIssuer.stderr, /identity\.issuer\.certManager\.issuerRef\.name is required/);
    });

    test('a trust anchor PEM next to a generated issuer is refused: it would not be the one that signs', () => {
      const out = renderRaw(['--name', 'weft', '-n', NS, ...valuesFile('generate-with-anchor', { identity: { trustAnchor: { pem: trustAnchor.certPEM } } })]);
      assert.notEqual(out.status, 0);
      assert.match(out.stderr, /identity\.trustAnchor\.pem must be empty when identity\.issuer\.mode is generate/);
    });

    test('an existing identity issuer Secret, with the trust anchor from values', () => {
      const docs = render(valuesFile('existing-identity', { identity: { trustAnchor: { pem: trustAnchor.certPEM }, issuer: { mode: 'existing', existing: { secretName: 'corp-issuer' } } } }));
      assertWellFormed(docs, 'existing-identity');
      assert.equal(find(docs, 'Secret', 'weft-identity-issuer').length, 0);
      assert.equal(at(volumeSource(docs, 'identity-issuer'), 'secret', 'secretName'), 'corp-issuer');
      const missing = renderRaw(['--name', 'weft', '-n', NS, '--set', 'identity.issuer.mode=existing', '--set', 'identity.issuer.existing.secretName=corp-issuer']);
      assert.notEqual(missing.status, 0, 'a trust anchor is required when the chart does not make one');
    });

    test('every combination of modes, CRDs, one replica and Kubernetes 1.20 renders well-formed', () => {
      const combos: [string, string[]][] = [
        ['all cert-manager', valuesFile('all-cm', { webhookCerts: { mode: 'cert-manager' }, identity: { trustAnchor: { pem: trustAnchor.certPEM }, issuer: { mode: 'cert-manager', certManager: { issuerRef: { name: 'ta', kind: 'ClusterIssuer' } } } } })],
        ['all existing', valuesFile('all-existing', { webhookCerts: { mode: 'existing', existing: { secretName: 'w', caBundle: webhookCA.certPEM } }, identity: { trustAnchor: { pem: trustAnchor.certPEM }, issuer: { mode: 'existing', existing: { secretName: 'i' } } } })],
        ['crds', ['--set', 'crds.install=true']],
        ['one replica', ['--set', 'controller.replicas=1', '--set', 'controller.topologySpread.enabled=false']],
        ['kube 1.20', ['--kube-version', '1.20.2']],
        ['no tests', ['--set', 'tests.enabled=false', '--set', 'validator.enabled=false']],
        ['extras', valuesFile('extras', { commonLabels: { team: 'mesh' }, imagePullSecrets: ['regcred'], controller: { podAnnotations: { a: 'b' }, extraArgs: ['--log-level=debug'], tolerations: [{ operator: 'Exists' }], priorityClassName: 'system-cluster-critical' } })],
      ];
      for (const [label, args] of combos) assertWellFormed(render(args), label);
      assert.equal(find(render(['--set', 'controller.replicas=1']), 'PodDisruptionBudget').length, 0, 'no budget over a single replica');
      assert.equal(one(render(['--kube-version', '1.20.2']), 'PodDisruptionBudget').apiVersion, 'policy/v1beta1');
      const tooOld = renderRaw(['--kube-version', '1.19.0']);
      assert.notEqual(tooOld.status, 0);
      assert.match(tooOld.stderr, /kubeVersion/i);
    });

    test('CRDs for the three validated kinds are off by default and structural when on', () => {
      const docs = render(['--set', 'crds.install=true']);
      const crds = find(docs, 'CustomResourceDefinition');
      assert.deepEqual(crds.map((c) => c.metadata?.name), ['serviceprofiles.linkerd.io', 'virtualservices.networking.istio.io', 'authorizationpolicies.security.istio.io']);
      for (const crd of crds) {
        const versions = at(crd, 'spec', 'versions') as { storage: boolean; schema: unknown }[];
        assert.equal(versions.filter((v) => v.storage).length, 1, `${crd.metadata?.name}: exactly one storage version`);
        for (const v of versions) assert.equal(at(v, 'schema', 'openAPIV3Schema', 'type'), 'object');
        assert.equal(crd.metadata?.annotations?.['helm.sh/resource-policy'], 'keep');
      }
      assert.equal(find(render(), 'CustomResourceDefinition').length, 0);
    });
  });

  describe('the Deployment runs a command line `weft controller` accepts', () => {
    test('args parse with the controller and identity flag specs, and the ConfigMap parses with the injector config parser', async (t) => {
      let controller: typeof import('../../src/controller/config.ts');
      let identity: typeof import('../../src/identity/config.ts');
      let injectConfig: typeof import('../../src/inject/config.ts');
      let flags: typeof import('../../src/util/flags.ts');
      try {
        controller = await import('../../src/controller/config.ts');
        identity = await import('../../src/identity/config.ts');
        injectConfig = await import('../../src/inject/config.ts');
        flags = await import('../../src/util/flags.ts');
      } catch (error) {
        t.skip(`controller flag specs not available yet: ${(error as Error).message}`);
        return;
      }
      const check = async (docs: RenderedDoc[]) => {
        const [command, ...args] = deploymentArgs(docs);
        assert.equal(command, 'controller');
        const specs = { ...controller.controllerFlagSpecs, ...identity.identityFlagSpecs };
        const parsed = flags.parseFlags(specs, args, { WEFT_NAMESPACE: NS });
        assert.deepEqual(parsed.positionals, [], 'no stray positional arguments');
        const values = parsed.flags as Record<string, unknown>;
        const configMapName = at(volumeSource(docs, 'config'), 'configMap', 'name') as string;
        const configYaml = (one(docs, 'ConfigMap', configMapName).data as Record<string, string>)['config.yaml']!;
        const config = injectConfig.parseInjectorConfig(parseYaml(configYaml), injectConfig.defaultInjectorConfig('0.1.0'), 'weft-config');
        // Every file the flags name sits on a mounted volume.
        const mounts = (deploymentContainer(docs).volumeMounts as { mountPath: string }[]).map((m) => m.mountPath);
        for (const name of ['tls-cert', 'tls-key', 'inject-config', 'identity-trust-anchors']) {
          const file = String(values[name]);
          assert.ok(mounts.some((m) => file.startsWith(`${m}/`)), `--${name}=${file} is not on a mounted volume`);
        }
        assert.ok(mounts.includes(String(values['identity-issuer-dir'])));
        // The controller's own config builder accepts the values too (enums, durations, ports),
        // reading the rendered ConfigMap where the Deployment mounts it.
        const configFile = join(tmp, `config-${Math.random().toString(36).slice(2)}.yaml`);
        writeFileSync(configFile, configYaml);
        const relocated = args.map((a) => (a.startsWith('--inject-config=') ? `--inject-config=${configFile}` : a));
        const built = await controller.controllerConfigFromFlags(flags.parseFlags(specs, relocated, { WEFT_NAMESPACE: NS }).flags, '0.1.0');
        assert.equal(built.injector.trustAnchorsPEM, config.trustAnchorsPEM);
        return { values, config, built };
      };
      const defaults = await check(render());
      assert.equal(defaults.values.port, '8443');
      assert.equal(defaults.values['identity-trust-domain'], 'cluster.local');
      assert.equal(defaults.config.controllerNamespace, NS);
      assert.equal(defaults.config.proxy.uid, 2102);
      assert.match(defaults.config.trustAnchorsPEM, /BEGIN CERTIFICATE/);
      assert.equal(defaults.config.identityUrl, 'https://weft-identity.weft.svc.cluster.local:8080');
      // The identity endpoint's certificate names the host in identityUrl.
      assert.ok((defaults.values['identity-serving-names'] as string[]).includes(new URL(defaults.config.identityUrl).hostname));
      const renamed = await check(render(['--name', 'mesh']));
      assert.ok((renamed.values['identity-serving-names'] as string[]).includes(new URL(renamed.config.identityUrl).hostname));
      assert.equal(new URL(renamed.config.identityUrl).hostname, 'mesh-weft-identity.weft.svc.cluster.local');

      // Proxy defaults flow from values into what new pods get.
      const tuned = await check(render(valuesFile('proxy-tuned', {
        controller: { port: 9443, logLevel: 'debug' },
        clusterDomain: 'corp.internal',
        identity: { trustDomain: 'example.org', port: 8081 },
        proxy: { image: 'registry.example/weft', version: '9.9.9', logLevel: 'debug', nativeSidecar: true, resources: { memoryLimit: '1Gi' } },
        proxyInit: { iptablesMode: 'nft', ignoreOutboundPorts: '25,3306', skipSubnets: '10.0.0.0/8' },
      })));
      assert.equal(tuned.values.port, '9443');
      assert.equal(tuned.config.identityAudience, 'identity.l5d.io');
      assert.equal(tuned.values['log-level'], 'debug');
      assert.equal(tuned.config.trustDomain, 'example.org');
      assert.equal(tuned.config.identityUrl, 'https://weft-identity.weft.svc.corp.internal:8081');
      assert.equal(tuned.values['cluster-domain'], 'corp.internal');
      assert.equal(tuned.built.port, 9443);
      assert.equal(tuned.built.identity.trustDomain, 'example.org');
      assert.equal(tuned.built.injector.proxy.logLevel, 'debug');
      assert.equal(tuned.config.proxy.image, 'registry.example/weft');
      assert.equal(tuned.config.proxy.version, '9.9.9');
      assert.equal(tuned.config.proxy.nativeSidecar, true);
      assert.equal(tuned.config.proxy.resources.memoryLimit, '1Gi');
      assert.equal(tuned.config.proxy.resources.cpuRequest, '100m');
      assert.equal(tuned.config.proxyInit.iptablesMode, 'nft');
      assert.equal(tuned.config.proxyInit.ignoreOutboundPorts, '25,3306');
      assert.equal(tuned.config.proxyInit.skipSubnets, '10.0.0.0/8');

      const badExtra = render(['--set', 'controller.extraArgs[0]=--no-such-flag']);
      await assert.rejects(check(badExtra), flags.UsageError, 'a flag the controller does not know is caught here, not in a crash loop');
      await assert.rejects(check(render(['--set', 'controller.extraArgs[0]=--on-error=maybe'])), /--on-error/);
    });
  });

  test('Chart.yaml: apiVersion v2, a kubeVersion constraint, appVersion in step with package.json', () => {
    const chart = parseYaml(readFileSync(new URL('../../charts/weft/Chart.yaml', import.meta.url), 'utf8')) as Record<string, string>;
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    assert.equal(chart.apiVersion, 'v2');
    assert.equal(chart.name, 'weft');
    assert.match(chart.kubeVersion ?? '', /^>=\s*1\.\d+/);
    assert.equal(chart.appVersion, pkg.version, 'the image tag the chart defaults to is the version being built');
  });

  describe('values.schema.json', () => {
    const schema = JSON.parse(readFileSync(new URL('../../charts/weft/values.schema.json', import.meta.url), 'utf8')) as Record<string, unknown>;
    const defaults = (): Record<string, unknown> => {
      return parseYaml(readFileSync(new URL('../../charts/weft/values.yaml', import.meta.url), 'utf8')) as Record<string, unknown>;
    };

    test('is draft-07 and accepts the chart defaults', async () => {
      const { Ajv } = await import('ajv');
      assert.equal(schema.$schema, 'http://json-schema.org/draft-07/schema#');
      assert.equal(schema.additionalProperties, false);
      const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
      assert.ok(validate(defaults()), JSON.stringify(validate.errors));
    });

    const bad: [string, (v: Record<string, any>) => void, RegExp][] = [
      ['a misspelt top-level key', (v) => (v.contoller = {}), /contoller/],
      ['a misspelt nested key', (v) => (v.controller.replica = 3), /replica/],
      ['replicas as a string', (v) => (v.controller.replicas = 'two'), /replicas/],
      ['an unknown failurePolicy', (v) => (v.injector.failurePolicy = 'Retry'), /failurePolicy/],
      ['a webhook timeout over 30 s', (v) => (v.injector.timeoutSeconds = 31), /timeoutSeconds/],
      ['an unknown certificate mode', (v) => (v.webhookCerts.mode = 'vault'), /mode/],
      ['existing mode without a Secret name', (v) => (v.webhookCerts.mode = 'existing'), /secretName|caBundle/],
      ['a proxy port out of range', (v) => (v.proxy.inboundPort = 70000), /inboundPort/],
      ['a malformed resource quantity', (v) => (v.proxy.resources.memoryLimit = '250 MB'), /memoryLimit/],
      ['an unknown iptables mode', (v) => (v.proxyInit.iptablesMode = 'bpf'), /iptablesMode/],
      ['a malformed duration', (v) => (v.controller.drainDelay = '5 seconds'), /drainDelay/],
      ['an issuer from cert-manager without a trust anchor', (v) => (v.identity.issuer.mode = 'cert-manager'), /pem|trustAnchor/],
    ];
    for (const [label, mutate, expected] of bad) {
      test(`refuses ${label} (ajv and the renderer)`, async () => {
        const { Ajv } = await import('ajv');
        const values = defaults() as Record<string, any>;
        mutate(values);
        const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
        assert.equal(validate(values), false, `ajv accepted ${label}`);
        const out = renderRaw(['--name', 'weft', '-n', NS, ...valuesFile(`bad-${label.replace(/\W+/g, '-')}`, values)]);
        assert.notEqual(out.status, 0, `the renderer accepted ${label}`);
        assert.match(out.stderr, /values don't meet the specifications of the schema/);
        assert.match(out.stderr, expected);
      });
    }

    test('every key in values.yaml is documented by a comment on it or on its parent', () => {
      const lines = readFileSync(new URL('../../charts/weft/values.yaml', import.meta.url), 'utf8').split('\n');
      const stack: { indent: number; documented: boolean }[] = [];
      const undocumented: string[] = [];
      lines.forEach((line, i) => {
        const m = /^(\s*)([A-Za-z][\w.-]*):/.exec(line);
        if (!m) return;
        const indent = m[1]!.length;
        while (stack.length > 0 && stack.at(-1)!.indent >= indent) stack.pop();
        const commented = i > 0 && /^\s*#/.test(lines[i - 1]!);
        const documented = commented || stack.some((s) => s.documented);
        if (!documented) undocumented.push(`${i + 1}: ${line.trim()}`);
        stack.push({ indent, documented: commented });
      });
      // Section headers (a mapping whose every child is documented) need no comment of their own.
      const leaves = undocumented.filter((entry) => !/:\s*$/.test(entry));
      assert.deepEqual(leaves, []);
    });
  });
});
