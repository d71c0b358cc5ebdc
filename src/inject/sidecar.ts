import type { InjectorConfig, ResourceSettings } from './config.ts';
import { INIT_CONTAINER_NAME, PROXY_CONTAINER_NAME, PROXY_OWN_INBOUND_PORTS } from './config.ts';
import type { ProxySpec } from './annotations.ts';
import type { InjectMode } from './decide.ts';
import { proxyFlags } from '../proxy/config.ts';
import type { FlagSpec } from '../util/flags.ts';
import { tableFor } from './memo.ts';

export const IDENTITY_VOLUME = 'weft-identity-end-entity';
export const TOKEN_VOLUME = 'weft-identity-token';
export const XTABLES_LOCK_VOLUME = 'weft-proxy-init-xtables-lock';
export const IDENTITY_DIR = '/var/run/weft/identity';
export const TOKEN_DIR = '/var/run/secrets/tokens';
export const TOKEN_FILE = 'weft-identity-token';

export interface Container {
  name: string;
  [key: string]: unknown;
}

export interface Sidecar {
  initContainer: Container;
  proxyContainer: Container;
  volumes: Record<string, unknown>[];
  /** True when the proxy runs as a native sidecar (an init container with restartPolicy Always). */
  native: boolean;
}

const AWAIT_TIMEOUT = '2m';

function resources(settings: ResourceSettings): Record<string, Record<string, string>> {
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  if (settings.cpuRequest) requests.cpu = settings.cpuRequest;
  if (settings.memoryRequest) requests.memory = settings.memoryRequest;
  if (settings.cpuLimit) limits.cpu = settings.cpuLimit;
  if (settings.memoryLimit) limits.memory = settings.memoryLimit;
  const out: Record<string, Record<string, string>> = {};
  if (Object.keys(requests).length > 0) out.requests = requests;
  if (Object.keys(limits).length > 0) out.limits = limits;
  return out;
}

function env(name: string, value: string | number): { name: string; value: string } {
  return { name, value: String(value) };
}

// What `weft proxy` assumes when a variable is unset, read from its own flag table so the two
// cannot drift apart.
const PROXY_ENV_DEFAULTS: ReadonlyMap<string, string> = new Map(
  Object.values<FlagSpec>(proxyFlags).flatMap((flag) => (flag.env !== undefined && typeof flag.default === 'string' ? [[flag.env, flag.default] as const] : [])),
);

/**
 * Settings equal to the proxy's own defaults stay out of the pod: every byte of the sidecar is
 * in every admission answer (base64, over TLS), and the proxy reads the same value either way.
 */
function pushUnlessDefault(list: Record<string, unknown>[], name: string, value: string | number): void {
  if (PROXY_ENV_DEFAULTS.get(name) !== String(value)) list.push(env(name, value));
}

/**
 * The API server sets imagePullPolicy from the tag when it is absent (Always for "latest",
 * IfNotPresent otherwise); stating the same value again only makes the patch longer.
 */
function pullPolicy(policy: string, tag: string): { imagePullPolicy?: string } {
  const apiServerDefault = tag === 'latest' ? 'Always' : 'IfNotPresent';
  return policy === apiServerDefault ? {} : { imagePullPolicy: policy };
}

function fieldEnv(name: string, fieldPath: string): Record<string, unknown> {
  return { name, valueFrom: { fieldRef: { fieldPath } } };
}

