import type { InjectorConfig, ProxySettings } from './config.ts';
import { tableFor } from './memo.ts';

// Linkerd's annotation names are weft's interface: manifests written for Linkerd keep working.
export const INJECT_ANNOTATION = 'linkerd.io/inject';
const CONFIG = 'config.linkerd.io/';
export const ANNOTATIONS = {
  proxyImage: `${CONFIG}proxy-image`,
  proxyVersion: `${CONFIG}proxy-version`,
  imagePullPolicy: `${CONFIG}image-pull-policy`,
  cpuRequest: `${CONFIG}proxy-cpu-request`,
  cpuLimit: `${CONFIG}proxy-cpu-limit`,
  memoryRequest: `${CONFIG}proxy-memory-request`,
  memoryLimit: `${CONFIG}proxy-memory-limit`,
  logLevel: `${CONFIG}proxy-log-level`,
  skipInboundPorts: `${CONFIG}skip-inbound-ports`,
  skipOutboundPorts: `${CONFIG}skip-outbound-ports`,
  skipSubnets: `${CONFIG}skip-subnets`,
  opaquePorts: `${CONFIG}opaque-ports`,
  proxyUid: `${CONFIG}proxy-uid`,
  proxyAwait: `${CONFIG}proxy-await`,
  nativeSidecar: `${CONFIG}proxy-enable-native-sidecar`,
  requireIdentityInboundPorts: `${CONFIG}proxy-require-identity-inbound-ports`,
  defaultInboundPolicy: `${CONFIG}default-inbound-policy`,
  inboundPort: `${CONFIG}proxy-inbound-port`,
  outboundPort: `${CONFIG}proxy-outbound-port`,
  adminPort: `${CONFIG}proxy-admin-port`,
} as const;

/** Everything about one pod's sidecar, after defaults, namespace and pod annotations. */
export interface ProxySpec extends ProxySettings {
  skipInboundPorts: string;
  skipOutboundPorts: string;
  skipSubnets: string;
  opaquePorts: string;
  requireIdentityInboundPorts: string;
}

type Check = (value: string) => string | undefined;

const PORT_ITEM = /^(\d{1,5})(?:-(\d{1,5}))?$/;
const portList: Check = (value) => {
  for (const item of value.split(',').map((part) => part.trim())) {
    if (item === '') continue;
    const match = PORT_ITEM.exec(item);
    const low = match ? Number(match[1]) : NaN;
    const high = match?.[2] !== undefined ? Number(match[2]) : low;
    if (!match || low < 1 || high > 65535 || high < low) return 'a comma-separated list of ports or port ranges from 1 to 65535, such as "25,587,8000-8100"';
  }
  return undefined;
};

const CIDR_V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const CIDR_V6 = /^[0-9a-fA-F:]+(?:\/(\d{1,3}))$/;
const subnetList: Check = (value) => {
  for (const item of value.split(',').map((part) => part.trim())) {
    if (item === '') continue;
    const v4 = CIDR_V4.exec(item);
    if (v4) {
      if (v4.slice(1, 5).some((octet) => Number(octet) > 255) || Number(v4[5]) > 32) return 'a comma-separated list of CIDRs such as "10.0.0.0/8"';
      continue;
    }
    const v6 = CIDR_V6.exec(item);
    if (!v6 || !item.includes(':') || Number(v6[1]) > 128) return 'a comma-separated list of CIDRs such as "10.0.0.0/8"';
  }
  return undefined;
};

