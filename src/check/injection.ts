import { parse as parseYaml } from 'yaml';
import { INJECT_ANNOTATION } from '../inject/annotations.ts';
import { defaultInjectorConfig, parseInjectorConfig } from '../inject/config.ts';
import type { KubeObject } from '../kube/types.ts';
import { configMapText, fetchFailure, hasMeshProxy, injectionEnabled, INJECT_CONFIG_KEY, isPodReady, OPT_OUT_LABEL, podSpec, podStatus, str, workloadOf } from './objects.ts';
import type { CheckInput, CheckResult } from './types.ts';
import { injectorScope } from './webhooks.ts';

// Injection: namespaces annotated, pods there that still lack a proxy (and the command that
// fixes them), and the injector configuration new pods are built from.

export function injectionChecks(input: CheckInput): CheckResult[] {
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

export function injectorConfigCheck(input: CheckInput): CheckResult | undefined {
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

