import { delimiter } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { KubeObject } from '../kube/types.ts';
import { certificateSources, injectionEnabled } from './objects.ts';
import type { CheckInput, Fetched } from './types.ts';

// Reads what `weft check` decides on from the API server. Every read is allowed to fail on its
// own: a missing permission or object becomes a failed check, not a crash.

export interface GatherOptions {
  namespace: string;
  selector: string;
  warnDays: number;
  kubeconfig?: string;
  now?: Date;
}

/** client-node returns typed models (Dates, class instances); the checks take plain API JSON. */
function plain<T>(value: unknown): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function describeError(error: unknown): string {
  const record = error as { code?: unknown; body?: unknown; message?: unknown };
  if (typeof record.code === 'number') {
    let reason = '';
    try {
      const body = typeof record.body === 'string' ? (JSON.parse(record.body) as { message?: string }) : (record.body as { message?: string } | undefined);
      reason = body?.message ?? '';
    } catch {
      reason = String(record.body ?? '');
    }
    return `HTTP ${record.code}${reason ? `: ${reason}` : ''}`;
  }
  if (error instanceof Error) {
    // fetch wraps the socket error ("fetch failed"); the cause says what actually happened.
    const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
    const detail = cause ? [cause.code, cause.message].filter((x) => typeof x === 'string' && x !== '').join(' ') : '';
    return detail && !error.message.includes(detail) ? `${error.message}: ${detail}` : error.message;
  }
  return String(error);
}

async function fetched<T>(read: () => Promise<unknown>): Promise<Fetched<T>> {
  try {
    return { ok: true, value: plain<T>(await read()) };
  } catch (error) {
    return { ok: false, error: describeError(error) };
  }
}

async function items(read: () => Promise<{ items: unknown[] }>): Promise<Fetched<KubeObject[]>> {
  return fetched<KubeObject[]>(async () => (await read()).items);
}

export function loadKubeConfig(file: string | undefined): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  // A KUBECONFIG list (a:b) is merged the way kubectl does, which loadFromDefault knows.
  if (file && !file.includes(delimiter)) kc.loadFromFile(file);
  else kc.loadFromDefault();
  return kc;
}

export async function gather(kc: k8s.KubeConfig, options: GatherOptions): Promise<CheckInput> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const admission = kc.makeApiClient(k8s.AdmissionregistrationV1Api);
  const { namespace } = options;
  const serverVersion = await fetched<{ major: string; minor: string; gitVersion: string }>(() => kc.makeApiClient(k8s.VersionApi).getCode());
  const [controllerPods, mutating, validating, namespaces] = await Promise.all([
    items(() => core.listNamespacedPod({ namespace, labelSelector: options.selector })),
    items(() => admission.listMutatingWebhookConfiguration()),
    items(() => admission.listValidatingWebhookConfiguration()),
    items(() => core.listNamespace()),
  ]);
  const sources = controllerPods.ok ? certificateSources(controllerPods.value) : {};
  const [webhookSecret, issuerSecret, trustRoots, injectorConfig] = await Promise.all([
    sources.webhookSecret ? fetched<KubeObject>(() => core.readNamespacedSecret({ name: sources.webhookSecret!, namespace })) : undefined,
    sources.issuerSecret ? fetched<KubeObject>(() => core.readNamespacedSecret({ name: sources.issuerSecret!, namespace })) : undefined,
    sources.trustRootsConfigMap ? fetched<KubeObject>(() => core.readNamespacedConfigMap({ name: sources.trustRootsConfigMap!, namespace })) : undefined,
    sources.injectorConfigMap ? fetched<KubeObject>(() => core.readNamespacedConfigMap({ name: sources.injectorConfigMap!, namespace })) : undefined,
  ]);
  const podsByNamespace: Record<string, Fetched<KubeObject[]>> = {};
  if (namespaces.ok) {
    const enabled = namespaces.value.filter(injectionEnabled).map((n) => n.metadata?.name ?? '');
    await Promise.all(
      enabled.map(async (ns) => {
        podsByNamespace[ns] = await items(() => core.listNamespacedPod({ namespace: ns }));
      }),
    );
  }
  return {
    now: options.now ?? new Date(),
    serverVersion,
    namespace,
    selector: options.selector,
    controllerPods,
    mutatingWebhookConfigurations: mutating,
    validatingWebhookConfigurations: validating,
    ...(webhookSecret ? { webhookSecret } : {}),
    ...(issuerSecret ? { issuerSecret } : {}),
    ...(trustRoots ? { trustRoots } : {}),
    ...(injectorConfig ? { injectorConfig } : {}),
    namespaces,
    podsByNamespace,
    warnDays: options.warnDays,
  };
}
