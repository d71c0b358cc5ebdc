import * as k8s from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { createWebhookCertificates } from '../../src/identity/ca.ts';
import { controllerConfigFromFlags, controllerFlagSpecs } from '../../src/controller/config.ts';
import { startController } from '../../src/controller/run.ts';
import type { RunningController } from '../../src/controller/run.ts';
import { parseFlags } from '../../src/util/flags.ts';
import { silentLog } from './admission.ts';

/** A kubeconfig from $KUBECONFIG, or a skip reason. */
export function e2eKubeConfig(): k8s.KubeConfig | string {
  const path = process.env.KUBECONFIG;
  if (!path) return 'KUBECONFIG is not set; run with a cluster (see README: npm run test:e2e)';
  const kc = new k8s.KubeConfig();
  try {
    kc.loadFromFile(path);
  } catch (error) {
    return `cannot load KUBECONFIG ${path}: ${(error as Error).message}`;
  }
  return kc;
}

export function runId(): string {
  return randomBytes(3).toString('hex');
}

export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
}

/**
 * The controller on loopback, as e2e suites register it: a fresh webhook CA whose serving
 * certificate names 127.0.0.1 (webhooks use `clientConfig.url` there), the cluster from
 * $KUBECONFIG, and the caches synced before the first admission.
 */
export async function startE2EController(t: TestContext): Promise<{ controller: RunningController; caBundle: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-e2e-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const certs = await createWebhookCertificates({ service: 'weft-controller', namespace: 'weft', ipAddresses: ['127.0.0.1'] });
  await writeFile(join(dir, 'tls.crt'), certs.serving.certPem);
  await writeFile(join(dir, 'tls.key'), certs.serving.keyPem);
  const flags = parseFlags(controllerFlagSpecs, ['--address=127.0.0.1', '--port=0', '--admin-address=127.0.0.1', '--admin-port=0', `--tls-cert=${dir}/tls.crt`, `--tls-key=${dir}/tls.key`, `--kubeconfig=${process.env.KUBECONFIG}`, '--drain-delay=0s', '--identity-disabled'], {}).flags;
  const controller = await startController(await controllerConfigFromFlags(flags, '0.1.0-e2e'), silentLog);
  t.after(() => controller.shutdown('e2e over'));
  await controller.clusterState.waitForSync();
  return { controller, caBundle: certs.caBundle };
}

/**
 * One webhook entry pointing at the loopback controller, scoped to the namespaces labelled
 * `weft-e2e=<id>` so that suites sharing a cluster never see each other's objects.
 */
export function loopbackWebhook(options: { name: string; port: number; path: string; caBundle: string; id: string; rules: k8s.V1RuleWithOperations[] }) {
  return {
    name: options.name,
    admissionReviewVersions: ['v1', 'v1beta1'],
    sideEffects: 'None',
    failurePolicy: 'Fail',
    timeoutSeconds: 10,
    clientConfig: { url: `https://127.0.0.1:${options.port}${options.path}`, caBundle: options.caBundle },
    rules: options.rules,
    namespaceSelector: { matchLabels: { 'weft-e2e': options.id } },
  };
}
