import type { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { isRecord, type KubeObject } from '../kube/types.ts';
import { chainsTo, decodeBase64PEM, describe, parseCertificates } from './certs.ts';
import { fetchFailure, records, str, VOLUMES } from './objects.ts';
import { selectorMatches } from './selector.ts';
import type { CheckInput, CheckResult, Fetched } from './types.ts';

// The webhook configurations: are they registered, and does their caBundle trust the serving
// certificate for the name the API server dials. Their selectors also say which pods the
// injector ever sees.

export interface WebhookRef {
  config: string;
  webhook: string;
  caBundle: string;
  /** The DNS name or IP the API server dials. */
  host: string;
  namespaceSelector: unknown;
  objectSelector: unknown;
}

/** Webhooks of our configurations that send to this controller (by Service namespace, or by URL). */
export function ourWebhooks(configs: readonly KubeObject[], namespace: string): { config: KubeObject; hooks: WebhookRef[] }[] {
  const result: { config: KubeObject; hooks: WebhookRef[] }[] = [];
  for (const config of configs) {
    const hooks: WebhookRef[] = [];
    const labelled = config.metadata?.labels?.['app.kubernetes.io/part-of'] === 'weft';
    for (const hook of records(config.webhooks)) {
      const client = isRecord(hook.clientConfig) ? hook.clientConfig : {};
      const service = isRecord(client.service) ? client.service : undefined;
      let host: string | undefined;
      if (service && service.namespace === namespace) host = `${str(service.name)}.${namespace}.svc`;
      else if (!service && labelled && str(client.url)) host = new URL(str(client.url)!).hostname.replace(/^\[|\]$/g, '');
      if (host === undefined) continue;
      hooks.push({
        config: config.metadata?.name ?? '(unnamed)',
        webhook: str(hook.name) ?? '(unnamed)',
        caBundle: str(client.caBundle) ?? '',
        host,
        namespaceSelector: hook.namespaceSelector,
        objectSelector: hook.objectSelector,
      });
    }
    if (hooks.length > 0) result.push({ config, hooks });
  }
  return result;
}

export function webhookChecks(input: CheckInput, servingPEM: Fetched<string> | undefined): CheckResult[] {
  const results: CheckResult[] = [];
  const all: WebhookRef[] = [];
  const kinds = [
    ['mutating', input.mutatingWebhookConfigurations, 'fail'],
    // The chart can turn validation off; that leaves policies unchecked, not pods broken.
    ['validating', input.validatingWebhookConfigurations, 'warn'],
  ] as const;
  for (const [kind, fetched, missingStatus] of kinds) {
    const base = { category: 'webhooks', id: `${kind}-webhook-registered`, description: `${kind} webhook configuration is registered` };
    if (!fetched.ok) {
      results.push(fetchFailure(base.description, base.category, base.id, `${kind} webhook configurations`, fetched.error));
      continue;
    }
    const ours = ourWebhooks(fetched.value, input.namespace);
    if (ours.length === 0) {
      results.push({ ...base, status: missingStatus, message: `no ${kind} webhook configuration sends to namespace ${input.namespace}`, hint: 'reinstall or upgrade the chart (helm upgrade --install)' });
      continue;
    }
    results.push({ ...base, status: 'pass', message: ours.map((o) => o.config.metadata?.name).join(', ') });
    all.push(...ours.flatMap((o) => o.hooks));
  }
  if (all.length === 0) return results;

  const base = { category: 'webhooks', id: 'webhook-ca-bundle', description: 'webhook caBundle verifies the serving certificate' };
  if (servingPEM === undefined) {
    results.push({ ...base, status: 'fail', message: `the serving certificate is unknown: no controller pod mounts a "${VOLUMES.webhook}" Secret` });
    return results;
  }
  if (!servingPEM.ok) {
    results.push({ ...base, status: 'fail', message: servingPEM.error });
    return results;
  }
  const [leaf] = parseCertificates(servingPEM.value);
  if (!leaf) {
    results.push({ ...base, status: 'fail', message: 'the serving certificate Secret holds no certificate in tls.crt' });
    return results;
  }
  const problems: string[] = [];
  for (const hook of all) {
    const name = `${hook.config}/${hook.webhook}`;
    let roots: X509Certificate[];
    try {
      roots = parseCertificates(decodeBase64PEM(hook.caBundle));
    } catch (error) {
      problems.push(`${name}: caBundle is not a PEM certificate (${(error as Error).message})`);
      continue;
    }
    if (roots.length === 0) {
      problems.push(`${name}: caBundle is empty${hook.caBundle === '' ? ' (is cert-manager\'s CA injector running?)' : ''}`);
    } else if (!chainsTo(leaf, roots)) {
      problems.push(`${name}: caBundle (${roots.map(describe).join(', ')}) did not sign the serving certificate (${describe(leaf)}, issued by ${leaf.issuer.replace(/\n/g, ', ')})`);
    } else if (!(isIP(hook.host) ? leaf.checkIP(hook.host) : leaf.checkHost(hook.host))) {
      problems.push(`${name}: the serving certificate does not name ${hook.host} (${leaf.subjectAltName ?? 'no SANs'})`);
    }
  }
  if (problems.length === 0) {
    results.push({ ...base, status: 'pass', message: `${all.length} webhook${all.length === 1 ? '' : 's'} trust ${describe(leaf)}` });
  } else {
    results.push({ ...base, status: 'fail', message: problems.join('; '), hint: 'the API server will refuse to call these webhooks; re-render the certificates (helm upgrade) or check the caBundle / cert-manager CA injection' });
  }
  return results;
}

/**
 * Whether the API server sends a namespace's (or a pod's) creations to the injector, by the
 * selectors of the injector webhooks found; without any, every namespace but the controller's.
 */
export function injectorScope(input: CheckInput): { seesNamespace: (ns: KubeObject) => boolean; seesPod: (ns: KubeObject, pod: KubeObject) => boolean } {
  const hooks = input.mutatingWebhookConfigurations.ok ? ourWebhooks(input.mutatingWebhookConfigurations.value, input.namespace).flatMap((o) => o.hooks) : [];
  if (hooks.length === 0) {
    const seesNamespace = (ns: KubeObject) => ns.metadata?.name !== input.namespace;
    return { seesNamespace, seesPod: (ns) => seesNamespace(ns) };
  }
  const seesNamespace = (ns: KubeObject) => hooks.some((h) => selectorMatches(h.namespaceSelector, ns.metadata?.labels ?? {}));
  return {
    seesNamespace,
    seesPod: (ns, pod) => hooks.some((h) => selectorMatches(h.namespaceSelector, ns.metadata?.labels ?? {}) && selectorMatches(h.objectSelector, pod.metadata?.labels ?? {})),
  };
}

