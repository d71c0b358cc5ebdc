import type { KubeObject } from '../../src/kube/types.ts';

// The injector leaves out container fields whose value is the API server's default, so tests
// assert on the pod as it is stored: after the patch *and* after the API server's defaulting.
// These are the defaults of k8s.io/kubernetes pkg/apis/core/v1/defaults.go for the fields a
// sidecar uses (SetDefaults_Container, _ContainerPort, _Probe, _HTTPGetAction, _ObjectFieldSelector);
// the e2e suite checks the same pods on a real API server.

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function imageTag(image: string): string | undefined {
  if (image.includes('@')) return undefined;
  const lastSlash = image.lastIndexOf('/');
  const colon = image.indexOf(':', lastSlash + 1);
  return colon === -1 ? undefined : image.slice(colon + 1);
}

function defaultProbe(probe: unknown): void {
  if (!isObject(probe)) return;
  probe.timeoutSeconds ??= 1;
  probe.periodSeconds ??= 10;
  probe.successThreshold ??= 1;
  probe.failureThreshold ??= 3;
  if (isObject(probe.httpGet)) probe.httpGet.scheme ??= 'HTTP';
}

function defaultContainer(container: unknown): void {
  if (!isObject(container)) return;
  if (container.imagePullPolicy === undefined && typeof container.image === 'string') {
    const tag = imageTag(container.image);
    container.imagePullPolicy = tag === undefined && !container.image.includes('@') ? 'Always' : tag === 'latest' ? 'Always' : 'IfNotPresent';
  }
  container.terminationMessagePath ??= '/dev/termination-log';
  container.terminationMessagePolicy ??= 'File';
  for (const port of Array.isArray(container.ports) ? container.ports : []) if (isObject(port)) port.protocol ??= 'TCP';
  for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe]) defaultProbe(probe);
  for (const entry of Array.isArray(container.env) ? container.env : []) {
    if (isObject(entry) && isObject(entry.valueFrom) && isObject(entry.valueFrom.fieldRef)) entry.valueFrom.fieldRef.apiVersion ??= 'v1';
  }
}

/** A copy of the pod with the API server's container defaults filled in. */
export function withApiServerDefaults<T extends KubeObject>(pod: T): T {
  const copy = structuredClone(pod);
  const spec = isObject(copy.spec) ? copy.spec : {};
  for (const list of [spec.containers, spec.initContainers]) {
    for (const container of Array.isArray(list) ? list : []) defaultContainer(container);
  }
  return copy;
}
