import type { KubeObject } from '../kube/types.ts';

export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface CheckResult {
  /** Groups lines in the report: controller, webhooks, certificates, injection. */
  category: string;
  /** Stable identifier for automation (`--output json`). */
  id: string;
  /** What was checked, phrased as the healthy state. */
  description: string;
  status: CheckStatus;
  /** What was found. */
  message: string;
  /** How to fix it, when there is something to do. */
  hint?: string;
}

/** An object read from the cluster, or why it could not be read. */
export type Fetched<T> = { ok: true; value: T } | { ok: false; error: string };

/** Where the controller pods get their certificates, from their volumes. */
export interface CertificateSources {
  webhookSecret?: string;
  issuerSecret?: string;
  trustRootsConfigMap?: string;
  injectorConfigMap?: string;
}

/** Everything `weft check` decides on: plain objects as the API server returns them. */
export interface CheckInput {
  now: Date;
  /** The API server's /version (gitVersion such as v1.20.2); its failure means nothing else was readable. */
  serverVersion: Fetched<{ major: string; minor: string; gitVersion: string }>;
  /** The controller's namespace. */
  namespace: string;
  /** The label selector the controller pods were listed with (for messages). */
  selector: string;
  controllerPods: Fetched<KubeObject[]>;
  mutatingWebhookConfigurations: Fetched<KubeObject[]>;
  validatingWebhookConfigurations: Fetched<KubeObject[]>;
  /** Secret data (base64 values, as served) by Secret name, for the sources above. */
  webhookSecret?: Fetched<KubeObject>;
  issuerSecret?: Fetched<KubeObject>;
  trustRoots?: Fetched<KubeObject>;
  /** The ConfigMap behind --inject-config (what new pods get). */
  injectorConfig?: Fetched<KubeObject>;
  namespaces: Fetched<KubeObject[]>;
  /** Pods of the namespaces annotated for injection, by namespace. */
  podsByNamespace: Record<string, Fetched<KubeObject[]>>;
  /** Below this many days of validity a certificate is a warning. */
  warnDays: number;
}
