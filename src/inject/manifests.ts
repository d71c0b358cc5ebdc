import fastJsonPatch from 'fast-json-patch';
import { parseAllDocuments, stringify } from 'yaml';
import { isRecord } from '../kube/types.ts';
import type { KubeObject } from '../kube/types.ts';
import { INJECT_ANNOTATION } from './annotations.ts';
import type { InjectorConfig } from './config.ts';
import { INIT_CONTAINER_NAME, PROXY_CONTAINER_NAME } from './config.ts';
import { injectPod } from './inject.ts';
import { IDENTITY_VOLUME, TOKEN_VOLUME, XTABLES_LOCK_VOLUME } from './sidecar.ts';

export interface ManifestReportLine {
  document: number;
  kind: string;
  name: string;
  result: 'injected' | 'annotated' | 'skipped' | 'uninjected' | 'unchanged' | 'passed-through' | 'error';
  detail?: string;
}

export interface ManifestResult {
  output: string;
  report: ManifestReportLine[];
}

/** Where each workload kind keeps its pod template. */
const TEMPLATE_PATHS: Record<string, readonly string[]> = {
  Pod: [],
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

function podTemplate(object: KubeObject): Record<string, unknown> | undefined {
  const path = typeof object.kind === 'string' ? TEMPLATE_PATHS[object.kind] : undefined;
  if (path === undefined) return undefined;
  let here: unknown = object;
  for (const key of path) {
    if (!isRecord(here)) return undefined;
    here = here[key];
  }
  return isRecord(here) ? here : undefined;
}

type Transform = (object: KubeObject, template: Record<string, unknown>, line: ManifestReportLine) => void;

function transformManifests(text: string, transform: Transform): ManifestResult {
  const report: ManifestReportLine[] = [];
  const documents = parseAllDocuments(text);
  const list = Array.isArray(documents) ? documents : [documents];
  const out: string[] = [];
  let index = 0;
  for (const document of list) {
    index++;
    if (document.errors.length > 0) throw new Error(`document ${index}: ${document.errors[0]?.message.split('\n')[0]}`);
    const value: unknown = document.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue;
    const visit = (object: unknown): void => {
      if (!isRecord(object)) return;
      const kube = object as KubeObject;
      if (typeof kube.kind === 'string' && kube.kind.endsWith('List') && Array.isArray(kube.items)) {
        kube.items.forEach(visit);
        return;
      }
      const kind = typeof kube.kind === 'string' ? kube.kind : '(no kind)';
      const name = kube.metadata?.name ?? kube.metadata?.generateName ?? '';
      const template = podTemplate(kube);
      const line: ManifestReportLine = { document: index, kind, name, result: 'passed-through' };
      if (template !== undefined) transform(kube, template, line);
      report.push(line);
    };
    visit(value);
    out.push(stringify(value, { lineWidth: 0 }));
  }
  return { output: out.join('---\n'), report };
}

export interface InjectManifestOptions {
  config: InjectorConfig;
  /** Write the whole sidecar (as the webhook would) instead of only the inject annotation. */
  manual: boolean;
}

/** `weft inject`: by default adds `linkerd.io/inject: enabled` to pod templates, as `linkerd inject` does. */
export function injectManifests(text: string, options: InjectManifestOptions): ManifestResult {
  return transformManifests(text, (object, template, line) => {
    const metadata = (isRecord(template.metadata) ? template.metadata : (template.metadata = {})) as Record<string, unknown>;
    const annotations = (isRecord(metadata.annotations) ? metadata.annotations : (metadata.annotations = {})) as Record<string, string>;
    if (!options.manual) {
      if (annotations[INJECT_ANNOTATION] === 'enabled') {
        line.result = 'unchanged';
        line.detail = `already has ${INJECT_ANNOTATION}: enabled`;
        return;
      }
      annotations[INJECT_ANNOTATION] = 'enabled';
      line.result = 'annotated';
      return;
    }
    const pod: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: metadata as KubeObject['metadata'], spec: template.spec };
    const namespace = object.metadata?.namespace ?? 'default';
    const result = injectPod({ pod, namespace, namespaceAnnotations: { [INJECT_ANNOTATION]: 'enabled' }, config: options.config, serverVersion: undefined });
    if (!result.decision.inject) {
      line.result = 'skipped';
      line.detail = `${result.decision.reason}: ${result.decision.detail}`;
      return;
    }
    const patched = fastJsonPatch.applyPatch(pod, fastJsonPatch.deepClone(result.patch) as fastJsonPatch.Operation[], true, false).newDocument as KubeObject;
    template.metadata = patched.metadata;
    template.spec = patched.spec;
    line.result = 'injected';
    if (result.warnings.length > 0) line.detail = result.warnings.join('; ');
  });
}

