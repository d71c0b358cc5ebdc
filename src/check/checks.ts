import { certificateCheck, issuerChainCheck } from './certificate-checks.ts';
import { injectionChecks, injectorConfigCheck } from './injection.ts';
import { configMapText, fetchFailure, isPodReady, secretPEM, TRUST_ROOTS_KEY, VOLUMES, whyNotReady } from './objects.ts';
import type { CheckInput, CheckResult } from './types.ts';
import { webhookChecks } from './webhooks.ts';

// The decisions of `weft check`: listed objects and certificates in, check results out. No I/O,
// so every branch is tested on real objects and real certificates.

export { certificateSources, injectionEnabled, workloadOf } from './objects.ts';

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

