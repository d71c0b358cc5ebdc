import { UsageError, intFlag, type FlagSpecs } from '../util/flags.ts';
import { durationMs } from '../util/duration.ts';
import { isTrustDomain } from './names.ts';

export const DEFAULT_IDENTITY_AUDIENCE = 'identity.l5d.io';

/** Flags `weft controller` merges into its own; every name starts with `identity-`. */
export const identityFlagSpecs = {
  'identity-disabled': { type: 'boolean', help: 'do not run the identity service', env: 'WEFT_IDENTITY_DISABLED' },
  'identity-port': { type: 'string', default: '8080', help: 'HTTPS port of the identity service', env: 'WEFT_IDENTITY_PORT' },
  'identity-address': { type: 'string', default: '0.0.0.0', help: 'address the identity service listens on', env: 'WEFT_IDENTITY_ADDRESS' },
  'identity-issuer-dir': {
    type: 'string',
    default: '/var/run/weft/identity/issuer',
    help: 'directory with tls.crt and tls.key of the issuer (a mounted Secret); reloaded on change',
    env: 'WEFT_IDENTITY_ISSUER_DIR',
  },
  'identity-trust-anchors': { type: 'string', help: 'PEM file of trust anchors (default: ca.crt in the issuer directory)', env: 'WEFT_IDENTITY_TRUST_ANCHORS' },
  'identity-trust-domain': { type: 'string', default: 'cluster.local', help: 'trust domain of issued identities', env: 'WEFT_IDENTITY_TRUST_DOMAIN' },
  'identity-audience': { type: 'string', default: DEFAULT_IDENTITY_AUDIENCE, help: 'audience service-account tokens must carry', env: 'WEFT_IDENTITY_AUDIENCE' },
  'identity-jwks': { type: 'string', help: 'verify tokens locally against this JWKS file instead of TokenReview (standalone)', env: 'WEFT_IDENTITY_JWKS' },
  'identity-issuer': { type: 'string', help: 'expected "iss" of tokens when verifying against --identity-jwks', env: 'WEFT_IDENTITY_TOKEN_ISSUER' },
  'identity-cert-lifetime': { type: 'string', default: '24h', help: 'lifetime of workload certificates', env: 'WEFT_IDENTITY_CERT_LIFETIME' },
  'identity-rate-limit': { type: 'string', default: '20', help: 'certificate requests per second allowed from one client address (burst is twice that)', env: 'WEFT_IDENTITY_RATE_LIMIT' },
  'identity-reload-interval': { type: 'string', default: '10s', help: 'how often the issuer files are checked for changes', env: 'WEFT_IDENTITY_RELOAD_INTERVAL' },
  'identity-serving-names': {
    type: 'list',
    help: 'extra DNS names for the identity endpoint certificate, e.g. its Service name (default weft-identity.<ns>.svc[.cluster.local])',
    env: 'WEFT_IDENTITY_SERVING_NAMES',
  },
} satisfies FlagSpecs;

export interface IdentityFlagValues {
  'identity-disabled': boolean;
  'identity-port': string | undefined;
  'identity-address': string | undefined;
  'identity-issuer-dir': string | undefined;
  'identity-trust-anchors': string | undefined;
  'identity-trust-domain': string | undefined;
  'identity-audience': string | undefined;
  'identity-jwks': string | undefined;
  'identity-issuer': string | undefined;
  'identity-cert-lifetime': string | undefined;
  'identity-rate-limit': string | undefined;
  'identity-reload-interval': string | undefined;
  'identity-serving-names'?: string[];
}

export interface IdentityOptions {
  disabled: boolean;
  port: number;
  address: string;
  issuerDir: string;
  /** Undefined: `<issuerDir>/ca.crt`. */
  trustAnchorsFile?: string;
  trustDomain: string;
  audience: string;
  /** Set: verify tokens locally against this JWKS; unset: TokenReview. */
  jwksFile?: string;
  tokenIssuer?: string;
  certLifetimeMs: number;
  /** Per client address, requests per second. */
  rateLimitPerSecond: number;
  reloadIntervalMs: number;
  /** Largest request body accepted (a P-256 CSR is under 1 KiB). */
  maxBodyBytes: number;
  /**
   * DNS names the endpoint certificate carries besides its mesh name, so clients that dial the
   * Service name can verify it too. Undefined: `weft-identity.<ns>.svc` and `...svc.cluster.local`.
   */
  servingDnsNames?: string[];
  /** Requests in progress beyond which callers get 503 + Retry-After (default 256). */
  maxInflight?: number;
}

const MIN_LIFETIME_MS = 60_000;
const MAX_LIFETIME_MS = 90 * 24 * 3_600_000;

function required(value: string | undefined, name: string): string {
  if (value === undefined || value.trim() === '') throw new UsageError(`--${name}: a value is required`);
  return value;
}

function duration(value: string | undefined, name: string): number {
  try {
    return durationMs(required(value, name), `--${name}`);
  } catch (error) {
    throw error instanceof UsageError ? error : new UsageError((error as Error).message);
  }
}

// `env` is accepted for symmetry with the other option builders; the flag parser already merged it.
export function identityOptionsFromFlags(flags: IdentityFlagValues, _env: NodeJS.ProcessEnv = {}): IdentityOptions {
  const trustDomain = required(flags['identity-trust-domain'], 'identity-trust-domain').toLowerCase();
  if (!isTrustDomain(trustDomain)) throw new UsageError(`--identity-trust-domain: "${trustDomain}" is not a DNS name`);
  const audience = required(flags['identity-audience'], 'identity-audience');
  const certLifetimeMs = duration(flags['identity-cert-lifetime'], 'identity-cert-lifetime');
  if (certLifetimeMs < MIN_LIFETIME_MS || certLifetimeMs > MAX_LIFETIME_MS) {
    throw new UsageError(`--identity-cert-lifetime: expected between 1m and 2160h, got ${flags['identity-cert-lifetime']}`);
  }
  const reloadIntervalMs = duration(flags['identity-reload-interval'], 'identity-reload-interval');
  if (reloadIntervalMs < 100) throw new UsageError('--identity-reload-interval: expected at least 100ms');
  const options: IdentityOptions = {
    disabled: flags['identity-disabled'],
    port: intFlag(flags['identity-port'], 'identity-port', 0, 65535),
    address: required(flags['identity-address'], 'identity-address'),
    issuerDir: required(flags['identity-issuer-dir'], 'identity-issuer-dir'),
    trustDomain,
    audience,
    certLifetimeMs,
    rateLimitPerSecond: intFlag(flags['identity-rate-limit'], 'identity-rate-limit', 1, 100_000),
    reloadIntervalMs,
    maxBodyBytes: 16 * 1024,
  };
  const servingNames = flags['identity-serving-names'] ?? [];
  for (const name of servingNames) {
    if (!isTrustDomain(name.toLowerCase())) throw new UsageError(`--identity-serving-names: "${name}" is not a DNS name`);
  }
  if (servingNames.length > 0) options.servingDnsNames = servingNames.map((name) => name.toLowerCase());
  if (flags['identity-trust-anchors'] !== undefined) options.trustAnchorsFile = flags['identity-trust-anchors'];
  if (flags['identity-jwks'] !== undefined) options.jwksFile = flags['identity-jwks'];
  if (flags['identity-issuer'] !== undefined) {
    if (options.jwksFile === undefined) throw new UsageError('--identity-issuer: only meaningful with --identity-jwks (TokenReview checks the issuer itself)');
    options.tokenIssuer = flags['identity-issuer'];
  }
  return options;
}
