import type { CheckInput } from '../../src/check/types.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { makeCA, makeLeaf, type CertOptions, type TestCert } from './certs.ts';

// A healthy installation as the API server would list it (shapes as the chart renders them and
// as kube-apiserver 1.20 returns them), which each test then breaks in one way.

export const NS = 'weft';
export const SELECTOR = 'app.kubernetes.io/part-of=weft,app.kubernetes.io/component=controller';
export const NOW = new Date('2026-06-01T12:00:00Z');
const HOUR = 3_600_000;

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

export function controllerPod(name: string, ready = true, startTime = new Date(NOW.getTime() - 48 * HOUR)): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: NS,
      labels: { 'app.kubernetes.io/part-of': 'weft', 'app.kubernetes.io/component': 'controller', 'pod-template-hash': '7d9f' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'weft-controller-7d9f', controller: true }],
      creationTimestamp: startTime.toISOString(),
    },
    spec: {
      containers: [{ name: 'controller', image: 'ghcr.io/weft-mesh/weft:0.1.0' }],
      volumes: [
        { name: 'webhook-tls', secret: { secretName: 'weft-webhook-tls' } },
        { name: 'identity-issuer', secret: { secretName: 'weft-identity-issuer' } },
        { name: 'trust-roots', configMap: { name: 'weft-identity-trust-roots' } },
        { name: 'config', configMap: { name: 'weft-config' } },
      ],
    },
    status: ready
      ? {
          phase: 'Running',
          startTime: startTime.toISOString(),
          conditions: [{ type: 'Ready', status: 'True' }],
          containerStatuses: [{ name: 'controller', ready: true, state: { running: { startedAt: startTime.toISOString() } } }],
        }
      : {
          phase: 'Running',
          startTime: startTime.toISOString(),
          conditions: [{ type: 'Ready', status: 'False' }],
          containerStatuses: [{ name: 'controller', ready: false, state: { waiting: { reason: 'CrashLoopBackOff' } } }],
        },
  };
}

export function webhookConfig(kind: 'MutatingWebhookConfiguration' | 'ValidatingWebhookConfiguration', caPEM: string, name?: string): KubeObject {
  const mutating = kind === 'MutatingWebhookConfiguration';
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind,
    metadata: { name: name ?? (mutating ? 'weft-proxy-injector' : 'weft-validator'), labels: { 'app.kubernetes.io/part-of': 'weft' } },
    webhooks: [
      {
        name: mutating ? 'proxy-injector.weft.io' : 'validator.weft.io',
        clientConfig: { service: { name: 'weft-webhook', namespace: NS, path: mutating ? '/inject' : '/validate', port: 443 }, caBundle: b64(caPEM) },
        sideEffects: 'None',
        admissionReviewVersions: ['v1', 'v1beta1'],
        // As the chart renders them.
        ...(mutating
          ? {
              namespaceSelector: {
                matchExpressions: [
                  { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'kube-node-lease', NS] },
                  { key: 'config.linkerd.io/admission-webhooks', operator: 'NotIn', values: ['disabled'] },
                ],
              },
              objectSelector: {
                matchExpressions: [
                  { key: 'app.kubernetes.io/part-of', operator: 'NotIn', values: ['weft'] },
                  { key: 'config.linkerd.io/admission-webhooks', operator: 'NotIn', values: ['disabled'] },
                ],
              },
            }
          : {}),
      },
    ],
  };
}

export function tlsSecret(name: string, cert: TestCert, ca?: TestCert): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: { name, namespace: NS },
    data: { 'tls.crt': b64(cert.certPEM), 'tls.key': b64(cert.keyPEM), ...(ca ? { 'ca.crt': b64(ca.certPEM) } : {}) },
  };
}

export function trustRootsConfigMap(pem: string): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'weft-identity-trust-roots', namespace: NS }, data: { 'ca-bundle.crt': pem } };
}

export function namespace(name: string, annotations: Record<string, string> = {}, labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels }, annotations } };
}

