import { readFileSync } from 'node:fs';
import { UsageError, choiceFlag, intFlag, type FlagSpecs, type ParsedFlags } from '../util/flags.ts';
import { durationMs } from '../util/duration.ts';
import { LOG_LEVELS, type LogLevel } from '../util/log-levels.ts';
import { parsePortList, PortListError, type PortSet } from './ports.ts';
import { INBOUND_POLICIES, type DefaultInboundPolicy } from './policy.ts';

// `weft proxy`'s flags. The injector sets the environment variables named here, so their
// names are part of the contract with src/inject.

export const proxyFlags = {
  'inbound-port': { type: 'string', default: '4143', help: 'port of the inbound listener (redirected traffic to the pod)', env: 'WEFT_PROXY_INBOUND_PORT' },
  'outbound-port': { type: 'string', default: '4140', help: 'port of the outbound listener, on 127.0.0.1 only', env: 'WEFT_PROXY_OUTBOUND_PORT' },
  'admin-port': { type: 'string', default: '4191', help: 'port of the admin server (/live, /ready, /metrics)', env: 'WEFT_PROXY_ADMIN_PORT' },
  'log-level': { type: 'string', default: 'info', help: 'fatal, error, warn, info, debug, trace or silent', env: 'WEFT_PROXY_LOG_LEVEL' },
  'pod-name': { type: 'string', help: 'this pod\'s name (logs)', env: 'WEFT_POD_NAME' },
  'pod-namespace': { type: 'string', help: 'this pod\'s namespace (its identity)', env: 'WEFT_POD_NAMESPACE' },
  'pod-ip': { type: 'string', help: 'this pod\'s IP (logs)', env: 'WEFT_POD_IP' },
  'service-account': { type: 'string', help: 'this pod\'s service account (its identity)', env: 'WEFT_SERVICE_ACCOUNT' },
  'trust-domain': { type: 'string', default: 'cluster.local', help: 'mesh trust domain', env: 'WEFT_TRUST_DOMAIN' },
  'controller-namespace': { type: 'string', default: 'weft', help: 'namespace of the weft controller (part of identity names)', env: 'WEFT_CONTROLLER_NAMESPACE' },
  'identity-url': { type: 'string', help: 'base URL of the identity service that signs this proxy\'s certificate', env: 'WEFT_IDENTITY_URL' },
  'identity-token-file': { type: 'string', default: '/var/run/secrets/tokens/weft-identity-token', help: 'projected service-account token sent to the identity service', env: 'WEFT_IDENTITY_TOKEN_FILE' },
  'identity-dir': { type: 'string', default: '/var/run/weft/identity', help: 'where the current key and certificate are written', env: 'WEFT_IDENTITY_DIR' },
  'trust-anchors-pem': { type: 'string', help: 'PEM text of the mesh trust anchors', env: 'WEFT_TRUST_ANCHORS_PEM' },
  'trust-anchors': { type: 'string', help: 'file holding the mesh trust anchors (PEM)' },
  'identity-cert': { type: 'string', help: 'static workload certificate chain file (PEM; instead of --identity-url)' },
  'identity-key': { type: 'string', help: 'static workload private key file (PEM)' },
  'discovery-url': { type: 'string', help: 'URL of the discovery document, polled', env: 'WEFT_DISCOVERY_URL' },
  'discovery-file': { type: 'string', help: 'file holding the discovery document, polled', env: 'WEFT_DISCOVERY_FILE' },
  'discovery-interval': { type: 'string', default: '5s', help: 'how often discovery is polled', env: 'WEFT_DISCOVERY_INTERVAL' },
  'require-identity-inbound-ports': { type: 'list', help: 'inbound ports that refuse clients without a mesh identity (comma list, ranges)', env: 'WEFT_REQUIRE_IDENTITY_INBOUND_PORTS' },
  'opaque-ports': { type: 'list', help: 'ports (inbound, and outbound destinations) proxied as opaque TCP without protocol detection', env: 'WEFT_OPAQUE_PORTS' },
  'default-inbound-policy': { type: 'string', default: 'all-unauthenticated', help: `who may connect inbound: ${INBOUND_POLICIES.join(' | ')}`, env: 'WEFT_DEFAULT_INBOUND_POLICY' },
  'detect-timeout': { type: 'string', default: '1s', help: 'how long inbound waits for a client\'s first bytes before treating it as opaque', env: 'WEFT_PROXY_DETECT_TIMEOUT' },
  'shutdown-grace': { type: 'string', default: '30s', help: 'how long SIGTERM waits for open connections to finish', env: 'WEFT_PROXY_SHUTDOWN_GRACE' },
} satisfies FlagSpecs;

export type IdentityConfig =
  | { kind: 'static'; certFile: string; keyFile: string; trustAnchorsPem: string }
  | { kind: 'service'; url: string; tokenFile: string; identityDir: string; trustAnchorsPem: string; localName: string | undefined };

