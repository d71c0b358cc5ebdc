import type { AdmissionDecision, AdmissionRequest } from '../admission/types.ts';
import type { ClusterState } from '../kube/cluster-state.ts';
import type { InjectorConfig } from '../inject/config.ts';
import { injectPod } from '../inject/inject.ts';
import { formatRejection, validateObject } from '../validate/index.ts';
import type { AdmissionMetrics } from './metrics.ts';

/** What one webhook call decided, plus what the log line and metrics need. */
export interface WebhookOutcome {
  decision: AdmissionDecision;
  result: string;
  reason?: string;
  detail?: string;
}

export interface InjectWebhookDeps {
  config: InjectorConfig;
  clusterState: ClusterState;
  onError: 'allow' | 'deny';
  metrics: AdmissionMetrics;
}

export async function reviewPod(request: AdmissionRequest, deps: InjectWebhookDeps): Promise<WebhookOutcome> {
  if (request.kind.kind !== 'Pod' || request.kind.group !== '' || request.operation !== 'CREATE' || request.subResource !== undefined) {
    return { decision: { allowed: true }, result: 'skipped', reason: 'unsupported_resource' };
  }
  const pod = request.object;
  if (pod === undefined) {
    return { decision: { allowed: true }, result: 'skipped', reason: 'unsupported_resource', detail: 'request.object is missing' };
  }
  // Pods made by controllers have only generateName, and their namespace is in the request.
  const namespace = request.namespace ?? pod.metadata?.namespace ?? 'default';
  try {
    const namespaceObject = await deps.clusterState.getNamespace(namespace);
    const result = injectPod({
      pod,
      namespace,
      namespaceAnnotations: namespaceObject?.metadata?.annotations ?? {},
      config: deps.config,
      serverVersion: deps.clusterState.serverVersion(),
    });
    if (!result.decision.inject) {
      deps.metrics.considered('skipped', result.decision.reason);
      return { decision: { allowed: true }, result: 'skipped', reason: result.decision.reason, detail: result.decision.detail };
    }
    deps.metrics.considered('injected', '');
    return { decision: { allowed: true, patch: result.patch, warnings: result.warnings }, result: 'injected' };
  } catch (error) {
    deps.metrics.considered('error', 'internal_error');
    const message = error instanceof Error ? error.message : String(error);
    if (deps.onError === 'deny') {
      return {
        decision: { allowed: false, status: { code: 500, reason: 'InternalError', message: `weft could not inject the mesh proxy: ${message}` } },
        result: 'error',
        reason: 'internal_error',
        detail: message,
      };
    }
    // Never block pod creation over the mesh: admit the pod without the proxy, loudly.
    return {
      decision: { allowed: true, warnings: [`weft could not inject the mesh proxy (${message}); the pod was admitted without it`] },
      result: 'error',
      reason: 'internal_error',
      detail: message,
    };
  }
}

export interface ValidateWebhookDeps {
  clusterState: ClusterState | undefined;
  clusterDomain: string;
  metrics: AdmissionMetrics;
}

export function reviewConfigObject(request: AdmissionRequest, deps: ValidateWebhookDeps): WebhookOutcome {
  if ((request.operation !== 'CREATE' && request.operation !== 'UPDATE') || request.subResource !== undefined || request.object === undefined) {
    return { decision: { allowed: true }, result: 'skipped' };
  }
  const outcome = validateObject(request.object, { ...(deps.clusterState ? { clusterState: deps.clusterState } : {}), clusterDomain: deps.clusterDomain });
  if (outcome.kind === undefined) return { decision: { allowed: true }, result: 'skipped' };
  const warnings = outcome.warnings;
  if (outcome.violations.length === 0) {
    deps.metrics.validate.inc({ kind: outcome.kind, result: 'allowed' });
    return { decision: { allowed: true, warnings }, result: 'allowed' };
  }
  deps.metrics.validate.inc({ kind: outcome.kind, result: 'denied' });
  const name = request.object.metadata?.name ?? request.name ?? '';
  return {
    decision: {
      allowed: false,
      warnings,
      status: {
        code: 422,
        reason: 'Invalid',
        message: formatRejection(outcome.kind, name, outcome.violations),
        details: {
          name,
          group: request.kind.group,
          kind: outcome.kind,
          causes: outcome.violations.map((violation) => ({ field: violation.path, message: violation.message, reason: 'FieldValueInvalid' })),
        },
      },
    },
    result: 'denied',
    detail: `${outcome.violations.length} violation(s)`,
  };
}
