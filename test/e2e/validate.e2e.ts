import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { e2eKubeConfig, eventually, loopbackWebhook, runId, startE2EController } from '../helpers/kube.ts';

// kubectl apply of valid and invalid objects of each kind against a real API server with weft's
// /validate registered: valid ones are created, invalid ones refused with weft's field-path
// message, warnings reach the client. Run under `flock /tmp/k8s-e2e.lock` on a shared cluster.

const kc = e2eKubeConfig();
const KUBECTL = [process.env.KUBECTL, '/opt/k8s-run/bin/kubectl'].find((p): p is string => p !== undefined && existsSync(p));
const skip = typeof kc === 'string' ? kc : KUBECTL === undefined ? 'no kubectl (set KUBECTL or build /opt/k8s-run)' : false;

const preserve = { type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } };
function crd(group: string, kind: string, plural: string, versions: string[]): k8s.V1CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: versions.map((name, i) => ({ name, served: true, storage: i === versions.length - 1, schema: { openAPIV3Schema: preserve } })),
    },
  };
}
const CRDS = [
  crd('linkerd.io', 'ServiceProfile', 'serviceprofiles', ['v1alpha2']),
  crd('networking.istio.io', 'VirtualService', 'virtualservices', ['v1alpha3', 'v1beta1', 'v1']),
  crd('security.istio.io', 'AuthorizationPolicy', 'authorizationpolicies', ['v1beta1', 'v1']),
];

/** Asynchronous on purpose: the webhook answering kubectl's request runs in this same process. */
function kubectl(args: string[], input?: unknown): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(KUBECTL as string, args, { env: { ...process.env }, timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(input === undefined ? '' : stringify(input));
  });
}