/** The containers and volumes one pod gets; plain data, no I/O. */
export function buildSidecar(config: InjectorConfig, spec: ProxySpec, mode: InjectMode, native: boolean): Sidecar {
  const image = `${spec.image}:${spec.version}`;
  const ignoreInbound = [PROXY_OWN_INBOUND_PORTS, spec.skipInboundPorts].filter((part) => part !== '').join(',');
  const initArgs = [
    'proxy-init',
    '--incoming-proxy-port', String(spec.inboundPort),
    '--outgoing-proxy-port', String(spec.outboundPort),
    '--proxy-uid', String(spec.uid),
    '--inbound-ports-to-ignore', ignoreInbound,
  ];
  if (spec.skipOutboundPorts !== '') initArgs.push('--outbound-ports-to-ignore', spec.skipOutboundPorts);
  if (spec.skipSubnets !== '') initArgs.push('--subnets-to-ignore', spec.skipSubnets);
  if (config.proxyInit.iptablesMode !== 'auto') initArgs.push('--iptables-mode', config.proxyInit.iptablesMode);

  const initContainer: Container = {
    name: INIT_CONTAINER_NAME,
    image,
    ...pullPolicy(spec.imagePullPolicy, spec.version),
    args: initArgs,
    resources: resources(config.proxyInit.resources),
    // Fields left out here take the API server's defaults, which are the safe ones
    // (not privileged; probes time out after 1 s and fail after 3 misses; ports are TCP).
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      // iptables needs uid 0 together with the two capabilities; nothing else is granted.
      runAsNonRoot: false,
      runAsUser: 0,
      capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    terminationMessagePolicy: 'FallbackToLogsOnError',
    // iptables takes a lock under /run, which the read-only root filesystem would refuse.
    volumeMounts: [{ name: XTABLES_LOCK_VOLUME, mountPath: '/run' }],
  };

  const proxyEnv: Record<string, unknown>[] = [
    fieldEnv('WEFT_POD_NAME', 'metadata.name'),
    fieldEnv('WEFT_POD_NAMESPACE', 'metadata.namespace'),
    fieldEnv('WEFT_POD_IP', 'status.podIP'),
    fieldEnv('WEFT_SERVICE_ACCOUNT', 'spec.serviceAccountName'),
    env('WEFT_IDENTITY_URL', config.identityUrl),
  ];
  pushUnlessDefault(proxyEnv, 'WEFT_PROXY_LOG_LEVEL', spec.logLevel);
  pushUnlessDefault(proxyEnv, 'WEFT_PROXY_INBOUND_PORT', spec.inboundPort);
  pushUnlessDefault(proxyEnv, 'WEFT_PROXY_OUTBOUND_PORT', spec.outboundPort);
  pushUnlessDefault(proxyEnv, 'WEFT_PROXY_ADMIN_PORT', spec.adminPort);
  pushUnlessDefault(proxyEnv, 'WEFT_TRUST_DOMAIN', config.trustDomain);
  pushUnlessDefault(proxyEnv, 'WEFT_CONTROLLER_NAMESPACE', config.controllerNamespace);
  pushUnlessDefault(proxyEnv, 'WEFT_IDENTITY_TOKEN_FILE', `${TOKEN_DIR}/${TOKEN_FILE}`);
  pushUnlessDefault(proxyEnv, 'WEFT_IDENTITY_DIR', IDENTITY_DIR);
  pushUnlessDefault(proxyEnv, 'WEFT_DEFAULT_INBOUND_POLICY', spec.defaultInboundPolicy);
  if (config.trustAnchorsPEM !== '') proxyEnv.push(env('WEFT_TRUST_ANCHORS_PEM', config.trustAnchorsPEM));
  if (config.discoveryUrl !== '') proxyEnv.push(env('WEFT_DISCOVERY_URL', config.discoveryUrl));
  if (spec.requireIdentityInboundPorts !== '') proxyEnv.push(env('WEFT_REQUIRE_IDENTITY_INBOUND_PORTS', spec.requireIdentityInboundPorts));
  if (spec.opaquePorts !== '') proxyEnv.push(env('WEFT_OPAQUE_PORTS', spec.opaquePorts));
  if (mode === 'ingress') proxyEnv.push(env('WEFT_PROXY_INGRESS_MODE', 'true'));

  const proxyContainer: Container = {
    name: PROXY_CONTAINER_NAME,
    image,
    ...pullPolicy(spec.imagePullPolicy, spec.version),
    args: ['proxy'],
    env: proxyEnv,
    ports: [
      { name: 'weft-proxy', containerPort: spec.inboundPort },
      { name: 'weft-admin', containerPort: spec.adminPort },
    ],
    // periodSeconds 10, timeoutSeconds 1 and failureThreshold 3 are the API server's defaults.
    livenessProbe: { httpGet: { path: '/live', port: spec.adminPort }, initialDelaySeconds: 10 },
    readinessProbe: { httpGet: { path: '/ready', port: spec.adminPort }, initialDelaySeconds: 1, periodSeconds: 5 },
    resources: resources(spec.resources),
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: spec.uid,
      runAsGroup: spec.uid,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    terminationMessagePolicy: 'FallbackToLogsOnError',
    volumeMounts: [
      { name: IDENTITY_VOLUME, mountPath: IDENTITY_DIR },
      { name: TOKEN_VOLUME, mountPath: TOKEN_DIR, readOnly: true },
    ],
  };
  if (native) {
    proxyContainer.restartPolicy = 'Always';
    proxyContainer.startupProbe = { httpGet: { path: '/ready', port: spec.adminPort }, periodSeconds: 1, failureThreshold: 120 };
  } else if (spec.await) {
    // Without native sidecars the kubelet starts containers in order and runs each postStart
    // hook to completion before the next container: waiting here holds the app back until the
    // mesh is ready, so its first connections do not fail.
    proxyContainer.lifecycle = { postStart: { exec: { command: ['weft', 'await', `--url=http://127.0.0.1:${spec.adminPort}/ready`, `--timeout=${AWAIT_TIMEOUT}`] } } };
  }

  const volumes: Record<string, unknown>[] = [
    { name: IDENTITY_VOLUME, emptyDir: { medium: 'Memory' } },
    {
      name: TOKEN_VOLUME,
      projected: { sources: [{ serviceAccountToken: { audience: config.identityAudience, expirationSeconds: 86400, path: TOKEN_FILE } }] },
    },
    { name: XTABLES_LOCK_VOLUME, emptyDir: {} },
  ];
  return { initContainer, proxyContainer, volumes, native };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

const MAX_CACHED_SIDECARS = 256;
const sidecarCache = new WeakMap<InjectorConfig, Map<string, Sidecar>>();

/**
 * buildSidecar, remembered per configuration and pod settings: the pods of one workload (and
 * most pods of a cluster) get identical sidecars, so a rollout of thousands of pods builds
 * them once. The result is deeply frozen because every caller shares it, which also lets the
 * patch serialiser reuse its JSON. The cache is bounded so that annotation variety cannot grow it.
 */
export function sidecarFor(config: InjectorConfig, spec: ProxySpec, mode: InjectMode, native: boolean): Sidecar {
  // A frozen spec (see cachedOverrides) is found by identity, without serialising it.
  const slot = (mode === 'ingress' ? 2 : 0) + (native ? 1 : 0);
  const frozen = Object.isFrozen(spec);
  if (frozen) {
    const known = sidecarsBySpec.get(spec)?.[slot];
    if (known !== undefined && known.config === config) return known.sidecar;
  }
  const sidecar = sidecarByKey(config, spec, mode, native);
  if (frozen) {
    let slots = sidecarsBySpec.get(spec);
    if (slots === undefined) {
      slots = [];
      sidecarsBySpec.set(spec, slots);
    }
    slots[slot] = { config, sidecar };
  }
  return sidecar;
}

const sidecarsBySpec = new WeakMap<ProxySpec, ({ config: InjectorConfig; sidecar: Sidecar } | undefined)[]>();

function sidecarByKey(config: InjectorConfig, spec: ProxySpec, mode: InjectMode, native: boolean): Sidecar {
  const byKey = tableFor(sidecarCache, config);
  const key = `${mode}|${native}|${JSON.stringify(spec)}`;
  let sidecar = byKey.get(key);
  if (sidecar === undefined) {
    if (byKey.size >= MAX_CACHED_SIDECARS) byKey.clear();
    sidecar = deepFreeze(buildSidecar(config, spec, mode, native));
    byKey.set(key, sidecar);
  }
  return sidecar;
}
