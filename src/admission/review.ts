import { isRecord } from '../kube/types.ts';
import { patchBase64 } from '../inject/patch.ts';
import type { KubeObject } from '../kube/types.ts';
import type {
  AdmissionApiVersion,
  AdmissionDecision,
  AdmissionRequest,
  AdmissionResponse,
  AdmissionReviewRequest,
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
  // Optional fields are assigned one by one: spreading a fresh object per field made nine
  // objects for every review.
  const parsed: AdmissionRequest = {
    uid: request.uid,
    kind: { group: kind.group, version: kind.version, kind: kind.kind },
    operation: request.operation,
    dryRun: request.dryRun === true,
  };
  if (typeof request.name === 'string') parsed.name = request.name;
  if (typeof request.namespace === 'string') parsed.namespace = request.namespace;
  if (typeof request.subResource === 'string') parsed.subResource = request.subResource;
  if (isRecord(request.object)) parsed.object = request.object as KubeObject;
  if (isRecord(request.oldObject)) parsed.oldObject = request.oldObject as KubeObject;
  if (isRecord(request.resource)) parsed.resource = request.resource as AdmissionRequest['resource'] & object;
  if (isRecord(request.userInfo)) parsed.userInfo = request.userInfo as AdmissionRequest['userInfo'] & object;
  return { apiVersion: apiVersion as AdmissionApiVersion, request: parsed };
}

const ANSWER_PREFIXES: Readonly<Record<AdmissionApiVersion, string>> = {
  'admission.k8s.io/v1': '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":',
  'admission.k8s.io/v1beta1': '{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","response":',
};

/**
 * The AdmissionReview answer for a decision, as JSON text in the version the API server asked
 * in. Written directly rather than through JSON.stringify, which would scan the long base64
 * patch for characters to escape (it has none) on every admission. A string rather than a
 * Buffer: the HTTP layer sends a string body in one write with its headers, and a buffer over
 * 4 KiB is a fresh allocation outside V8's heap for every answer.
 */
export function serializeAdmissionResponse(apiVersion: AdmissionApiVersion, uid: string, decision: AdmissionDecision): string {
  let response = `{"uid":${JSON.stringify(uid)},"allowed":${decision.allowed ? 'true' : 'false'}`;
  if (decision.patch !== undefined && decision.patch.length > 0) {
    response += `,"patchType":"JSONPatch","patch":"${patchBase64(decision.patch)}"`;
  }
  if (decision.status !== undefined) {
    const status: NonNullable<AdmissionResponse['status']> = { ...decision.status, status: decision.allowed ? 'Success' : 'Failure', metadata: {} };
    response += `,"status":${JSON.stringify(status)}`;
  }
  if (decision.warnings !== undefined && decision.warnings.length > 0) response += `,"warnings":${JSON.stringify(decision.warnings)}`;
  return `${ANSWER_PREFIXES[apiVersion]}${response}}}`;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}