export interface AppPodOptions {
  containers?: string[];
  initContainers?: string[];
  owner?: { kind: string; name: string };
  hash?: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  phase?: string;
  created?: Date;
  hostNetwork?: boolean;
}

export function appPod(ns: string, name: string, options: AppPodOptions = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: ns,
      labels: { app: name, ...(options.hash ? { 'pod-template-hash': options.hash } : {}), ...options.labels },
      annotations: options.annotations ?? {},
      creationTimestamp: (options.created ?? new Date(NOW.getTime() - 72 * HOUR)).toISOString(),
      ...(options.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: options.owner.kind, name: options.owner.name, controller: true }] } : {}),
    },
    spec: {
      ...(options.hostNetwork ? { hostNetwork: true } : {}),
      containers: (options.containers ?? ['app']).map((c) => ({ name: c, image: 'example/app:1' })),
      ...(options.initContainers ? { initContainers: options.initContainers.map((c) => ({ name: c, image: 'example/init:1' })) } : {}),
    },
    status: { phase: options.phase ?? 'Running' },
  };
}

export interface Installation {
  webhookCA: TestCert;
  serving: TestCert;
  anchor: TestCert;
  issuer: TestCert;
  input: CheckInput;
}

export interface InstallationOptions {
  serving?: CertOptions;
  anchor?: CertOptions;
  issuer?: CertOptions;
}

/** Everything healthy: two ready controllers, both webhooks, fresh certificates, one meshed namespace. */
export async function healthyInstallation(options: InstallationOptions = {}): Promise<Installation> {
  const now = NOW.getTime();
  const webhookCA = await makeCA('weft-webhook-ca', { now });
  const serving = await makeLeaf(webhookCA, ['weft-webhook', 'weft-webhook.weft', 'weft-webhook.weft.svc', 'weft-webhook.weft.svc.cluster.local'], { now, ...options.serving });
  const anchor = await makeCA('root.identity.cluster.local', { now, days: 3650, ...options.anchor });
  const issuer = await makeCA('identity.weft.cluster.local', { now, days: 365, ...options.issuer }, anchor);
  const input: CheckInput = {
    now: NOW,
    serverVersion: { ok: true, value: { major: '1', minor: '20', gitVersion: 'v1.20.2' } },
    namespace: NS,
    selector: SELECTOR,
    controllerPods: { ok: true, value: [controllerPod('weft-controller-7d9f-a'), controllerPod('weft-controller-7d9f-b')] },
    mutatingWebhookConfigurations: { ok: true, value: [webhookConfig('MutatingWebhookConfiguration', webhookCA.certPEM)] },
    validatingWebhookConfigurations: { ok: true, value: [webhookConfig('ValidatingWebhookConfiguration', webhookCA.certPEM)] },
    webhookSecret: { ok: true, value: tlsSecret('weft-webhook-tls', serving, webhookCA) },
    issuerSecret: { ok: true, value: tlsSecret('weft-identity-issuer', issuer) },
    trustRoots: { ok: true, value: trustRootsConfigMap(anchor.certPEM) },
    injectorConfig: { ok: true, value: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'weft-config', namespace: NS }, data: { 'config.yaml': 'proxy:\n  image: ghcr.io/weft-mesh/weft\n  version: 0.1.0\n  logLevel: info\n' } } },
    namespaces: { ok: true, value: [namespace('kube-system'), namespace(NS), namespace('shop', { 'linkerd.io/inject': 'enabled' }), namespace('plain')] },
    podsByNamespace: {
      shop: {
        ok: true,
        value: [appPod('shop', 'web-5c8d-x1', { containers: ['web', 'weft-proxy'], initContainers: ['weft-init'], owner: { kind: 'ReplicaSet', name: 'web-5c8d' }, hash: '5c8d' })],
      },
    },
    warnDays: 30,
  };
  return { webhookCA, serving, anchor, issuer, input };
}