// Kubernetes resource.Quantity: a signed decimal with an optional binary/decimal suffix or exponent.
const QUANTITY = /^[+]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;
const quantity: Check = (value) => (QUANTITY.test(value) ? undefined : 'a Kubernetes quantity such as "100m", "0.5" or "64Mi"');
const oneOf = (...choices: string[]): Check => (value) => (choices.includes(value) ? undefined : choices.map((choice) => `"${choice}"`).join(' or '));
// An image name without tag or digest (the version annotation carries the tag), host:port allowed.
const IMAGE = /^(?:[a-zA-Z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;
const image: Check = (value) => (value.length <= 255 && IMAGE.test(value) ? undefined : 'an image name without tag, such as "ghcr.io/weft-mesh/weft"');
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const tag: Check = (value) => (TAG.test(value) ? undefined : 'an image tag such as "v0.1.0"');
const uid: Check = (value) => (/^\d{1,10}$/.test(value) && Number(value) > 0 && Number(value) < 2 ** 31 ? undefined : 'a positive user id such as "2102"');
const port: Check = (value) => (/^\d{1,5}$/.test(value) && Number(value) >= 1 && Number(value) <= 65535 ? undefined : 'a port from 1 to 65535');
// Linkerd accepts tracing-style filters ("warn,linkerd=info"); weft's proxy takes a plain level.
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'];
const logLevel: Check = (value) => (LOG_LEVELS.includes(value) ? undefined : LOG_LEVELS.map((level) => `"${level}"`).join(', '));
const enabledDisabled = oneOf('enabled', 'disabled');
const trueFalse = oneOf('true', 'false');

export interface ResolvedOverrides {
  spec: ProxySpec;
  /** One entry per ignored annotation, naming it and what was expected. */
  warnings: string[];
}

/**
 * Resolves the pod's sidecar settings: chart defaults, then the namespace's `config.linkerd.io/*`
 * annotations, then the pod's. An invalid value is ignored with a warning, never a broken pod.
 */
export function resolveOverrides(config: InjectorConfig, podAnnotations: Readonly<Record<string, string>>, namespaceAnnotations: Readonly<Record<string, string>>): ResolvedOverrides {
  const warnings: string[] = [];
  const pick = (key: string, check: Check): string | undefined => {
    const fromPod = podAnnotations[key];
    const value = fromPod ?? namespaceAnnotations[key];
    if (value === undefined) return undefined;
    const trimmed = String(value).trim();
    const expected = check(trimmed);
    if (expected !== undefined) {
      const where = fromPod !== undefined ? 'pod' : 'namespace';
      warnings.push(`annotation ${key}=${JSON.stringify(truncate(String(value)))} on the ${where} is ignored: expected ${expected}`);
      return undefined;
    }
    return trimmed;
  };
  const proxy = config.proxy;
  const init = config.proxyInit;
  const spec: ProxySpec = {
    image: pick(ANNOTATIONS.proxyImage, image) ?? proxy.image,
    version: pick(ANNOTATIONS.proxyVersion, tag) ?? proxy.version,
    imagePullPolicy: pick(ANNOTATIONS.imagePullPolicy, oneOf('Always', 'IfNotPresent', 'Never')) ?? proxy.imagePullPolicy,
    logLevel: pick(ANNOTATIONS.logLevel, logLevel) ?? proxy.logLevel,
    uid: Number(pick(ANNOTATIONS.proxyUid, uid) ?? proxy.uid),
    inboundPort: Number(pick(ANNOTATIONS.inboundPort, port) ?? proxy.inboundPort),
    outboundPort: Number(pick(ANNOTATIONS.outboundPort, port) ?? proxy.outboundPort),
    adminPort: Number(pick(ANNOTATIONS.adminPort, port) ?? proxy.adminPort),
    resources: {
      cpuRequest: pick(ANNOTATIONS.cpuRequest, quantity) ?? proxy.resources.cpuRequest,
      cpuLimit: pick(ANNOTATIONS.cpuLimit, quantity) ?? proxy.resources.cpuLimit,
      memoryRequest: pick(ANNOTATIONS.memoryRequest, quantity) ?? proxy.resources.memoryRequest,
      memoryLimit: pick(ANNOTATIONS.memoryLimit, quantity) ?? proxy.resources.memoryLimit,
    },
    skipInboundPorts: normaliseList(pick(ANNOTATIONS.skipInboundPorts, portList) ?? init.ignoreInboundPorts),
    skipOutboundPorts: normaliseList(pick(ANNOTATIONS.skipOutboundPorts, portList) ?? init.ignoreOutboundPorts),
    skipSubnets: normaliseList(pick(ANNOTATIONS.skipSubnets, subnetList) ?? init.skipSubnets),
    opaquePorts: normaliseList(pick(ANNOTATIONS.opaquePorts, portList) ?? ''),
    requireIdentityInboundPorts: normaliseList(pick(ANNOTATIONS.requireIdentityInboundPorts, portList) ?? ''),
    defaultInboundPolicy: pick(ANNOTATIONS.defaultInboundPolicy, oneOf('all-unauthenticated', 'all-authenticated', 'deny')) ?? proxy.defaultInboundPolicy,
    await: (pick(ANNOTATIONS.proxyAwait, enabledDisabled) ?? (proxy.await ? 'enabled' : 'disabled')) === 'enabled',
    nativeSidecar: (pick(ANNOTATIONS.nativeSidecar, trueFalse) ?? String(proxy.nativeSidecar)) === 'true',
  };
  return { spec, warnings };
}

const OVERRIDE_NAMES: ReadonlySet<string> = new Set(Object.values(ANNOTATIONS));
const MAX_CACHED_OVERRIDES = 256;
const overridesCache = new WeakMap<InjectorConfig, Map<string, Readonly<ResolvedOverrides>>>();

/**
 * resolveOverrides, remembered per configuration and the override annotations that are set
 * (and where): the pods of a workload, and most pods of a namespace, carry the same ones, and
 * a stable result lets sidecarFor find its sidecar by identity. The result is frozen because
 * every caller shares it. The cache is bounded so that annotation variety cannot grow it.
 */
export function cachedOverrides(config: InjectorConfig, podAnnotations: Readonly<Record<string, string>>, namespaceAnnotations: Readonly<Record<string, string>>): Readonly<ResolvedOverrides> {
  // The key names each override that is set and its value, as resolveOverrides' pick takes it:
  // the pod's unless that is null or undefined, else the namespace's (where null is a value,
  // the text "null", and gets its warning). The annotations that are there are walked
  // rather than every override name looked up, because most pods and namespaces carry none
  // of them and a missing key is the slowest lookup (it goes on to Object.prototype).
  let key = '';
  for (const name in podAnnotations) {
    const value = podAnnotations[name];
    if (value === undefined || value === null || !name.startsWith(CONFIG) || !OVERRIDE_NAMES.has(name)) continue;
    key += overrideKey('p', name, value);
  }
  for (const name in namespaceAnnotations) {
    const value = namespaceAnnotations[name];
    if (value === undefined || !name.startsWith(CONFIG) || !OVERRIDE_NAMES.has(name)) continue;
    // A null on the pod hands the value to the namespace, but the warning still says "pod".
    const fromPod = podAnnotations[name];
    if (fromPod === undefined || fromPod === null) key += overrideKey(fromPod === null ? 'p' : 'n', name, value);
  }
  const byKey = tableFor(overridesCache, config);
  let resolved = byKey.get(key);
  if (resolved === undefined) {
    if (byKey.size >= MAX_CACHED_OVERRIDES) byKey.clear();
    const fresh = resolveOverrides(config, podAnnotations, namespaceAnnotations);
    Object.freeze(fresh.spec.resources);
    resolved = Object.freeze({ spec: Object.freeze(fresh.spec), warnings: Object.freeze(fresh.warnings) as string[] });
    byKey.set(key, resolved);
  }
  return resolved;
}

function overrideKey(where: 'p' | 'n', name: string, value: unknown): string {
  const text = String(value);
  return `${where}${name} ${text.length}:${text}`;
}

function normaliseList(value: string): string {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
    .join(',');
}

function truncate(value: string): string {
  return value.length > 80 ? `${value.slice(0, 80)}…` : value;
}
