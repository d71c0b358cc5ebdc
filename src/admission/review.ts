import { isRecord } from '../kube/types.ts';
import { serializePatch } from '../inject/patch.ts';
import type { KubeObject } from '../kube/types.ts';
import type {
  AdmissionApiVersion,
  AdmissionDecision,
  AdmissionRequest,
  AdmissionReviewRequest,
  AdmissionReviewResponse,
} from './types.ts';

export class ReviewError extends Error {
  override name = 'ReviewError';
  readonly statusCode: number;
  constructor(message: string, statusCode = 400) {
    super(message);
    this.statusCode = statusCode;
  }
}

const API_VERSIONS = new Set<string>(['admission.k8s.io/v1', 'admission.k8s.io/v1beta1']);

/**
 * Checks the envelope the API server sends and returns it typed. Anything a real API server
 * would never send is a 400 with a message that says which field is wrong; the object itself
 * is left to the webhook, which has to cope with any shape.
 */
export function parseAdmissionReview(body: unknown): AdmissionReviewRequest {
  if (!isRecord(body)) throw new ReviewError('body: expected an AdmissionReview JSON object');
  const apiVersion = body.apiVersion;
  if (typeof apiVersion !== 'string' || !API_VERSIONS.has(apiVersion)) {
    throw new ReviewError(`apiVersion: expected "admission.k8s.io/v1" or "admission.k8s.io/v1beta1", got ${describe(apiVersion)}`);
  }
  if (body.kind !== 'AdmissionReview') throw new ReviewError(`kind: expected "AdmissionReview", got ${describe(body.kind)}`);
  const request = body.request;
  if (!isRecord(request)) throw new ReviewError('request: expected an object');
  if (typeof request.uid !== 'string' || request.uid === '') throw new ReviewError('request.uid: expected a non-empty string');
  if (typeof request.operation !== 'string') throw new ReviewError('request.operation: expected a string');
  const kind = request.kind;
  if (!isRecord(kind) || typeof kind.kind !== 'string' || typeof kind.version !== 'string' || typeof kind.group !== 'string') {
    throw new ReviewError('request.kind: expected {group, version, kind} strings');
  }
  for (const field of ['name', 'namespace', 'subResource'] as const) {
    if (request[field] !== undefined && typeof request[field] !== 'string') throw new ReviewError(`request.${field}: expected a string`);
  }
  for (const field of ['object', 'oldObject'] as const) {
    if (request[field] !== undefined && request[field] !== null && !isRecord(request[field])) {
      throw new ReviewError(`request.${field}: expected an object`);
    }
  }
  const parsed: AdmissionRequest = {
    uid: request.uid,
    kind: { group: kind.group, version: kind.version, kind: kind.kind },
    operation: request.operation,
    dryRun: request.dryRun === true,
    ...(typeof request.name === 'string' ? { name: request.name } : {}),
    ...(typeof request.namespace === 'string' ? { namespace: request.namespace } : {}),
    ...(typeof request.subResource === 'string' ? { subResource: request.subResource } : {}),
    ...(isRecord(request.object) ? { object: request.object as KubeObject } : {}),
    ...(isRecord(request.oldObject) ? { oldObject: request.oldObject as KubeObject } : {}),
    ...(isRecord(request.resource) ? { resource: request.resource as AdmissionRequest['resource'] & object } : {}),
    ...(isRecord(request.userInfo) ? { userInfo: request.userInfo as AdmissionRequest['userInfo'] & object } : {}),
  };
  return { apiVersion: apiVersion as AdmissionApiVersion, request: parsed };
}

/** Wraps a decision for the API server, in the AdmissionReview version it asked in. */
export function buildAdmissionResponse(apiVersion: AdmissionApiVersion, uid: string, decision: AdmissionDecision): AdmissionReviewResponse {
  const response: AdmissionReviewResponse['response'] = { uid, allowed: decision.allowed };
  if (decision.patch !== undefined && decision.patch.length > 0) {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(serializePatch(decision.patch)).toString('base64');
  }
  if (decision.status !== undefined) {
    response.status = { ...decision.status, status: decision.allowed ? 'Success' : 'Failure', metadata: {} };
  }
  if (decision.warnings !== undefined && decision.warnings.length > 0) response.warnings = [...decision.warnings];
  return { apiVersion, kind: 'AdmissionReview', response };
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}
