import { isRecord } from '../kube/types.ts';

// The injector's configuration: what every new pod gets unless its annotations say otherwise.
// The chart renders it into a ConfigMap (--inject-config), so one `helm upgrade` changes what
// new pods get without a new controller image.

export interface ResourceSettings {
  cpuRequest: string;
  cpuLimit: string;
  memoryRequest: string;
  memoryLimit: string;
}

export interface ProxySettings {
  image: string;
  version: string;
  imagePullPolicy: string;
  logLevel: string;
  uid: number;
  inboundPort: number;
  outboundPort: number;
  adminPort: number;
  resources: ResourceSettings;
  nativeSidecar: boolean;
  await: boolean;
  defaultInboundPolicy: string;
}

export interface ProxyInitSettings {
  iptablesMode: string;
  ignoreInboundPorts: string;
  ignoreOutboundPorts: string;
  skipSubnets: string;
  resources: ResourceSettings;
}

export interface InjectorConfig {
  controllerNamespace: string;
  trustDomain: string;
  identityUrl: string;
  identityAudience: string;
  discoveryUrl: string;
  trustAnchorsPEM: string;
  proxy: ProxySettings;
  proxyInit: ProxyInitSettings;
}

export const PROXY_CONTAINER_NAME = 'weft-proxy';
export const INIT_CONTAINER_NAME = 'weft-init';
/** Sidecars of any mesh: a pod that has one is never injected again. */
export const MESH_PROXY_CONTAINER_NAMES: ReadonlySet<string> = new Set([PROXY_CONTAINER_NAME, 'linkerd-proxy', 'istio-proxy']);
/** Ports of the proxy itself that the inbound redirect must leave alone (Linkerd's 4190/4191). */
export const PROXY_OWN_INBOUND_PORTS = '4190,4191';

export function defaultInjectorConfig(version: string): InjectorConfig {
  return {
    controllerNamespace: 'weft',
    trustDomain: 'cluster.local',
    identityUrl: 'https://weft-identity.weft.svc.cluster.local:8080',
    identityAudience: 'identity.l5d.io',
    discoveryUrl: '',
    trustAnchorsPEM: '',
    proxy: {
      image: 'ghcr.io/weft-mesh/weft',
      version,
      imagePullPolicy: 'IfNotPresent',
      logLevel: 'info',
      uid: 2102,
      inboundPort: 4143,
      outboundPort: 4140,
      adminPort: 4191,
      resources: { cpuRequest: '100m', cpuLimit: '', memoryRequest: '20Mi', memoryLimit: '250Mi' },
      nativeSidecar: false,
      await: true,
      defaultInboundPolicy: 'all-unauthenticated',
    },
    proxyInit: {
      iptablesMode: 'auto',
      ignoreInboundPorts: '',
      ignoreOutboundPorts: '',
      skipSubnets: '',
      resources: { cpuRequest: '10m', cpuLimit: '100m', memoryRequest: '10Mi', memoryLimit: '20Mi' },
    },
  };
}

/**
 * Overlays a parsed YAML/JSON document on the defaults. Unknown keys and wrong types are errors
 * naming the key, because a typo here would silently change every new pod.
 */
export function parseInjectorConfig(document: unknown, defaults: InjectorConfig, source = 'inject config'): InjectorConfig {
  if (document === null || document === undefined) return defaults;
  const errors: string[] = [];
  const merged = overlay(defaults as unknown as Record<string, unknown>, document, '', errors) as unknown as InjectorConfig;
  if (errors.length > 0) throw new Error(`${source}: ${errors.join('; ')}`);
  return merged;
}

function overlay(base: Record<string, unknown>, patch: unknown, path: string, errors: string[]): Record<string, unknown> {
  if (!isRecord(patch)) {
    errors.push(`${path || '(top level)'}: expected a mapping`);
    return base;
  }
  const result: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    const here = path === '' ? key : `${path}.${key}`;
    if (!(key in base)) {
      errors.push(`${here}: unknown setting (known: ${Object.keys(base).join(', ')})`);
      continue;
    }
    const current = base[key];
    if (isRecord(current)) {
      result[key] = overlay(current, value, here, errors);
    } else if (typeof current === 'number') {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) errors.push(`${here}: expected a whole number, got ${JSON.stringify(value)}`);
      else result[key] = value;
    } else if (typeof current === 'boolean') {
      if (typeof value !== 'boolean') errors.push(`${here}: expected true or false, got ${JSON.stringify(value)}`);
      else result[key] = value;
    } else if (value === null) {
      result[key] = '';
    } else if (typeof value !== 'string' && typeof value !== 'number') {
      errors.push(`${here}: expected a string, got ${JSON.stringify(value)}`);
    } else {
      result[key] = String(value);
    }
  }
  return result;
}
