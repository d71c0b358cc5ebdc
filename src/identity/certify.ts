// The decision at the heart of the identity service, free of HTTP: who the token says the caller
// is, whether the CSR is acceptable for that identity, and the certificate it gets.
import { issueWorkloadCertificate, type Issuer } from './ca.ts';
import { parseCsr, csrNameMismatch, CsrError } from './csr.ts';
import { dnsIdentity, spiffeId, isNamespaceName, isServiceAccountName } from './names.ts';
import { TokenError, AuthenticatorUnavailableError, type TokenAuthenticator } from './tokens.ts';

/** The JSON body of a successful `POST /v1/certify`. */
export interface CertifyResponse {
  /** The leaf certificate, PEM. */
  certificate: string;
  /** Issuer certificates above the leaf, nearest first, PEM each; the root is not included. */
  chain: string[];
  /** The leaf's notAfter, RFC 3339. */
  expiresAt: string;
  /** The SPIFFE ID the certificate carries. */
  identity: string;
  dnsName: string;
}

/** The JSON body of every refusal. */
export interface CertifyErrorBody {
  error: string;
  message: string;
}

export class CertifyError extends Error {
  override name = 'CertifyError';
  readonly status: number;
  /** Stable machine-readable code, also the metrics `reason` label. */
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export interface CertifyContext {
  authenticator: TokenAuthenticator;
  issuer: Issuer;
  trustDomain: string;
  controllerNamespace: string;
  lifetimeMs: number;
}

const MAX_TOKEN_CHARS = 8192;
const MAX_CSR_CHARS = 8192;

export function bearerToken(header: string | undefined): string {
  if (header === undefined || header === '') throw new CertifyError(401, 'token_missing', 'missing "Authorization: Bearer <service-account token>" header');
  const match = /^Bearer +([A-Za-z0-9_.-]+)$/i.exec(header.trim());
  if (!match) throw new CertifyError(401, 'token_malformed', 'Authorization header must be "Bearer <token>" with a JWT');
  if (match[1]!.length > MAX_TOKEN_CHARS) throw new CertifyError(401, 'token_malformed', `token longer than ${MAX_TOKEN_CHARS} characters`);
  return match[1]!;
}

export function csrFromBody(body: unknown): string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new CertifyError(400, 'bad_request', 'request body must be a JSON object {"csr": "<PEM>"}');
  const csr = (body as { csr?: unknown }).csr;
  if (typeof csr !== 'string' || csr === '') throw new CertifyError(400, 'bad_request', 'request body needs "csr": a PEM certificate request');
  if (csr.length > MAX_CSR_CHARS) throw new CertifyError(413, 'payload_too_large', `csr longer than ${MAX_CSR_CHARS} characters`);
  return csr;
}

export async function certify(request: { token: string; csrPem: string }, ctx: CertifyContext): Promise<CertifyResponse> {
  let subject;
  try {
    subject = await ctx.authenticator.authenticate(request.token);
  } catch (error) {
    if (error instanceof TokenError) throw new CertifyError(401, `token_${error.reason}`, error.message);
    if (error instanceof AuthenticatorUnavailableError) throw new CertifyError(503, 'authenticator_unavailable', error.message);
    throw error;
  }
  if (!isNamespaceName(subject.namespace) || !isServiceAccountName(subject.serviceAccount)) {
    throw new CertifyError(403, 'invalid_identity', `token names "${subject.namespace}/${subject.serviceAccount}", which is not a valid namespace/service account`);
  }
  const identity = { trustDomain: ctx.trustDomain, namespace: subject.namespace, serviceAccount: subject.serviceAccount, controllerNamespace: ctx.controllerNamespace };
  const names = {
    dnsName: dnsIdentity(identity.serviceAccount, identity.namespace, identity.controllerNamespace, identity.trustDomain),
    spiffeId: spiffeId(identity.trustDomain, identity.namespace, identity.serviceAccount),
  };
  let parsed;
  try {
    parsed = await parseCsr(request.csrPem);
  } catch (error) {
    if (error instanceof CsrError) throw new CertifyError(400, 'csr_invalid', error.message);
    throw error;
  }
  const mismatch = csrNameMismatch(parsed, names);
  if (mismatch !== undefined) throw new CertifyError(403, 'csr_identity_mismatch', mismatch);
  const issued = await issueWorkloadCertificate(ctx.issuer, { publicKey: parsed.publicKeySpki, identity, lifetimeMs: ctx.lifetimeMs });
  return { certificate: issued.certPem, chain: issued.chain, expiresAt: issued.notAfter.toISOString(), identity: names.spiffeId, dnsName: names.dnsName };
}
