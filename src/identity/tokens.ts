// Service-account token checks shared by both authenticators: the JWKS verifier (standalone
// mode, tests) and TokenReview (in a cluster). Either way the identity is the service account the
// token names, and nothing the caller says about itself.
import { createPublicKey, createPrivateKey, verify as cryptoVerify, sign as cryptoSign, constants, type KeyObject, type JsonWebKey } from 'node:crypto';

export interface ServiceAccountSubject {
  namespace: string;
  serviceAccount: string;
  /** The pod the token is bound to, when the token says (projected tokens do). */
  podName?: string;
}

export type TokenFailure = 'missing' | 'malformed' | 'signature' | 'expired' | 'not_yet_valid' | 'audience' | 'issuer' | 'subject' | 'rejected';

/** The token does not prove an identity: always HTTP 401. */
export class TokenError extends Error {
  override name = 'TokenError';
  readonly reason: TokenFailure;
  constructor(reason: TokenFailure, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** The authenticator could not decide (API server down): HTTP 503, the client retries. */
export class AuthenticatorUnavailableError extends Error {
  override name = 'AuthenticatorUnavailableError';
}

export interface TokenAuthenticator {
  readonly kind: string;
  authenticate(token: string): Promise<ServiceAccountSubject>;
}

const SA_PREFIX = 'system:serviceaccount:';

/** `system:serviceaccount:<ns>:<sa>`, the username Kubernetes gives every service-account token. */
export function parseServiceAccountUsername(username: string): { namespace: string; serviceAccount: string } | undefined {
  if (!username.startsWith(SA_PREFIX)) return undefined;
  const parts = username.slice(SA_PREFIX.length).split(':');
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') return undefined;
  return { namespace: parts[0]!, serviceAccount: parts[1]! };
}

// ---------------------------------------------------------------------------------------------
// Local JWT verification against a JWKS (what the API server serves at /openid/v1/jwks).

interface AlgorithmSpec {
  keyType: 'rsa' | 'ec';
  hash: string;
  curve?: string;
  pss?: boolean;
}

// Only asymmetric algorithms: "none" and HMAC (whose secret would be the public key) never verify.
const ALGORITHMS: Record<string, AlgorithmSpec> = {
  RS256: { keyType: 'rsa', hash: 'sha256' },
  RS384: { keyType: 'rsa', hash: 'sha384' },
  RS512: { keyType: 'rsa', hash: 'sha512' },
  PS256: { keyType: 'rsa', hash: 'sha256', pss: true },
  ES256: { keyType: 'ec', hash: 'sha256', curve: 'prime256v1' },
  ES384: { keyType: 'ec', hash: 'sha384', curve: 'secp384r1' },
};

export interface VerificationKey {
  kid?: string;
  key: KeyObject;
}

export interface Jwks {
  keys: JsonWebKey[];
}

export function keysFromJwks(jwks: unknown): VerificationKey[] {
  if (typeof jwks !== 'object' || jwks === null || !Array.isArray((jwks as { keys?: unknown }).keys)) throw new Error('JWKS must be a JSON object with a "keys" array');
  const keys: VerificationKey[] = [];
  for (const [index, jwk] of ((jwks as { keys: unknown[] }).keys).entries()) {
    if (typeof jwk !== 'object' || jwk === null) throw new Error(`JWKS keys[${index}] is not an object`);
    const entry = jwk as JsonWebKey & { kid?: unknown; use?: unknown };
    if (entry.use !== undefined && entry.use !== 'sig') continue;
    let key: KeyObject;
    try {
      key = createPublicKey({ key: entry, format: 'jwk' });
    } catch (error) {
      throw new Error(`JWKS keys[${index}]: ${(error as Error).message}`);
    }
    keys.push(typeof entry.kid === 'string' ? { kid: entry.kid, key } : { key });
  }
  if (keys.length === 0) throw new Error('JWKS has no signing keys');
  return keys;
}

function decodeSegment(segment: string, what: string): Record<string, unknown> {
  if (!/^[A-Za-z0-9_-]*$/.test(segment)) throw new TokenError('malformed', `token ${what} is not base64url`);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    throw new TokenError('malformed', `token ${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TokenError('malformed', `token ${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

function keyFits(key: KeyObject, spec: AlgorithmSpec): boolean {
  if (key.asymmetricKeyType !== spec.keyType) return false;
  return spec.curve === undefined || key.asymmetricKeyDetails?.namedCurve === spec.curve;
}

export interface JwtCheck {
  keys: readonly VerificationKey[];
  audience: string;
  /** Expected `iss`; unchecked when undefined. */
  issuer?: string;
  now?: Date;
  /** Clock skew tolerated on exp/nbf, seconds. */
  leewaySeconds?: number;
}

/** Verifies a Kubernetes service-account JWT and returns whom it names. Throws TokenError. */
export function verifyServiceAccountJwt(token: string, check: JwtCheck): ServiceAccountSubject {
  const parts = token.split('.');
  if (parts.length !== 3) throw new TokenError('malformed', 'token is not a JWS compact serialization (three dot-separated parts)');
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  const header = decodeSegment(headerPart, 'header');
  const alg = header.alg;
  const spec = typeof alg === 'string' ? ALGORITHMS[alg] : undefined;
  if (!spec) throw new TokenError('signature', `token algorithm ${JSON.stringify(alg)} is not accepted`);
  if (!/^[A-Za-z0-9_-]+$/.test(signaturePart)) throw new TokenError('malformed', 'token signature is not base64url');
  const kid = typeof header.kid === 'string' ? header.kid : undefined;
  const candidates = check.keys.filter((k) => (kid === undefined || k.kid === undefined || k.kid === kid) && keyFits(k.key, spec));
  if (candidates.length === 0) throw new TokenError('signature', `no trusted key${kid !== undefined ? ` with kid "${kid}"` : ''} for algorithm ${String(alg)}`);
  const signed = Buffer.from(`${headerPart}.${payloadPart}`);
  const signature = Buffer.from(signaturePart, 'base64url');
  const verified = candidates.some(({ key }) =>
    cryptoVerify(spec.hash, signed, spec.keyType === 'ec' ? { key, dsaEncoding: 'ieee-p1363' } : spec.pss ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST } : key, signature),
  );
  if (!verified) throw new TokenError('signature', 'token signature does not verify against any trusted key');

  // Claims are only looked at once the signature holds, so nothing unauthenticated shapes the answer.
  const claims = decodeSegment(payloadPart, 'payload');
  const now = Math.floor((check.now ?? new Date()).getTime() / 1000);
  const leeway = check.leewaySeconds ?? 30;
  if (typeof claims.exp !== 'number') throw new TokenError('expired', 'token has no exp claim (legacy secret tokens are not accepted; mount a projected token)');
  if (claims.exp + leeway <= now) throw new TokenError('expired', `token expired at ${new Date(claims.exp * 1000).toISOString()}`);
  if (typeof claims.nbf === 'number' && claims.nbf - leeway > now) throw new TokenError('not_yet_valid', `token is not valid before ${new Date(claims.nbf * 1000).toISOString()}`);
  const audiences = typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud.filter((a): a is string => typeof a === 'string') : [];
  if (!audiences.includes(check.audience)) throw new TokenError('audience', `token audience ${JSON.stringify(audiences)} does not include "${check.audience}"`);
  if (check.issuer !== undefined && claims.iss !== check.issuer) throw new TokenError('issuer', `token issuer ${JSON.stringify(claims.iss)} is not "${check.issuer}"`);
  const subject = typeof claims.sub === 'string' ? parseServiceAccountUsername(claims.sub) : undefined;
  if (!subject) throw new TokenError('subject', `token subject ${JSON.stringify(claims.sub)} is not a service account`);
  const k8s = claims['kubernetes.io'] as { namespace?: unknown; serviceaccount?: { name?: unknown }; pod?: { name?: unknown } } | undefined;
  if (k8s !== undefined) {
    if (k8s.namespace !== undefined && k8s.namespace !== subject.namespace) throw new TokenError('subject', 'token kubernetes.io.namespace disagrees with its subject');
    if (k8s.serviceaccount?.name !== undefined && k8s.serviceaccount.name !== subject.serviceAccount) throw new TokenError('subject', 'token kubernetes.io.serviceaccount.name disagrees with its subject');
  }
  const podName = typeof k8s?.pod?.name === 'string' ? k8s.pod.name : undefined;
  return podName !== undefined ? { ...subject, podName } : subject;
}

export class JwksAuthenticator implements TokenAuthenticator {
  readonly kind = 'jwks';
  #keys: VerificationKey[];
  readonly #audience: string;
  readonly #issuer: string | undefined;

  constructor(keys: VerificationKey[], audience: string, issuer?: string) {
    this.#keys = keys;
    this.#audience = audience;
    this.#issuer = issuer;
  }

  setKeys(keys: VerificationKey[]): void {
    this.#keys = keys;
  }

  async authenticate(token: string): Promise<ServiceAccountSubject> {
    return verifyServiceAccountJwt(token, { keys: this.#keys, audience: this.#audience, ...(this.#issuer !== undefined ? { issuer: this.#issuer } : {}) });
  }
}

// ---------------------------------------------------------------------------------------------
// Signing, for tests and standalone dev tokens: real signatures, same format as the API server.

export interface ServiceAccountTokenSpec {
  namespace: string;
  serviceAccount: string;
  audience: string | string[];
  issuer?: string;
  lifetimeSeconds?: number;
  podName?: string;
  now?: Date;
  /** Overrides merged last, to build hostile tokens in tests. */
  extraClaims?: Record<string, unknown>;
}

export function signJwt(claims: Record<string, unknown>, keyPem: string, opts: { kid?: string; alg?: string } = {}): string {
  const privateKey = createPrivateKey(keyPem);
  const alg = opts.alg ?? (privateKey.asymmetricKeyType === 'ec' ? 'ES256' : 'RS256');
  const spec = ALGORITHMS[alg];
  if (!spec) throw new Error(`cannot sign with ${alg}`);
  const header = { alg, typ: 'JWT', ...(opts.kid !== undefined ? { kid: opts.kid } : {}) };
  const signingInput = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const signature = cryptoSign(spec.hash, Buffer.from(signingInput), spec.keyType === 'ec' ? { key: privateKey, dsaEncoding: 'ieee-p1363' } : privateKey);
  return `${signingInput}.${signature.toString('base64url')}`;
}

export function signServiceAccountToken(spec: ServiceAccountTokenSpec, keyPem: string, kid?: string): string {
  const now = Math.floor((spec.now ?? new Date()).getTime() / 1000);
  const claims: Record<string, unknown> = {
    aud: spec.audience,
    exp: now + (spec.lifetimeSeconds ?? 3600),
    iat: now,
    nbf: now,
    iss: spec.issuer ?? 'https://kubernetes.default.svc.cluster.local',
    sub: `${SA_PREFIX}${spec.namespace}:${spec.serviceAccount}`,
    'kubernetes.io': {
      namespace: spec.namespace,
      serviceaccount: { name: spec.serviceAccount, uid: '00000000-0000-4000-8000-000000000000' },
      ...(spec.podName !== undefined ? { pod: { name: spec.podName, uid: '00000000-0000-4000-8000-000000000001' } } : {}),
    },
    ...spec.extraClaims,
  };
  return signJwt(claims, keyPem, kid !== undefined ? { kid } : {});
}

/** A JWKS document for a public key, with the kid the API server would use. */
export function jwksFor(publicKeys: { key: KeyObject; kid: string }[]): Jwks {
  return { keys: publicKeys.map(({ key, kid }) => ({ ...key.export({ format: 'jwk' }), kid, use: 'sig', alg: key.asymmetricKeyType === 'ec' ? 'ES256' : 'RS256' })) };
}