test('e2e: kubectl apply is accepted, refused with weft\'s message, and shown warnings', { skip, timeout: 180_000 }, async (t) => {
  const kube = kc as k8s.KubeConfig;
  const core = kube.makeApiClient(k8s.CoreV1Api);
  const admission = kube.makeApiClient(k8s.AdmissionregistrationV1Api);
  const extensions = kube.makeApiClient(k8s.ApiextensionsV1Api);
  const id = runId();
  const namespace = `validate-e2e-${id}`;
  const { controller, caBundle } = await startE2EController(t);

  // CRDs are cluster-wide: create the ones missing, remove only those this run created.
  for (const definition of CRDS) {
    const name = definition.metadata!.name!;
    const exists = await extensions.readCustomResourceDefinition({ name }).then(() => true, () => false);
    if (exists) continue;
    // Through kubectl, not client-node: its serialiser drops `x-kubernetes-preserve-unknown-fields`
    // from plain objects, and the CRD would then prune every spec to nothing.
    const created = await kubectl(['create', '-f', '-'], definition);
    assert.equal(created.status, 0, created.stderr);
    t.after(() => extensions.deleteCustomResourceDefinition({ name }).catch(() => undefined));
  }
  for (const definition of CRDS) {
    const done = await kubectl(['wait', '--for=condition=established', '--timeout=60s', `crd/${definition.metadata!.name!}`]);
    assert.equal(done.status, 0, done.stderr);
  }

  await core.createNamespace({ body: { metadata: { name: namespace, labels: { 'weft-e2e': id } } } });
  t.after(() => core.deleteNamespace({ name: namespace }).catch(() => undefined));
  const hook = `weft-validate-e2e-${id}`;
  await admission.createValidatingWebhookConfiguration({
    body: {
      metadata: { name: hook },
      webhooks: [
        loopbackWebhook({
          name: 'validate.weft.io',
          port: controller.admissionPort,
          path: '/validate',
          caBundle,
          id,
          rules: [{ operations: ['CREATE', 'UPDATE'], apiGroups: ['linkerd.io', 'networking.istio.io', 'security.istio.io'], apiVersions: ['*'], resources: ['serviceprofiles', 'virtualservices', 'authorizationpolicies'] }],
        }),
      ],
    },
  });
  t.after(() => admission.deleteValidatingWebhookConfiguration({ name: hook }).catch(() => undefined));

  const meta = (name: string) => ({ name, namespace });
  const vs = (name: string, weight: number) => ({
    apiVersion: 'networking.istio.io/v1beta1', kind: 'VirtualService', metadata: meta(name),
    spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v1' }, weight: 50 }, { destination: { host: 'reviews', subset: 'v2' }, weight }] }] },
  });
  const sp = (timeout: string) => ({
    apiVersion: 'linkerd.io/v1alpha2', kind: 'ServiceProfile', metadata: meta(`web.${namespace}.svc.cluster.local`),
    spec: { routes: [{ name: 'GET /', condition: { method: 'GET', pathRegex: '/' }, timeout }] },
  });
  const ap = (spec: Record<string, unknown>, name: string) => ({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: meta(name), spec });

  // Until the API server has the webhook (and discovery has the CRDs), wait on a refusal.
  let last = '';
  await eventually('the validating webhook to refuse an invalid VirtualService', async () => {
    const run = await kubectl(['apply', '-f', '-'], vs('probe', -5));
    last = `exit ${run.status}: ${run.stdout}${run.stderr}`;
    return run.status !== 0 && run.stderr.includes('spec.http[0].route[1].weight') ? true : undefined;
  }, 60_000).catch((error: Error) => {
    throw new Error(`${error.message}; last kubectl: ${last}`);
  });

  const accepted = async (object: unknown) => {
    const run = await kubectl(['apply', '-f', '-'], object);
    assert.equal(run.status, 0, `expected accepted, got: ${run.stderr}`);
    return run;
  };
  const refused = async (object: unknown, ...fragments: string[]) => {
    const run = await kubectl(['apply', '-f', '-'], object);
    assert.notEqual(run.status, 0, `expected refused, got: ${run.stdout}`);
    // kubectl prints the 422's causes ("The X is invalid: path: message") or the webhook's message.
    assert.match(run.stderr, /is invalid/);
    for (const fragment of fragments) assert.ok(run.stderr.includes(fragment), `expected ${JSON.stringify(fragment)} in: ${run.stderr}`);
    return run;
  };

  const created = await accepted(vs('reviews', 49)); // weights need not sum to 100
  // The controller's cluster state tracks DestinationRules, and none defines these subsets.
  assert.match(created.stderr, /Warning: spec\.http\[0\]\.route\[0\]\.destination\.subset: no DestinationRule for "reviews" defines subset "v1"/);
  await refused(vs('reviews', -1), 'VirtualService "reviews" is invalid', 'spec.http[0].route[1].weight', 'negative');
  await refused(vs('other', -1), 'spec.http[0].route[1].weight');
  await accepted(sp('1m30s'));
  await refused(sp('10'), 'ServiceProfile', 'spec.routes[0].timeout', 'has no unit');
  await accepted(ap({ action: 'DENY', rules: [{ to: [{ operation: { methods: ['POST'], ports: ['8080'] } }] }] }, 'deny-post'));
  await refused(ap({ action: 'DENY' }, 'deny-nothing'), 'AuthorizationPolicy "deny-nothing" is invalid', 'spec.rules');
  await refused(ap({ rules: [{ to: [{ operation: { ports: ['8080-8090'] } }] }] }, 'ranges'), 'spec.rules[0].to[0].operation.ports[0]');

  const warned = await accepted(ap({ selector: {} }, 'everything'));
  assert.match(warned.stderr, /Warning: spec\.selector: selector without labels/);
  const deprecated = await accepted({ ...vs('mirrored', 50), spec: { ...vs('mirrored', 50).spec, http: [{ route: [{ destination: { host: 'reviews' } }], mirror: { host: 'mirror' }, mirrorPercent: 5 }] } });
  assert.match(deprecated.stderr, /Warning: spec\.http\[0\]\.mirrorPercent: deprecated/);

  const metrics = await (await fetch(`http://127.0.0.1:${controller.adminPort}/metrics`)).text();
  assert.match(metrics, /weft_validate_total\{kind="VirtualService",result="denied"[^}]*\} [1-9]/);
  assert.match(metrics, /weft_validate_total\{kind="ServiceProfile",result="allowed"[^}]*\} [1-9]/);
});