const ADDED_ANNOTATIONS = ['linkerd.io/proxy-version', 'linkerd.io/created-by'];
const ADDED_LABELS = /^linkerd\.io\/(control-plane-ns|workload-ns|proxy-[a-z]+)$/;
const ADDED_VOLUMES = new Set([IDENTITY_VOLUME, TOKEN_VOLUME, XTABLES_LOCK_VOLUME]);
const ADDED_CONTAINERS = new Set([PROXY_CONTAINER_NAME, INIT_CONTAINER_NAME]);

/** `weft uninject`: removes what `weft inject` (either mode) or the webhook added. */
export function uninjectManifests(text: string): ManifestResult {
  return transformManifests(text, (_object, template, line) => {
    let changed = false;
    const metadata = isRecord(template.metadata) ? template.metadata : undefined;
    const annotations = isRecord(metadata?.annotations) ? (metadata.annotations as Record<string, unknown>) : undefined;
    for (const key of [INJECT_ANNOTATION, ...ADDED_ANNOTATIONS]) {
      if (annotations && key in annotations) {
        delete annotations[key];
        changed = true;
      }
    }
    const labels = isRecord(metadata?.labels) ? (metadata.labels as Record<string, unknown>) : undefined;
    for (const key of Object.keys(labels ?? {})) {
      if (ADDED_LABELS.test(key)) {
        delete labels![key];
        changed = true;
      }
    }
    const spec = isRecord(template.spec) ? template.spec : undefined;
    if (spec) {
      for (const field of ['containers', 'initContainers'] as const) {
        const list = spec[field];
        if (!Array.isArray(list)) continue;
        const kept = list.filter((container) => !(isRecord(container) && ADDED_CONTAINERS.has(String(container.name))));
        if (kept.length !== list.length) {
          changed = true;
          if (kept.length === 0 && field === 'initContainers') delete spec[field];
          else spec[field] = kept;
        }
      }
      if (Array.isArray(spec.volumes)) {
        const kept = spec.volumes.filter((volume) => !(isRecord(volume) && ADDED_VOLUMES.has(String(volume.name))));
        if (kept.length !== spec.volumes.length) {
          changed = true;
          if (kept.length === 0) delete spec.volumes;
          else spec.volumes = kept;
        }
      }
    }
    // kubectl picks the first container anyway once the proxy is gone, so a default-container
    // annotation naming it says nothing and is what inject added.
    const containers = Array.isArray(spec?.containers) ? spec.containers : [];
    const first = isRecord(containers[0]) ? containers[0].name : undefined;
    if (changed && annotations && annotations['kubectl.kubernetes.io/default-container'] === first) delete annotations['kubectl.kubernetes.io/default-container'];
    if (annotations && Object.keys(annotations).length === 0) delete metadata!.annotations;
    if (changed && labels && Object.keys(labels).length === 0) delete metadata!.labels;
    if (changed && metadata && Object.keys(metadata).length === 0) delete template.metadata;
    line.result = changed ? 'uninjected' : 'unchanged';
  });
}

export function formatReport(report: readonly ManifestReportLine[], source: string): string {
  return report
    .filter((line) => line.result !== 'passed-through')
    .map((line) => `${source}:${line.document} ${line.kind.toLowerCase()} "${line.name}" ${line.result}${line.detail ? ` (${line.detail})` : ''}`)
    .join('\n');
}