export interface ProxyConfig {
  inboundPort: number;
  outboundPort: number;
  adminPort: number;
  logLevel: LogLevel;
  pod: { name?: string; namespace?: string; ip?: string; serviceAccount?: string };
  trustDomain: string;
  controllerNamespace: string;
  identity: IdentityConfig;
  discovery: { kind: 'none' } | { kind: 'file'; file: string; intervalMs: number } | { kind: 'url'; url: string; intervalMs: number };
  requireIdentityPorts: PortSet;
  opaquePorts: PortSet;
  defaultInboundPolicy: DefaultInboundPolicy;
  detectTimeoutMs: number;
  shutdownGraceMs: number;
}

function ports(flag: string, value: string[]): PortSet {
  try {
    return parsePortList(value);
  } catch (error) {
    if (error instanceof PortListError) throw new UsageError(`--${flag}: ${error.message}`);
    throw error;
  }
}

function duration(flag: string, value: string | undefined): number {
  try {
    return durationMs(value ?? '', `--${flag}`);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** Validates the flags into a config; reads only the trust-anchor file, so errors surface at start. */
export function proxyConfig(flags: ParsedFlags<typeof proxyFlags>, readText: (file: string) => string = (f) => readFileSync(f, 'utf8')): ProxyConfig {
  const logLevel = choiceFlag(flags['log-level'] ?? 'info', 'log-level', LOG_LEVELS);
  const policy = choiceFlag(flags['default-inbound-policy'] ?? 'all-unauthenticated', 'default-inbound-policy', INBOUND_POLICIES);
  let trustAnchorsPem = flags['trust-anchors-pem'];
  if (trustAnchorsPem === undefined && flags['trust-anchors'] !== undefined) trustAnchorsPem = readText(flags['trust-anchors']);
  if (trustAnchorsPem === undefined || trustAnchorsPem.trim() === '') throw new UsageError('the mesh trust anchors are required: --trust-anchors-pem (WEFT_TRUST_ANCHORS_PEM) or --trust-anchors FILE');
  const sa = flags['service-account'];
  const ns = flags['pod-namespace'];
  const trustDomain = flags['trust-domain'] ?? 'cluster.local';
  const controllerNamespace = flags['controller-namespace'] ?? 'weft';
  let identity: IdentityConfig;
  if (flags['identity-cert'] !== undefined || flags['identity-key'] !== undefined) {
    if (flags['identity-cert'] === undefined || flags['identity-key'] === undefined) throw new UsageError('--identity-cert and --identity-key go together');
    identity = { kind: 'static', certFile: flags['identity-cert'], keyFile: flags['identity-key'], trustAnchorsPem };
  } else if (flags['identity-url'] !== undefined) {
    identity = {
      kind: 'service',
      url: flags['identity-url'],
      tokenFile: flags['identity-token-file'] ?? '',
      identityDir: flags['identity-dir'] ?? '',
      trustAnchorsPem,
      localName: sa !== undefined && ns !== undefined ? `${sa}.${ns}.serviceaccount.identity.${controllerNamespace}.${trustDomain}` : undefined,
    };
  } else {
    throw new UsageError('no workload identity: give --identity-url (WEFT_IDENTITY_URL) or --identity-cert and --identity-key');
  }
  const intervalMs = duration('discovery-interval', flags['discovery-interval']);
  if (flags['discovery-url'] !== undefined && flags['discovery-file'] !== undefined) throw new UsageError('--discovery-url and --discovery-file are alternatives; give one');
  const discovery: ProxyConfig['discovery'] =
    flags['discovery-url'] !== undefined
      ? { kind: 'url', url: flags['discovery-url'], intervalMs }
      : flags['discovery-file'] !== undefined
        ? { kind: 'file', file: flags['discovery-file'], intervalMs }
        : { kind: 'none' };
  return {
    inboundPort: intFlag(flags['inbound-port'], 'inbound-port', 1, 65535),
    outboundPort: intFlag(flags['outbound-port'], 'outbound-port', 1, 65535),
    adminPort: intFlag(flags['admin-port'], 'admin-port', 1, 65535),
    logLevel,
    pod: { name: flags['pod-name'], namespace: ns, ip: flags['pod-ip'], serviceAccount: sa },
    trustDomain,
    controllerNamespace,
    identity,
    discovery,
    requireIdentityPorts: ports('require-identity-inbound-ports', flags['require-identity-inbound-ports']),
    opaquePorts: ports('opaque-ports', flags['opaque-ports']),
    defaultInboundPolicy: policy,
    detectTimeoutMs: duration('detect-timeout', flags['detect-timeout']),
    shutdownGraceMs: duration('shutdown-grace', flags['shutdown-grace']),
  };
}
