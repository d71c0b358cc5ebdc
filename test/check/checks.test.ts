import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { certificateSources, runChecks, workloadOf } from '../../src/check/checks.ts';
import { exitCode, formatJSON, formatText, summarize } from '../../src/check/report.ts';
import type { CheckResult } from '../../src/check/types.ts';
import { makeCA, makeLeaf } from './certs.ts';
import { appPod, controllerPod, healthyInstallation, namespace, NOW, NS, tlsSecret, trustRootsConfigMap, webhookConfig } from './fixtures.ts';

const now = NOW.getTime();

function byId(results: readonly CheckResult[], id: string): CheckResult {
  const found = results.find((r) => r.id === id);
  assert.ok(found, `no result ${id} in ${results.map((r) => r.id).join(', ')}`);
  return found;
}

function statuses(results: readonly CheckResult[]): Record<string, string> {
  return Object.fromEntries(results.map((r) => [r.id, r.status]));
}

describe('weft check decisions', () => {
  test('a healthy installation passes every check', async () => {
    const { input } = await healthyInstallation();
    const results = runChecks(input);
    assert.deepEqual(statuses(results), {
      'kubernetes-api-reachable': 'pass',
      'kubernetes-version': 'pass',
      'controller-pods-ready': 'pass',
      'mutating-webhook-registered': 'pass',
      'validating-webhook-registered': 'pass',
      'webhook-ca-bundle': 'pass',
      'webhook-certificate-validity': 'pass',
      'issuer-certificate-validity': 'pass',
      'trust-anchor-validity': 'pass',
      'issuer-signed-by-trust-anchor': 'pass',
      'injector-config-valid': 'pass',
      'namespaces-annotated': 'pass',
      'pods-have-proxy': 'pass',
    });
    assert.equal(exitCode(results), 0);
    assert.match(byId(results, 'controller-pods-ready').message, /2\/2 ready/);
    assert.match(byId(results, 'namespaces-annotated').message, /^shop$/);
    assert.match(byId(results, 'pods-have-proxy').message, /1 pod meshed/);
  });

  describe('Kubernetes API', () => {
    test('an unreachable API is one failure, not one per check', async () => {
      const { input } = await healthyInstallation();
      input.serverVersion = { ok: false, error: 'fetch failed: connect ECONNREFUSED 127.0.0.1:6443' };
      const results = runChecks(input);
      assert.deepEqual(statuses(results), { 'kubernetes-api-reachable': 'fail' });
      assert.match(results[0]!.message, /ECONNREFUSED/);
      assert.equal(exitCode(results), 1);
    });

    test('versions: older than 1.20 fails, managed "27+" minors parse', async () => {
      const { input } = await healthyInstallation();
      input.serverVersion = { ok: true, value: { major: '1', minor: '19', gitVersion: 'v1.19.16' } };
      assert.equal(byId(runChecks(input), 'kubernetes-version').status, 'fail');
      input.serverVersion = { ok: true, value: { major: '1', minor: '27+', gitVersion: 'v1.27.3-eks-1' } };
      assert.equal(byId(runChecks(input), 'kubernetes-version').status, 'pass');
      assert.match(byId(runChecks(input), 'kubernetes-api-reachable').message, /v1\.27\.3-eks-1/);
    });
  });

  describe('controller pods', () => {
    test('none found fails and says where it looked', async () => {
      const { input } = await healthyInstallation();
      input.controllerPods = { ok: true, value: [] };
      const r = byId(runChecks(input), 'controller-pods-ready');
      assert.equal(r.status, 'fail');
      assert.match(r.message, /no controller pods in namespace weft match app\.kubernetes\.io\/part-of=weft/);
    });

    test('some not ready warns (admission still served); none ready fails, naming the reason', async () => {
      const { input } = await healthyInstallation();
      input.controllerPods = { ok: true, value: [controllerPod('weft-controller-a'), controllerPod('weft-controller-b', false)] };
      let r = byId(runChecks(input), 'controller-pods-ready');
      assert.equal(r.status, 'warn');
      assert.match(r.message, /1\/2 ready; not ready: weft-controller-b \(controller CrashLoopBackOff\)/);
      input.controllerPods = { ok: true, value: [controllerPod('weft-controller-b', false)] };
      r = byId(runChecks(input), 'controller-pods-ready');
      assert.equal(r.status, 'fail');
      assert.match(r.hint ?? '', /kubectl --namespace weft describe pod weft-controller-b/);
    });

    test('a pod that is Pending (no kubelet yet) is not ready', async () => {
      const { input } = await healthyInstallation();
      const pending = controllerPod('weft-controller-p');
      pending.status = { phase: 'Pending' };
      input.controllerPods = { ok: true, value: [pending] };
      const r = byId(runChecks(input), 'controller-pods-ready');
      assert.equal(r.status, 'fail');
      assert.match(r.message, /Pending/);
    });

    test('a forbidden list is a failure that says so', async () => {
      const { input } = await healthyInstallation();
      input.controllerPods = { ok: false, error: 'HTTP 403: pods is forbidden' };
      const results = runChecks(input);
      assert.equal(byId(results, 'controller-pods-ready').status, 'fail');
      assert.match(byId(results, 'controller-pods-ready').message, /403/);
      assert.equal(exitCode(results), 1);
    });
  });

  describe('webhook configurations', () => {
    test('a missing mutating configuration fails; a missing validating one warns', async () => {
      const { input } = await healthyInstallation();
      input.mutatingWebhookConfigurations = { ok: true, value: [] };
      input.validatingWebhookConfigurations = { ok: true, value: [] };
      const results = runChecks(input);
      assert.equal(byId(results, 'mutating-webhook-registered').status, 'fail');
      assert.equal(byId(results, 'validating-webhook-registered').status, 'warn');
      assert.equal(results.some((r) => r.id === 'webhook-ca-bundle'), false);
    });

    test("configurations that send to another namespace's controller do not count", async () => {
      const { input, webhookCA } = await healthyInstallation();
      const elsewhere = webhookConfig('MutatingWebhookConfiguration', webhookCA.certPEM, 'linkerd-proxy-injector');
      (elsewhere.webhooks as { clientConfig: { service: { namespace: string } } }[])[0]!.clientConfig.service.namespace = 'linkerd';
      input.mutatingWebhookConfigurations = { ok: true, value: [elsewhere] };
      assert.equal(byId(runChecks(input), 'mutating-webhook-registered').status, 'fail');
    });

    test('a caBundle from another CA fails, naming both', async () => {
      const { input } = await healthyInstallation();
      const stranger = await makeCA('some-other-ca', { now });
      input.validatingWebhookConfigurations = { ok: true, value: [webhookConfig('ValidatingWebhookConfiguration', stranger.certPEM)] };
      const r = byId(runChecks(input), 'webhook-ca-bundle');
      assert.equal(r.status, 'fail');
      assert.match(r.message, /weft-validator\/validator\.weft\.io: caBundle \(CN=some-other-ca\) did not sign the serving certificate \(CN=weft-webhook, issued by CN=weft-webhook-ca\)/);
      assert.doesNotMatch(r.message, /weft-proxy-injector/);
    });

    test('an empty caBundle fails and points at the cert-manager CA injector', async () => {
      const { input } = await healthyInstallation();
      const config = webhookConfig('MutatingWebhookConfiguration', '');
      (config.webhooks as { clientConfig: Record<string, unknown> }[])[0]!.clientConfig.caBundle = undefined;
      input.mutatingWebhookConfigurations = { ok: true, value: [config] };
      const r = byId(runChecks(input), 'webhook-ca-bundle');
      assert.equal(r.status, 'fail');
      assert.match(r.message, /caBundle is empty \(is cert-manager's CA injector running\?\)/);
    });

    test('a serving certificate that does not name the Service fails', async () => {
      const { input, webhookCA } = await healthyInstallation();
      const wrong = await makeLeaf(webhookCA, ['weft-webhook.default.svc'], { now });
      input.webhookSecret = { ok: true, value: tlsSecret('weft-webhook-tls', wrong) };
      const r = byId(runChecks(input), 'webhook-ca-bundle');
      assert.equal(r.status, 'fail');
      assert.match(r.message, /does not name weft-webhook\.weft\.svc/);
    });

    test('a self-signed serving certificate pinned as its own caBundle passes', async () => {
      const { input } = await healthyInstallation();
      // What cert-manager's self-signed Issuer produces: the leaf is its own CA.
      const selfSigned = await makeCA('weft-webhook.weft.svc', { now });
      const leaf = await makeLeaf(selfSigned, ['weft-webhook.weft.svc'], { now });
      input.webhookSecret = { ok: true, value: tlsSecret('weft-webhook-tls', leaf) };
      input.mutatingWebhookConfigurations = { ok: true, value: [webhookConfig('MutatingWebhookConfiguration', leaf.certPEM)] };
      input.validatingWebhookConfigurations = { ok: true, value: [webhookConfig('ValidatingWebhookConfiguration', leaf.certPEM)] };
      assert.equal(byId(runChecks(input), 'webhook-ca-bundle').status, 'pass');
    });

    test('a url webhook (controller outside the cluster) is checked against its host', async () => {
      const { input, webhookCA } = await healthyInstallation();
      const config = webhookConfig('MutatingWebhookConfiguration', webhookCA.certPEM);
      const hook = (config.webhooks as { clientConfig: Record<string, unknown> }[])[0]!;
      hook.clientConfig = { url: 'https://weft.example.net:8443/inject', caBundle: hook.clientConfig.caBundle };
      input.mutatingWebhookConfigurations = { ok: true, value: [config] };
      const r = byId(runChecks(input), 'webhook-ca-bundle');
      assert.equal(r.status, 'fail');
      assert.match(r.message, /does not name weft\.example\.net/);
    });

    test('an unreadable serving Secret fails the caBundle check with the reason', async () => {
      const { input } = await healthyInstallation();
      input.webhookSecret = { ok: false, error: 'HTTP 404: secrets "weft-webhook-tls" not found' };
      const results = runChecks(input);
      assert.match(byId(results, 'webhook-ca-bundle').message, /not found/);
      assert.equal(byId(results, 'webhook-certificate-validity').status, 'fail');
    });
  });

  describe('certificate validity', () => {
    test('under 30 days warns, with the days left', async () => {
      const { input } = await healthyInstallation({ serving: { days: 40, startDaysAgo: 30 } });
      const r = byId(runChecks(input), 'webhook-certificate-validity');
      assert.equal(r.status, 'warn');
      assert.match(r.message, /CN=weft-webhook expires 2026-06-11T\d\d:\d\d:\d\d\.000Z \(10 days left\)/);
      assert.equal(exitCode(runChecks(input)), 0, 'warnings do not fail the run');
    });

    test('31 days left passes; --warn-days moves the line', async () => {
      const { input } = await healthyInstallation({ issuer: { days: 33, startDaysAgo: 1 } });
      assert.equal(byId(runChecks(input), 'issuer-certificate-validity').status, 'pass');
      input.warnDays = 60;
      assert.equal(byId(runChecks(input), 'issuer-certificate-validity').status, 'warn');
    });

    test('expired fails', async () => {
      const { input } = await healthyInstallation({ anchor: { days: 10, startDaysAgo: 20 } });
      const results = runChecks(input);
      const r = byId(results, 'trust-anchor-validity');
      assert.equal(r.status, 'fail');
      assert.match(r.message, /CN=root\.identity\.cluster\.local expired/);
      assert.equal(exitCode(results), 1);
    });

    test('not yet valid fails and suggests the clocks', async () => {
      const { input } = await healthyInstallation({ serving: { days: 365, startDaysAgo: -2 } });
      const r = byId(runChecks(input), 'webhook-certificate-validity');
      assert.equal(r.status, 'fail');
      assert.match(r.message, /is not valid before/);
      assert.match(r.hint ?? '', /clocks/);
    });

    test('a trust bundle is judged by its worst certificate', async () => {
      const { input, anchor } = await healthyInstallation();
      const old = await makeCA('old-root', { now, days: 20, startDaysAgo: 5 });
      input.trustRoots = { ok: true, value: trustRootsConfigMap(anchor.certPEM + old.certPEM) };
      const results = runChecks(input);
      assert.equal(byId(results, 'trust-anchor-validity').status, 'warn');
      assert.match(byId(results, 'trust-anchor-validity').message, /CN=old-root/);
      assert.equal(byId(results, 'issuer-signed-by-trust-anchor').status, 'pass', 'the issuer chains to one of the anchors');
    });

    test('garbage instead of a certificate fails', async () => {
      const { input } = await healthyInstallation();
      input.trustRoots = { ok: true, value: trustRootsConfigMap('-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n') };
      assert.equal(byId(runChecks(input), 'trust-anchor-validity').status, 'fail');
      input.trustRoots = { ok: true, value: trustRootsConfigMap('') };
      assert.match(byId(runChecks(input), 'trust-anchor-validity').message, /has no ca-bundle\.crt/);
    });

    test('controller pods without the certificate volumes fail the certificate checks', async () => {
      const { input } = await healthyInstallation();
      delete input.webhookSecret;
      delete input.issuerSecret;
      delete input.trustRoots;
      const results = runChecks(input);
      for (const id of ['webhook-certificate-validity', 'issuer-certificate-validity', 'trust-anchor-validity']) {
        assert.equal(byId(results, id).status, 'fail');
        assert.match(byId(results, id).message, /mount no/);
      }
      input.controllerPods = { ok: true, value: [] };
      assert.match(byId(runChecks(input), 'webhook-certificate-validity').message, /no controller pods/);
    });
  });

  describe('issuer and trust anchor', () => {
    test('an issuer from another root fails: proxies would reject what it signs', async () => {
      const { input } = await healthyInstallation();
      const otherRoot = await makeCA('other-root', { now });
      const issuer = await makeCA('identity.weft.cluster.local', { now }, otherRoot);
      input.issuerSecret = { ok: true, value: tlsSecret('weft-identity-issuer', issuer) };
      const r = byId(runChecks(input), 'issuer-signed-by-trust-anchor');
      assert.equal(r.status, 'fail');
      assert.match(r.message, /not signed by the trust anchor \(CN=root\.identity\.cluster\.local\)/);
    });

    test('an issuer that is not a CA fails', async () => {
      const { input, anchor } = await healthyInstallation();
      const leaf = await makeLeaf(anchor, ['not-a-ca'], { now });
      input.issuerSecret = { ok: true, value: tlsSecret('weft-identity-issuer', leaf) };
      assert.match(byId(runChecks(input), 'issuer-signed-by-trust-anchor').message, /is not a CA certificate/);
    });

    test('the chart-generated mode (one CA as anchor and issuer) passes', async () => {
      const { input, anchor } = await healthyInstallation();
      input.issuerSecret = { ok: true, value: tlsSecret('weft-identity-issuer', anchor) };
      assert.equal(byId(runChecks(input), 'issuer-signed-by-trust-anchor').status, 'pass');
    });
  });

  describe('injection', () => {
    test('the injector ConfigMap is parsed with the controller\'s parser: a typo fails', async () => {
      const { input } = await healthyInstallation();
      assert.match(byId(runChecks(input), 'injector-config-valid').message, /new pods get ghcr\.io\/weft-mesh\/weft:0\.1\.0 \(log level info\)/);
      input.injectorConfig = { ok: true, value: { kind: 'ConfigMap', metadata: { name: 'weft-config' }, data: { 'config.yaml': 'proxy:\n  logLevl: debug\n' } } };
      const r = byId(runChecks(input), 'injector-config-valid');
      assert.equal(r.status, 'fail');
      assert.match(r.message, /proxy\.logLevl: unknown setting/);
      input.injectorConfig = { ok: false, error: 'HTTP 403: configmaps "weft-config" is forbidden' };
      assert.match(byId(runChecks(input), 'injector-config-valid').message, /403/);
    });

    test('no annotated namespace warns with the command that enables injection', async () => {
      const { input } = await healthyInstallation();
      input.namespaces = { ok: true, value: [namespace('default'), namespace(NS)] };
      const results = runChecks(input);
      const r = byId(results, 'namespaces-annotated');
      assert.equal(r.status, 'warn');
      assert.equal(r.hint, 'kubectl annotate namespace NAMESPACE linkerd.io/inject=enabled');
      assert.equal(results.some((x) => x.id === 'pods-have-proxy'), false);
    });

    test('annotating a namespace the webhook excludes is flagged', async () => {
      const { input } = await healthyInstallation();
      input.namespaces = { ok: true, value: [namespace('kube-system', { 'linkerd.io/inject': 'enabled' }), namespace('shop', { 'linkerd.io/inject': 'enabled' })] };
      input.podsByNamespace['kube-system'] = { ok: true, value: [] };
      const r = byId(runChecks(input), 'namespaces-reachable');
      assert.equal(r.status, 'warn');
      assert.match(r.message, /kube-system/);
    });

    test('pods without the proxy are listed with the rollout restart that fixes them', async () => {
      const { input } = await healthyInstallation();
      input.namespaces = { ok: true, value: [namespace('shop', { 'linkerd.io/inject': 'enabled' }), namespace('db', { 'linkerd.io/inject': 'enabled' }), namespace('plain')] };
      input.podsByNamespace = {
        shop: {
          ok: true,
          value: [
            appPod('shop', 'web-5c8d-a', { containers: ['web', 'weft-proxy'], owner: { kind: 'ReplicaSet', name: 'web-5c8d' }, hash: '5c8d' }),
            appPod('shop', 'cart-77aa-a', { owner: { kind: 'ReplicaSet', name: 'cart-77aa' }, hash: '77aa' }),
            appPod('shop', 'cart-77aa-b', { owner: { kind: 'ReplicaSet', name: 'cart-77aa' }, hash: '77aa' }),
            appPod('shop', 'agent-x', { owner: { kind: 'DaemonSet', name: 'agent' } }),
            // Other meshes' sidecars count, as native sidecars (init containers) do.
            appPod('shop', 'legacy-1', { containers: ['app', 'linkerd-proxy'] }),
            appPod('shop', 'istio-1', { containers: ['app', 'istio-proxy'] }),
            appPod('shop', 'native-1', { initContainers: ['weft-proxy'] }),
            // Not missing anything: opted out, finished, host network.
            appPod('shop', 'opted-out', { annotations: { 'linkerd.io/inject': 'disabled' } }),
            appPod('shop', 'no-webhook', { labels: { 'config.linkerd.io/admission-webhooks': 'disabled' } }),
            appPod('shop', 'migrate-done', { owner: { kind: 'Job', name: 'migrate' }, phase: 'Succeeded' }),
            appPod('shop', 'node-exporter', { hostNetwork: true }),
          ],
        },
        db: {
          ok: true,
          value: [appPod('db', 'pg-0', { owner: { kind: 'StatefulSet', name: 'pg' } }), appPod('db', 'debug'), appPod('db', 'report-x', { owner: { kind: 'Job', name: 'report' } })],
        },
      };
      const results = runChecks(input);
      const r = byId(results, 'pods-have-proxy');
      assert.equal(r.status, 'warn');
      assert.match(r.message, /^6 pods without the proxy: shop\/cart-77aa-a, shop\/cart-77aa-b, shop\/agent-x, db\/pg-0, db\/debug, db\/report-x$/);
      assert.deepEqual(r.hint?.split('\n'), [
        'kubectl rollout restart --namespace shop daemonset/agent deployment/cart',
        'kubectl rollout restart --namespace db statefulset/pg',
        'recreate: db/debug (no owner: delete and create it again), db/report-x (owned by job/report: recreate it)',
      ]);
      assert.equal(exitCode(results), 0);
    });

    test("pods and namespaces the injector's selectors exclude are not reported", async () => {
      const { input } = await healthyInstallation();
      const enabled = { 'linkerd.io/inject': 'enabled' };
      input.namespaces = {
        ok: true,
        value: [namespace('shop', enabled), namespace('quiet', enabled, { 'config.linkerd.io/admission-webhooks': 'disabled' }), namespace(NS, enabled)],
      };
      input.podsByNamespace = {
        shop: { ok: true, value: [appPod('shop', 'mesh-tool', { labels: { 'app.kubernetes.io/part-of': 'weft' } }), appPod('shop', 'plain-app')] },
        quiet: { ok: true, value: [appPod('quiet', 'batch')] },
        [NS]: { ok: true, value: [controllerPod('weft-controller-a'), appPod(NS, 'helper')] },
      };
      let results = runChecks(input);
      assert.match(byId(results, 'pods-have-proxy').message, /^1 pod without the proxy: shop\/plain-app$/);
      assert.match(byId(results, 'namespaces-reachable').message, /excludes quiet, weft,/);

      // Without an injector webhook to read, the controller's namespace is still never counted.
      input.mutatingWebhookConfigurations = { ok: true, value: [] };
      results = runChecks(input);
      assert.match(byId(results, 'pods-have-proxy').message, /shop\/plain-app/);
      assert.doesNotMatch(byId(results, 'pods-have-proxy').message, /weft\/helper/);
    });

    test('unmeshed pods created after the controller started point at the webhook', async () => {
      const { input } = await healthyInstallation();
      input.podsByNamespace = { shop: { ok: true, value: [appPod('shop', 'late', { created: new Date(now - 3_600_000) }), appPod('shop', 'early', { created: new Date(now - 100 * 3_600_000) })] } };
      const r = byId(runChecks(input), 'pods-have-proxy');
      assert.match(r.message, /1 of them were created after the controller started/);
    });

    test('a namespace whose pods cannot be listed fails', async () => {
      const { input } = await healthyInstallation();
      input.podsByNamespace = { shop: { ok: false, error: 'HTTP 403: forbidden' } };
      const r = byId(runChecks(input), 'pods-have-proxy');
      assert.equal(r.status, 'fail');
      assert.match(r.message, /shop: HTTP 403/);
    });
  });

  test('certificateSources reads the Secret and ConfigMap names from the controller volumes', () => {
    const pod = controllerPod('weft-controller-a');
    assert.deepEqual(certificateSources([pod]), { webhookSecret: 'weft-webhook-tls', issuerSecret: 'weft-identity-issuer', trustRootsConfigMap: 'weft-identity-trust-roots', injectorConfigMap: 'weft-config' });
    assert.deepEqual(certificateSources([appPod('x', 'y')]), {});
  });

  test('workloadOf maps ReplicaSet pods to their Deployment by the pod-template-hash', () => {
    assert.deepEqual(workloadOf(appPod('s', 'web-abc-1', { owner: { kind: 'ReplicaSet', name: 'web-abc' }, hash: 'abc' })), { kind: 'deployment', name: 'web' });
    assert.deepEqual(workloadOf(appPod('s', 'rs-1', { owner: { kind: 'ReplicaSet', name: 'bare-rs' } })), { kind: 'replicaset', name: 'bare-rs' });
    assert.equal(workloadOf(appPod('s', 'lonely')), undefined);
  });
});

describe('weft check report', () => {
  test('text: grouped pass/warn/fail lines with fixes and a status line; json: the same results', async () => {
    const { input } = await healthyInstallation({ serving: { days: 40, startDaysAgo: 30 } });
    input.mutatingWebhookConfigurations = { ok: true, value: [] };
    const results = runChecks(input);
    const text = formatText(results, NS);
    assert.match(text, /^kubernetes-api\n-+\n√ can reach the Kubernetes API\n {4}Kubernetes v1\.20\.2\n/);
    assert.match(text, /\ncontroller\n----------\n√ controller pods are ready\n {4}2\/2 ready\n/);
    assert.match(text, /× mutating webhook configuration is registered \[fail\]\n {4}no mutating webhook configuration sends to namespace weft\n {4}fix: reinstall/);
    assert.match(text, /‼ webhook serving certificate is valid for more than 30 days \[warn\]/);
    assert.match(text, /Status check results \(namespace weft\): \d+ passed, 1 warning, 1 failed: FAIL\n$/);
    const json = JSON.parse(formatJSON(results, NS)) as { success: boolean; summary: { fail: number; warn: number }; checks: CheckResult[] };
    assert.equal(json.success, false);
    assert.deepEqual(json.summary, summarize(results));
    assert.equal(json.checks.length, results.length);
    assert.equal(json.checks.find((c) => c.id === 'mutating-webhook-registered')?.status, 'fail');
    assert.equal(exitCode(results), 1);
  });
});
