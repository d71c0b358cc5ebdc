import type { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { INJECT_ANNOTATION } from '../inject/annotations.ts';
import { defaultInjectorConfig, MESH_PROXY_CONTAINER_NAMES, parseInjectorConfig } from '../inject/config.ts';
import { parse as parseYaml } from 'yaml';
import { isRecord, type KubeObject } from '../kube/types.ts';
import { chainsTo, decodeBase64PEM, describe, parseCertificates, validity } from './certs.ts';
import { selectorMatches } from './selector.ts';
import type { CertificateSources, CheckInput, CheckResult, Fetched } from './types.ts';

// The decisions of `weft check`: listed objects and certificates in, check results out. No I/O,
// so every branch is tested on real objects and real certificates.

/** Volume names the chart's Deployment uses for its certificates. */
export const VOLUMES = { webhook: 'webhook-tls', issuer: 'identity-issuer', trustRoots: 'trust-roots', config: 'config' } as const;
export const TRUST_ROOTS_KEY = 'ca-bundle.crt';
export const INJECT_CONFIG_KEY = 'config.yaml';

const OPT_OUT_LABEL = 'config.linkerd.io/admission-webhooks';

function records(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function podSpec(pod: KubeObject): Record<string, unknown> {
  return isRecord(pod.spec) ? pod.spec : {};
}

function podStatus(pod: KubeObject): Record<string, unknown> {
  return isRecord(pod.status) ? pod.status : {};
}

/** Reads which Secret and ConfigMap the controller pods mount for their certificates. */
export function certificateSources(pods: readonly KubeObject[]): CertificateSources {
  const sources: CertificateSources = {};
  for (const pod of pods) {
    for (const volume of records(podSpec(pod).volumes)) {
      const secret = isRecord(volume.secret) ? str(volume.secret.secretName) : undefined;
      const configMap = isRecord(volume.configMap) ? str(volume.configMap.name) : undefined;
      if (volume.name === VOLUMES.webhook && secret) sources.webhookSecret ??= secret;
      if (volume.name === VOLUMES.issuer && secret) sources.issuerSecret ??= secret;
      if (volume.name === VOLUMES.trustRoots && configMap) sources.trustRootsConfigMap ??= configMap;
      if (volume.name === VOLUMES.config && configMap) sources.injectorConfigMap ??= configMap;
    }
  }
  return sources;
}

export function isPodReady(pod: KubeObject): boolean {
  const status = podStatus(pod);
  return status.phase === 'Running' && records(status.conditions).some((c) => c.type === 'Ready' && c.status === 'True');
}

function whyNotReady(pod: KubeObject): string {
  const status = podStatus(pod);
  for (const cs of records(status.containerStatuses)) {
    const waiting = isRecord(cs.state) && isRecord(cs.state.waiting) ? str(cs.state.waiting.reason) : undefined;
    if (waiting) return `${str(cs.name) ?? 'container'} ${waiting}`;
    if (cs.ready === false && isRecord(cs.state) && isRecord(cs.state.running)) return `${str(cs.name) ?? 'container'} running, not ready`;
  }
  return str(status.phase) ?? 'no status';
}

export function hasMeshProxy(pod: KubeObject): boolean {
  const spec = podSpec(pod);
  return [...records(spec.containers), ...records(spec.initContainers)].some((c) => MESH_PROXY_CONTAINER_NAMES.has(str(c.name) ?? ''));
}

export function injectionEnabled(namespace: KubeObject): boolean {
  const value = namespace.metadata?.annotations?.[INJECT_ANNOTATION];
  return value === 'enabled' || value === 'ingress';
}

function fetchFailure(description: string, category: string, id: string, what: string, error: string): CheckResult {
  return { category, id, description, status: 'fail', message: `cannot read ${what}: ${error}` };
}

function controllerChecks(input: CheckInput): CheckResult[] {
  const base = { category: 'controller', id: 'controller-pods-ready', description: 'controller pods are ready' };
  if (!input.controllerPods.ok) return [fetchFailure(base.description, base.category, base.id, `pods in ${input.namespace}`, input.controllerPods.error)];
  const pods = input.controllerPods.value.filter((p) => !p.metadata?.['deletionTimestamp']);
  if (pods.length === 0) {
    return [{ ...base, status: 'fail', message: `no controller pods in namespace ${input.namespace} match ${input.selector}`, hint: `is weft installed there? helm install weft charts/weft --namespace ${input.namespace} --create-namespace` }];
  }
  const notReady = pods.filter((p) => !isPodReady(p));
  const summary = `${pods.length - notReady.length}/${pods.length} ready`;
  if (notReady.length === 0) return [{ ...base, status: 'pass', message: summary }];
  const details = notReady.map((p) => `${p.metadata?.name} (${whyNotReady(p)})`).join(', ');
  const hint = `kubectl --namespace ${input.namespace} describe pod ${notReady[0]!.metadata?.name}`;
  // One ready replica still answers admission; none means every webhook call fails.
  const status = notReady.length === pods.length ? 'fail' : 'warn';
  return [{ ...base, status, message: `${summary}; not ready: ${details}`, hint }];
}

interface WebhookRef {
  config: string;
  webhook: string;
  caBundle: string;
  /** The DNS name or IP the API server dials. */
  host: string;
  namespaceSelector: unknown;
  objectSelector: unknown;
}

/** Webhooks of our configurations that send to this controller (by Service namespace, or by URL). */
function ourWebhooks(configs: readonly KubeObject[], namespace: string): { config: KubeObject; hooks: WebhookRef[] }[] {
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

function webhookChecks(input: CheckInput, servingPEM: Fetched<string> | undefined): CheckResult[] {
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

function certificateCheck(id: string, label: string, pem: Fetched<string> | undefined, input: CheckInput, missing: string): CheckResult {
  const base = { category: 'certificates', id, description: `${label} is valid for more than ${input.warnDays} days` };
  if (pem === undefined) return { ...base, status: 'fail', message: missing };
  if (!pem.ok) return { ...base, status: 'fail', message: pem.error };
  let certs: X509Certificate[];
  try {
    certs = parseCertificates(pem.value);
  } catch (error) {
    return { ...base, status: 'fail', message: `not a valid PEM certificate: ${(error as Error).message}` };
  }
  if (certs.length === 0) return { ...base, status: 'fail', message: 'no certificate found' };
  // A bundle is as healthy as its worst certificate: proxies trust each of them.
  const judged = certs.map((cert) => ({ cert, v: validity(cert, input.now, input.warnDays) })).sort((a, b) => a.v.daysLeft - b.v.daysLeft);
  const worst = judged.find((j) => j.v.state === 'expired' || j.v.state === 'not-yet-valid') ?? judged[0]!;
  const what = `${describe(worst.cert)} ${worst.v.state === 'not-yet-valid' ? `is not valid before ${new Date(worst.cert.validFrom).toISOString()}` : `expires ${worst.v.notAfter.toISOString()}`}`;
  switch (worst.v.state) {
    case 'expired':
      return { ...base, status: 'fail', message: `${describe(worst.cert)} expired ${worst.v.notAfter.toISOString()}`, hint: `replace the ${label} now` };
    case 'not-yet-valid':
      return { ...base, status: 'fail', message: what, hint: 'check the clocks of the machine that made it and of the nodes' };
    case 'expiring':
      return { ...base, status: 'warn', message: `${what} (${worst.v.daysLeft} days left)`, hint: `renew the ${label} before it expires` };
    default:
      return { ...base, status: 'pass', message: `${what} (${worst.v.daysLeft} days left)` };
  }
}

function issuerChainCheck(issuerPEM: Fetched<string> | undefined, anchorsPEM: Fetched<string> | undefined): CheckResult | undefined {
  if (!issuerPEM?.ok || !anchorsPEM?.ok) return undefined;
  const base = { category: 'certificates', id: 'issuer-signed-by-trust-anchor', description: 'identity issuer is a CA signed by the trust anchor' };
  let issuer: X509Certificate | undefined;
  let anchors: X509Certificate[];
  try {
    issuer = parseCertificates(issuerPEM.value)[0];
    anchors = parseCertificates(anchorsPEM.value);
  } catch {
    return undefined; // already reported by the validity checks
  }
  if (!issuer || anchors.length === 0) return undefined;
  if (!issuer.ca) return { ...base, status: 'fail', message: `${describe(issuer)} is not a CA certificate, so it cannot sign proxy certificates` };
  if (!chainsTo(issuer, anchors)) {
    return { ...base, status: 'fail', message: `${describe(issuer)} is not signed by the trust anchor (${anchors.map(describe).join(', ')}): proxies will reject every certificate it issues`, hint: 'issue the issuer from the trust anchor, or put its root in identity.trustAnchor.pem' };
  }
  return { ...base, status: 'pass', message: `${describe(issuer)} chains to ${anchors.map(describe).join(', ')}` };
}

/** The workload to restart for a pod, from its controller owner reference. */
export function workloadOf(pod: KubeObject): { kind: string; name: string } | undefined {
  const owner = pod.metadata?.ownerReferences?.find((o) => o.controller) ?? pod.metadata?.ownerReferences?.[0];
  if (!owner) return undefined;
  if (owner.kind === 'ReplicaSet') {
    const hash = pod.metadata?.labels?.['pod-template-hash'];
    if (hash && owner.name.endsWith(`-${hash}`)) return { kind: 'deployment', name: owner.name.slice(0, -hash.length - 1) };
    return { kind: 'replicaset', name: owner.name };
  }
  if (owner.kind === 'StatefulSet' || owner.kind === 'DaemonSet') return { kind: owner.kind.toLowerCase(), name: owner.name };
  return { kind: owner.kind.toLowerCase(), name: owner.name };
}

/**
 * Whether the API server sends a namespace's (or a pod's) creations to the injector, by the
 * selectors of the injector webhooks found; without any, every namespace but the controller's.
 */
function injectorScope(input: CheckInput): { seesNamespace: (ns: KubeObject) => boolean; seesPod: (ns: KubeObject, pod: KubeObject) => boolean } {
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

function injectionChecks(input: CheckInput): CheckResult[] {
  const nsBase = { category: 'injection', id: 'namespaces-annotated', description: 'namespaces are annotated for injection' };
  if (!input.namespaces.ok) return [fetchFailure(nsBase.description, nsBase.category, nsBase.id, 'namespaces', input.namespaces.error)];
  const annotated = input.namespaces.value.filter(injectionEnabled);
  const enabled = annotated.map((n) => n.metadata?.name ?? '').filter((n) => n !== '');
  const results: CheckResult[] = [];
  if (enabled.length === 0) {
    results.push({ ...nsBase, status: 'warn', message: `no namespace has ${INJECT_ANNOTATION}=enabled, so no pod gets the proxy`, hint: `kubectl annotate namespace NAMESPACE ${INJECT_ANNOTATION}=enabled` });
    return results;
  }
  results.push({ ...nsBase, status: 'pass', message: enabled.join(', ') });
  const scope = injectorScope(input);
  const excluded = annotated.filter((ns) => !scope.seesNamespace(ns)).map((ns) => ns.metadata?.name ?? '');
  if (excluded.length > 0) {
    results.push({
      category: 'injection',
      id: 'namespaces-reachable',
      description: 'annotated namespaces are seen by the injector',
      status: 'warn',
      message: `the injector webhook's namespaceSelector excludes ${excluded.join(', ')}, so the annotation there has no effect`,
    });
  }

  const base = { category: 'injection', id: 'pods-have-proxy', description: 'pods in injected namespaces have the proxy' };
  const unreadable: string[] = [];
  const lacking: KubeObject[] = [];
  let meshed = 0;
  for (const namespace of annotated) {
    const ns = namespace.metadata?.name ?? '';
    const pods = input.podsByNamespace[ns];
    if (!pods || !scope.seesNamespace(namespace)) continue;
    if (!pods.ok) {
      unreadable.push(`${ns}: ${pods.error}`);
      continue;
    }
    for (const pod of pods.value) {
      const phase = podStatus(pod).phase;
      if (phase === 'Succeeded' || phase === 'Failed' || pod.metadata?.['deletionTimestamp']) continue;
      // Pods that opted out, or that the injector would never touch, are not missing anything.
      if (pod.metadata?.annotations?.[INJECT_ANNOTATION] === 'disabled') continue;
      if (pod.metadata?.labels?.[OPT_OUT_LABEL] === 'disabled' || !scope.seesPod(namespace, pod)) continue;
      if (podSpec(pod).hostNetwork === true) continue;
      if (hasMeshProxy(pod)) meshed++;
      else lacking.push(pod);
    }
  }
  if (unreadable.length > 0) results.push({ ...base, status: 'fail', message: `cannot list pods: ${unreadable.join('; ')}` });
  if (lacking.length === 0) {
    if (unreadable.length === 0) results.push({ ...base, status: 'pass', message: `${meshed} pod${meshed === 1 ? '' : 's'} meshed` });
    return results;
  }
  const restarts = new Map<string, Set<string>>();
  const deletes: string[] = [];
  for (const pod of lacking) {
    const ns = pod.metadata?.namespace ?? '';
    const workload = workloadOf(pod);
    if (workload && ['deployment', 'statefulset', 'daemonset'].includes(workload.kind)) {
      if (!restarts.has(ns)) restarts.set(ns, new Set());
      restarts.get(ns)!.add(`${workload.kind}/${workload.name}`);
    } else {
      deletes.push(`${ns}/${pod.metadata?.name}${workload ? ` (owned by ${workload.kind}/${workload.name}: recreate it)` : ' (no owner: delete and create it again)'}`);
    }
  }
  const commands = [...restarts].map(([ns, workloads]) => `kubectl rollout restart --namespace ${ns} ${[...workloads].sort().join(' ')}`);
  if (deletes.length > 0) commands.push(`recreate: ${deletes.join(', ')}`);
  const names = lacking.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`);
  const shown = names.length > 10 ? [...names.slice(0, 10), `and ${names.length - 10} more`] : names;
  let message = `${lacking.length} pod${lacking.length === 1 ? '' : 's'} without the proxy: ${shown.join(', ')}`;
  // Pods created after the controller came up and still unmeshed point at the webhook, not at
  // pods that predate the annotation.
  const controllerStart = earliestStart(input);
  const afterStart = controllerStart === undefined ? [] : lacking.filter((p) => (Date.parse(p.metadata?.creationTimestamp ?? '') || 0) > controllerStart);
  if (afterStart.length > 0) message += `; ${afterStart.length} of them were created after the controller started, so the injector may have been unreachable (failurePolicy Ignore admits pods without it)`;
  results.push({ ...base, status: 'warn', message, hint: commands.join('\n') });
  return results;
}

function earliestStart(input: CheckInput): number | undefined {
  if (!input.controllerPods.ok) return undefined;
  const starts = input.controllerPods.value.filter(isPodReady).map((p) => Date.parse(str(podStatus(p).startTime) ?? '')).filter((t) => Number.isFinite(t));
  return starts.length > 0 ? Math.min(...starts) : undefined;
}

function secretPEM(secret: Fetched<KubeObject> | undefined, key: string): Fetched<string> | undefined {
  if (secret === undefined) return undefined;
  if (!secret.ok) return secret;
  const data = isRecord(secret.value.data) ? secret.value.data : {};
  const value = data[key];
  if (typeof value !== 'string' || value === '') return { ok: false, error: `${secret.value.kind ?? 'Secret'} ${secret.value.metadata?.name} has no ${key}` };
  return { ok: true, value: decodeBase64PEM(value) };
}

function configMapText(configMap: Fetched<KubeObject> | undefined, key: string): Fetched<string> | undefined {
  if (configMap === undefined) return undefined;
  if (!configMap.ok) return configMap;
  const data = isRecord(configMap.value.data) ? configMap.value.data : {};
  const value = data[key];
  if (typeof value !== 'string' || value.trim() === '') return { ok: false, error: `ConfigMap ${configMap.value.metadata?.name} has no ${key}` };
  return { ok: true, value };
}

function injectorConfigCheck(input: CheckInput): CheckResult | undefined {
  if (input.injectorConfig === undefined) return undefined;
  const base = { category: 'injection', id: 'injector-config-valid', description: 'injector configuration is valid' };
  const text = configMapText(input.injectorConfig, INJECT_CONFIG_KEY);
  if (!text?.ok) return { ...base, status: 'fail', message: text?.error ?? 'missing' };
  try {
    // The controller's own parser: what it would refuse at start (or on reload) is refused here.
    const config = parseInjectorConfig(parseYaml(text.value), defaultInjectorConfig('0.0.0'), `ConfigMap ${input.injectorConfig.ok ? input.injectorConfig.value.metadata?.name : ''}`);
    return { ...base, status: 'pass', message: `new pods get ${config.proxy.image}:${config.proxy.version} (log level ${config.proxy.logLevel}${config.proxy.nativeSidecar ? ', native sidecar' : ''})` };
  } catch (error) {
    return { ...base, status: 'fail', message: (error as Error).message, hint: 'fix the chart values and run helm upgrade' };
  }
}

/** The oldest Kubernetes the chart supports (Chart.yaml kubeVersion). */
export const MIN_KUBERNETES = { major: 1, minor: 20 } as const;

function apiChecks(input: CheckInput): CheckResult[] {
  const reach = { category: 'kubernetes-api', id: 'kubernetes-api-reachable', description: 'can reach the Kubernetes API' };
  if (!input.serverVersion.ok) {
    return [{ ...reach, status: 'fail', message: input.serverVersion.error, hint: 'check KUBECONFIG (or --kubeconfig), the current context and the network' }];
  }
  const { gitVersion } = input.serverVersion.value;
  const results: CheckResult[] = [{ ...reach, status: 'pass', message: `Kubernetes ${gitVersion}` }];
  const major = Number.parseInt(input.serverVersion.value.major, 10);
  // Managed clusters report minors such as "27+".
  const minor = Number.parseInt(input.serverVersion.value.minor, 10);
  const version = { category: 'kubernetes-api', id: 'kubernetes-version', description: `Kubernetes is ${MIN_KUBERNETES.major}.${MIN_KUBERNETES.minor} or newer` };
  if (!Number.isFinite(major) || !Number.isFinite(minor)) {
    results.push({ ...version, status: 'warn', message: `cannot read the version from ${JSON.stringify(input.serverVersion.value)}` });
  } else if (major < MIN_KUBERNETES.major || (major === MIN_KUBERNETES.major && minor < MIN_KUBERNETES.minor)) {
    results.push({ ...version, status: 'fail', message: `${gitVersion} is older than weft supports` });
  } else {
    results.push({ ...version, status: 'pass', message: gitVersion });
  }
  return results;
}

export function runChecks(input: CheckInput): CheckResult[] {
  const api = apiChecks(input);
  // Without the API every other check would repeat the same connection error.
  if (!input.serverVersion.ok) return api;
  const serving = secretPEM(input.webhookSecret, 'tls.crt');
  const issuer = secretPEM(input.issuerSecret, 'tls.crt');
  const anchors = configMapText(input.trustRoots, TRUST_ROOTS_KEY);
  // The certificates are found through the controller pods' volumes; without pods, say that.
  const noPods = !input.controllerPods.ok || input.controllerPods.value.length === 0;
  const missing = (what: string) => (noPods ? 'unknown: no controller pods to read the certificate location from' : `the controller pods mount no ${what}`);
  const certificates = [
    certificateCheck('webhook-certificate-validity', 'webhook serving certificate', serving, input, missing(`"${VOLUMES.webhook}" Secret`)),
    certificateCheck('issuer-certificate-validity', 'identity issuer certificate', issuer, input, missing(`"${VOLUMES.issuer}" Secret`)),
    certificateCheck('trust-anchor-validity', 'trust anchor', anchors, input, missing(`"${VOLUMES.trustRoots}" ConfigMap`)),
  ];
  const chain = issuerChainCheck(issuer, anchors);
  const injector = injectorConfigCheck(input);
  return [...api, ...controllerChecks(input), ...webhookChecks(input, serving), ...certificates, ...(chain ? [chain] : []), ...(injector ? [injector] : []), ...injectionChecks(input)];
}
