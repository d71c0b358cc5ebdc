import type { ClusterState } from '../kube/cluster-state.ts';
import { isRecord } from '../kube/types.ts';
import type { FieldViolation } from './collector.ts';
import { Findings } from './collector.ts';
import { validateAuthorizationPolicy } from './authorizationpolicy.ts';
import { validateServiceProfile } from './serviceprofile.ts';
import { validateVirtualService } from './virtualservice.ts';

export type { FieldViolation } from './collector.ts';

export type ValidatedKind = 'ServiceProfile' | 'VirtualService' | 'AuthorizationPolicy';

export interface ValidationOutcome {
  /** undefined: not a kind/apiVersion weft validates (allowed untouched). */
  kind: ValidatedKind | undefined;
  /** Empty means allowed. */
  violations: FieldViolation[];
  /** Short strings, each naming the field path. */
  warnings: string[];
}

export interface ValidationContext {
  clusterState?: ClusterState;
  /** Default cluster.local. */
  clusterDomain?: string;
}

// The version is ignored within a group, as Istio's webhook does: v1alpha3, v1beta1 and v1
// VirtualServices validate alike.
const KINDS: Record<string, { kind: ValidatedKind; versions: readonly string[] }> = {
  'linkerd.io/ServiceProfile': { kind: 'ServiceProfile', versions: ['v1alpha2'] },
  'networking.istio.io/VirtualService': { kind: 'VirtualService', versions: ['v1alpha3', 'v1beta1', 'v1'] },
  'security.istio.io/AuthorizationPolicy': { kind: 'AuthorizationPolicy', versions: ['v1beta1', 'v1'] },
};

/** Which validator applies to an object, from its apiVersion group and version plus kind. */
export function validatedKind(object: unknown): ValidatedKind | undefined {
  if (!isRecord(object) || typeof object.apiVersion !== 'string' || typeof object.kind !== 'string') return undefined;
  const slash = object.apiVersion.indexOf('/');
  if (slash < 0) return undefined;
  const group = object.apiVersion.slice(0, slash);
  const version = object.apiVersion.slice(slash + 1);
  const entry = KINDS[`${group}/${object.kind}`];
  return entry && entry.versions.includes(version) ? entry.kind : undefined;
}

/** Pure apart from reading the (cached, synchronous) ClusterState.list; never throws, whatever the input. */
export function validateObject(object: unknown, context: ValidationContext = {}): ValidationOutcome {
  let kind: ValidatedKind | undefined;
  try {
    kind = validatedKind(object);
  } catch {
    return { kind: undefined, violations: [], warnings: [] };
  }
  if (kind === undefined || !isRecord(object)) return { kind: undefined, violations: [], warnings: [] };
  const findings = new Findings();
  try {
    const clusterDomain = context.clusterDomain ?? 'cluster.local';
    if (kind === 'ServiceProfile') validateServiceProfile(object, findings, { clusterState: context.clusterState, clusterDomain });
    else if (kind === 'VirtualService') validateVirtualService(object, findings, { clusterState: context.clusterState, clusterDomain });
    else validateAuthorizationPolicy(object, findings);
  } catch (error) {
    // A bug in a rule (or a stack overflow on absurd input) must not let an object through
    // unchecked nor crash the webhook: refuse it and say why.
    findings.error('', `internal validation error: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { kind, ...findings.finish() };
}

/** One human message for the AdmissionResponse status. */
export function formatRejection(kind: ValidatedKind, name: string, violations: FieldViolation[]): string {
  const parts = violations.map((v) => (v.path === '' ? v.message : `${v.path}: ${v.message}`));
  return `${kind} ${JSON.stringify(name)} is invalid: ${parts.join('; ')}`;
}

/** The `result` label of weft_validate_total for an outcome. */
export function outcomeResult(outcome: ValidationOutcome): 'skipped' | 'allowed' | 'denied' {
  if (outcome.kind === undefined) return 'skipped';
  return outcome.violations.length === 0 ? 'allowed' : 'denied';
}
