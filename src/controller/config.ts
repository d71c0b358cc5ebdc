import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { durationMs } from '../util/duration.ts';
import { choiceFlag, intFlag, UsageError } from '../util/flags.ts';
import type { FlagSpecs, ParsedFlags } from '../util/flags.ts';
import { defaultInjectorConfig, parseInjectorConfig } from '../inject/config.ts';
import type { InjectorConfig } from '../inject/config.ts';
import { identityFlagSpecs, identityOptionsFromFlags } from '../identity/config.ts';
import type { IdentityOptions } from '../identity/config.ts';

export const controllerFlagSpecs = {
  address: { type: 'string', default: '0.0.0.0', help: 'address of the HTTPS admission listener' },
  port: { type: 'string', default: '8443', help: 'port of the HTTPS admission listener (/inject, /validate)' },
  'admin-address': { type: 'string', default: '0.0.0.0', help: 'address of the plain-HTTP admin listener' },
  'admin-port': { type: 'string', default: '9995', help: 'port of the admin listener (/healthz, /readyz, /metrics)' },
  'tls-cert': { type: 'string', default: '/var/run/weft/tls/tls.crt', help: 'serving certificate (PEM), reloaded when it changes' },
  'tls-key': { type: 'string', default: '/var/run/weft/tls/tls.key', help: 'serving key (PEM), reloaded when it changes' },
  'tls-min-version': { type: 'string', default: 'TLSv1.3', help: 'lowest TLS version accepted: TLSv1.2 or TLSv1.3' },
  namespace: { type: 'string', default: 'weft', env: 'WEFT_NAMESPACE', help: "the controller's own namespace (never injected)" },
  'cluster-state': { type: 'string', help: 'read namespaces and objects from YAML files in this folder instead of a cluster' },
  kubeconfig: { type: 'string', env: 'KUBECONFIG', help: 'kubeconfig file, or several separated by colons (default: the in-cluster service account, else ~/.kube/config)' },
  'cluster-domain': { type: 'string', default: 'cluster.local', help: "the cluster's DNS domain" },
  'inject-config': { type: 'string', help: 'YAML file with the injector defaults (proxy image, resources, ports, ...)' },
  'on-error': { type: 'string', default: 'allow', help: 'when injection fails internally: allow (admit without proxy, with a warning) or deny' },
  'drain-delay': { type: 'string', default: '5s', help: 'after SIGTERM, how long to keep serving while endpoints are removed' },
  'shutdown-timeout': { type: 'string', default: '15s', help: 'after the drain delay, how long open requests may take' },
  'log-level': { type: 'string', default: 'info', env: 'WEFT_LOG_LEVEL', help: 'fatal, error, warn, info, debug or trace' },
  standalone: { type: 'boolean', help: 'run on localhost with a development certificate and the example cluster state (no cluster needed)' },
  'state-dir': { type: 'string', default: '.weft/standalone', help: 'where standalone mode keeps its development certificates' },
  ...identityFlagSpecs,
} satisfies FlagSpecs;

export type ControllerFlags = ParsedFlags<typeof controllerFlagSpecs>;

export interface ControllerConfig {
  address: string;
  port: number;
  adminAddress: string;
  adminPort: number;
  tlsCert: string;
  tlsKey: string;
  tlsMinVersion: 'TLSv1.2' | 'TLSv1.3';
  namespace: string;
  clusterStateDir: string | undefined;
  kubeconfig: string | undefined;
  clusterDomain: string;
  onError: 'allow' | 'deny';
  drainDelayMs: number;
  shutdownTimeoutMs: number;
  logLevel: string;
  standalone: boolean;
  stateDir: string;
  injector: InjectorConfig;
  identity: IdentityOptions;
}

/** Turns flags into a checked config; every error names its flag. */
export async function controllerConfigFromFlags(flags: ControllerFlags, version: string): Promise<ControllerConfig> {
  const tlsMinVersion = choiceFlag(flags['tls-min-version'], 'tls-min-version', ['TLSv1.2', 'TLSv1.3'] as const);
  const onError = choiceFlag(flags['on-error'], 'on-error', ['allow', 'deny'] as const);
  const duration = (name: 'drain-delay' | 'shutdown-timeout'): number => {
    try {
      return durationMs(flags[name] ?? '', `--${name}`);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  };
  const namespace = flags.namespace ?? 'weft';
  let injector = defaultInjectorConfig(version);
  injector.controllerNamespace = namespace;
  injector.identityUrl = `https://weft-identity.${namespace}.svc.${flags['cluster-domain']}:8080`;
  const injectConfigFile = flags['inject-config'];
  if (injectConfigFile !== undefined) {
    let text: string;
    try {
      text = await readFile(injectConfigFile, 'utf8');
    } catch (error) {
      throw new UsageError(`--inject-config: cannot read ${injectConfigFile}: ${(error as Error).message}`);
    }
    try {
      injector = parseInjectorConfig(parseYaml(text), injector, injectConfigFile);
    } catch (error) {
      throw new UsageError(`--inject-config: ${(error as Error).message}`);
    }
  }
  // Proxies read discovery from the identity service, over the TLS they already verify.
  if (injector.discoveryUrl === '') injector.discoveryUrl = `${injector.identityUrl.replace(/\/+$/, '')}/v1/discovery`;
  const identity = identityOptionsFromFlags(flags);
  if (identity.trustDomain !== injector.trustDomain && injectConfigFile === undefined) injector.trustDomain = identity.trustDomain;
  if (injector.trustAnchorsPEM === '' && !identity.disabled) {
    // Proxies verify peers and the identity service against the same anchors the issuer chains to.
    const anchors = identity.trustAnchorsFile ?? `${identity.issuerDir}/ca.crt`;
    injector.trustAnchorsPEM = await readFile(anchors, 'utf8').catch(() => '');
  }
  return {
    address: flags.address ?? '0.0.0.0',
    port: intFlag(flags.port, 'port', 0, 65535),
    adminAddress: flags['admin-address'] ?? '0.0.0.0',
    adminPort: intFlag(flags['admin-port'], 'admin-port', 0, 65535),
    tlsCert: flags['tls-cert'] ?? '',
    tlsKey: flags['tls-key'] ?? '',
    tlsMinVersion,
    namespace,
    clusterStateDir: flags['cluster-state'],
    kubeconfig: flags.kubeconfig,
    clusterDomain: flags['cluster-domain'] ?? 'cluster.local',
    onError,
    drainDelayMs: duration('drain-delay'),
    shutdownTimeoutMs: duration('shutdown-timeout'),
    logLevel: flags['log-level'] ?? 'info',
    standalone: flags.standalone,
    stateDir: flags['state-dir'] ?? '.weft/standalone',
    injector,
    identity,
  };
}
