import type { KubeObject } from '../kube/types.ts';

// admission.k8s.io AdmissionReview, v1 and v1beta1 share this shape for what weft reads.
export type AdmissionApiVersion = 'admission.k8s.io/v1' | 'admission.k8s.io/v1beta1';

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  resource?: { group: string; version: string; resource: string };
  subResource?: string;
  name?: string;
  namespace?: string;
  operation: string;
  userInfo?: { username?: string; uid?: string; groups?: string[] };
  object?: KubeObject;
  oldObject?: KubeObject;
  dryRun: boolean;
}

export interface AdmissionReviewRequest {
  apiVersion: AdmissionApiVersion;
  request: AdmissionRequest;
}

export interface AdmissionStatus {
  code: number;
  message: string;
  reason?: string;
  details?: { name?: string; group?: string; kind?: string; causes?: { field: string; message: string; reason?: string }[] };
}

/** What a webhook decided, before it is wrapped into an AdmissionReview response. */
export interface AdmissionDecision {
  allowed: boolean;
  patch?: readonly JsonPatchOperation[];
  status?: AdmissionStatus;
  warnings?: readonly string[];
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  patchType?: 'JSONPatch';
  patch?: string;
  status?: AdmissionStatus & { status?: 'Failure' | 'Success'; metadata?: Record<string, never> };
  warnings?: string[];
}

export interface AdmissionReviewResponse {
  apiVersion: AdmissionApiVersion;
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

export type JsonPatchOperation =
  | { op: 'add'; path: string; value: unknown }
  | { op: 'replace'; path: string; value: unknown }
  | { op: 'remove'; path: string };
