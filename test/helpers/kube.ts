import * as k8s from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';

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
