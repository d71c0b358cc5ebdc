// The mesh PKI. Two libraries on purpose:
// - node-forge builds the CA certificates and the webhook serving certificate (`weft certs`):
//   RSA, made rarely, offline.
// - @peculiar/x509 over node's WebCrypto builds workload certificates, because those are ECDSA
//   P-256 (a handshake with them costs a fraction of an RSA one; see bench/identity.bench.ts)
//   and forge can only sign RSA. Either library signs with an RSA or ECDSA issuer key.
// Keys always come from node:crypto. PEM strings in, PEM strings out.
import forge from 'node-forge';
import { x509 } from './x509.ts';
import { X509Certificate, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { generateKey, toSigningCryptoKey, fastSigningCrypto, spkiDer, type KeyType } from './keys.ts';
import { parseCsr, CsrError } from './csr.ts';
import { pemBlocks, joinPem, randomSerialHex } from './pem.ts';
import { identityDnsName, identitySpiffeId, type WorkloadIdentity } from './names.ts';

export { CsrError };
export type { WorkloadIdentity };

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const DEFAULT_TRUST_ANCHOR_LIFETIME_MS = 3650 * DAY;
export const DEFAULT_ISSUER_LIFETIME_MS = 365 * DAY;
export const DEFAULT_WORKLOAD_LIFETIME_MS = 24 * HOUR;
export const DEFAULT_WEBHOOK_CA_LIFETIME_MS = 3650 * DAY;
export const DEFAULT_WEBHOOK_SERVING_LIFETIME_MS = 365 * DAY;
/** Back-dating notBefore tolerates clocks that lag the controller's (Linkerd allows 20 s too). */
export const CLOCK_SKEW_MS = 20_000;

/** A certificate and its private key. */
export interface CertifiedKey {
  certPem: string;
  keyPem: string;
}

export type TrustAnchor = CertifiedKey;

/** A CA that signs workload certificates. `chainPem` is its certificate plus any intermediates above it, without the root. */
export interface Issuer extends CertifiedKey {
  chainPem?: string;
}

export interface CaOptions {
  commonName?: string;
  lifetimeMs?: number;
  /** basicConstraints pathLenConstraint. */
  pathLength?: number;
  rsaBits?: number;
  notBefore?: Date;
}

export interface IssuedCertificate {
  certPem: string;
  /** Issuer certificates above the leaf, nearest first, without the root. */
  chain: string[];
  /** Leaf followed by `chain`: what a TLS server or client presents. */
  chainPem: string;
  notBefore: Date;
  notAfter: Date;
  serialNumber: string;
}

// ---------------------------------------------------------------------------------------------
// CA certificates and the webhook serving certificate (node-forge, RSA).

interface ForgeCertSpec {
  subjectCommonName: string;
  publicKey: KeyObject;
  parent?: CertifiedKey;
  signingKeyPem: string;
  notBefore: Date;
  notAfter: Date;
  ca?: { pathLength?: number };
  dnsNames?: string[];
  ipAddresses?: string[];
}

function forgeParent(certPem: string): forge.pki.Certificate {
  try {
    return forge.pki.certificateFromPem(certPem);
  } catch (error) {
    throw new Error(`the signing CA certificate must be RSA for node-forge (${(error as Error).message})`);
  }
}

function forgeSubjectKeyId(cert: forge.pki.Certificate): string {
  const ext = cert.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | undefined;
  if (ext?.subjectKeyIdentifier) return forge.util.hexToBytes(ext.subjectKeyIdentifier);
  return cert.generateSubjectKeyIdentifier().getBytes();
}

function buildForgeCert(spec: ForgeCertSpec): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(spec.publicKey.export({ format: 'pem', type: 'spki' }).toString());
  cert.serialNumber = randomSerialHex();
  cert.validity.notBefore = spec.notBefore;
  cert.validity.notAfter = spec.notAfter;
  const subject = [{ name: 'commonName', value: spec.subjectCommonName }];
  cert.setSubject(subject);
  const parent = spec.parent ? forgeParent(spec.parent.certPem) : undefined;
  cert.setIssuer(parent ? parent.subject.attributes : subject);
  const extensions: object[] = [];
  if (spec.ca) {
    extensions.push({ name: 'basicConstraints', cA: true, ...(spec.ca.pathLength !== undefined ? { pathLenConstraint: spec.ca.pathLength } : {}), critical: true });
    extensions.push({ name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true });
  } else {
    extensions.push({ name: 'basicConstraints', cA: false, critical: true });
    extensions.push({ name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true });
    extensions.push({ name: 'extKeyUsage', serverAuth: true });
    const altNames = [
      ...(spec.dnsNames ?? []).map((value) => ({ type: 2, value })),
      ...(spec.ipAddresses ?? []).map((ip) => ({ type: 7, ip })),
    ];
    if (altNames.length > 0) extensions.push({ name: 'subjectAltName', altNames });
  }
  extensions.push({ name: 'subjectKeyIdentifier' });
  // A self-signed certificate's authority key id is its own subject key id.
  extensions.push({ name: 'authorityKeyIdentifier', keyIdentifier: parent ? forgeSubjectKeyId(parent) : true });
  cert.setExtensions(extensions);
  const signingKey = forge.pki.privateKeyFromPem(createPrivateKey(spec.signingKeyPem).export({ format: 'pem', type: 'pkcs1' }).toString());
  cert.sign(signingKey, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert).replace(/\r\n/g, '\n');
}

function validity(opts: { lifetimeMs?: number; notBefore?: Date }, defaultLifetimeMs: number): { notBefore: Date; notAfter: Date } {
  const lifetime = opts.lifetimeMs ?? defaultLifetimeMs;
  if (!Number.isFinite(lifetime) || lifetime <= 0) throw new Error(`certificate lifetime must be positive, got ${lifetime} ms`);
  const start = opts.notBefore ?? new Date(Date.now() - CLOCK_SKEW_MS);
  return { notBefore: start, notAfter: new Date(start.getTime() + lifetime) };
}

/** Fails early when a CA certificate and key do not belong together (a later chain would never verify). */
export function assertKeyMatches(pair: CertifiedKey, what: string): void {
  const cert = new X509Certificate(pemBlocks(pair.certPem)[0] ?? pair.certPem);
  if (!cert.checkPrivateKey(createPrivateKey(pair.keyPem))) throw new Error(`${what}: the private key does not match the certificate`);
}

function assertCa(certPem: string, what: string): X509Certificate {
  const cert = new X509Certificate(pemBlocks(certPem)[0] ?? certPem);
  if (!cert.ca) throw new Error(`${what}: certificate ${cert.subject} is not a CA (basicConstraints CA:TRUE missing)`);
  return cert;
}

/** The mesh root: long-lived, kept offline; only its certificate is distributed to proxies. */
export async function createTrustAnchor(opts: CaOptions = {}): Promise<TrustAnchor> {
  const key = await generateKey({ rsaBits: opts.rsaBits ?? 2048 });
  const { notBefore, notAfter } = validity(opts, DEFAULT_TRUST_ANCHOR_LIFETIME_MS);
  const certPem = buildForgeCert({
    subjectCommonName: opts.commonName ?? 'root.weft.cluster.local',
    publicKey: key.publicKey,
    signingKeyPem: key.keyPem,
    notBefore,
    notAfter,
    ca: { pathLength: opts.pathLength ?? 1 },
  });
  return { certPem, keyPem: key.keyPem };
}

/** The intermediate CA the identity service signs workloads with; shorter-lived, rotated without touching the root. */
export async function createIssuer(anchor: CertifiedKey, opts: CaOptions = {}): Promise<Issuer & { chainPem: string }> {
  assertKeyMatches(anchor, 'trust anchor');
  const anchorCert = assertCa(anchor.certPem, 'trust anchor');
  const key = await generateKey({ rsaBits: opts.rsaBits ?? 2048 });
  const requested = validity(opts, DEFAULT_ISSUER_LIFETIME_MS);
  const notAfter = new Date(Math.min(requested.notAfter.getTime(), new Date(anchorCert.validTo).getTime()));
  const certPem = buildForgeCert({
    subjectCommonName: opts.commonName ?? 'identity.weft.cluster.local',
    publicKey: key.publicKey,
    parent: anchor,
    signingKeyPem: anchor.keyPem,
    notBefore: requested.notBefore,
    notAfter,
    ca: { pathLength: opts.pathLength ?? 0 },
  });
  return { certPem, keyPem: key.keyPem, chainPem: certPem };
}

export interface ServingCertificateOptions {
  commonName?: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  lifetimeMs?: number;
  rsaBits?: number;
}

/** A TLS server certificate (RSA, forge) signed by `ca`, e.g. for the admission webhook. */
export async function createServingCertificate(ca: CertifiedKey, opts: ServingCertificateOptions): Promise<CertifiedKey & { chainPem: string }> {
  assertKeyMatches(ca, 'signing CA');
  const caCert = assertCa(ca.certPem, 'signing CA');
  const dnsNames = opts.dnsNames ?? [];
  const ipAddresses = opts.ipAddresses ?? [];
  if (dnsNames.length + ipAddresses.length === 0) throw new Error('a serving certificate needs at least one DNS name or IP address');
  const key = await generateKey({ rsaBits: opts.rsaBits ?? 2048 });
  const requested = validity(opts, DEFAULT_WEBHOOK_SERVING_LIFETIME_MS);
  const certPem = buildForgeCert({
    subjectCommonName: opts.commonName ?? dnsNames[0] ?? ipAddresses[0]!,
    publicKey: key.publicKey,
    parent: ca,
    signingKeyPem: ca.keyPem,
    notBefore: requested.notBefore,
    notAfter: new Date(Math.min(requested.notAfter.getTime(), new Date(caCert.validTo).getTime())),
    dnsNames,
    ipAddresses,
  });
  return { certPem, keyPem: key.keyPem, chainPem: certPem };
}

export interface WebhookCertificateOptions {
  service: string;
  namespace: string;
  extraDnsNames?: string[];
  ipAddresses?: string[];
  caLifetimeMs?: number;
  lifetimeMs?: number;
  /** Sign with an existing CA instead of making a new one (rotation of the serving cert alone). */
  ca?: CertifiedKey;
}

export interface WebhookCertificates {
  ca: CertifiedKey;
  serving: CertifiedKey;
  /** base64 of the CA PEM: the `caBundle` field of a webhook configuration. */
  caBundle: string;
  dnsNames: string[];
}

export function webhookDnsNames(service: string, namespace: string): string[] {
  return [`${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
}

export async function createWebhookCertificates(opts: WebhookCertificateOptions): Promise<WebhookCertificates> {
  const ca =
    opts.ca ??
    (await createTrustAnchor({ commonName: `webhook-ca.${opts.namespace}.${opts.service}`, lifetimeMs: opts.caLifetimeMs ?? DEFAULT_WEBHOOK_CA_LIFETIME_MS, pathLength: 0 }));
  const dnsNames = [...new Set([...webhookDnsNames(opts.service, opts.namespace), ...(opts.extraDnsNames ?? [])])];
  const serving = await createServingCertificate(ca, {
    commonName: dnsNames[0],
    dnsNames,
    ipAddresses: opts.ipAddresses ?? [],
    lifetimeMs: opts.lifetimeMs ?? DEFAULT_WEBHOOK_SERVING_LIFETIME_MS,
  });
  return { ca, serving: { certPem: serving.certPem, keyPem: serving.keyPem }, caBundle: Buffer.from(ca.certPem).toString('base64'), dnsNames };
}

// ---------------------------------------------------------------------------------------------
// Leaf certificates from an issuer (@peculiar/x509, ECDSA or RSA leaves).

interface PreparedIssuer {
  subject: x509.Name;
  keyIdHex: string;
  signingKey: Awaited<ReturnType<typeof toSigningCryptoKey>>;
  crypto: ReturnType<typeof fastSigningCrypto>;
  chain: string[];
  notAfter: Date;
}

const prepared = new WeakMap<Issuer, Promise<PreparedIssuer>>();

// Importing the key and parsing the chain once per issuer keeps issuance at one signature.
function prepareIssuer(issuer: Issuer): Promise<PreparedIssuer> {
  let entry = prepared.get(issuer);
  if (!entry) {
    entry = (async () => {
      assertKeyMatches(issuer, 'issuer');
      assertCa(issuer.certPem, 'issuer');
      const certPemBlock = pemBlocks(issuer.certPem)[0];
      if (!certPemBlock) throw new Error('issuer: no PEM CERTIFICATE block');
      const cert = new x509.X509Certificate(certPemBlock);
      const ski = cert.extensions.find((ext): ext is x509.SubjectKeyIdentifierExtension => ext instanceof x509.SubjectKeyIdentifierExtension);
      const keyIdHex = ski ? ski.keyId : Buffer.from(await cert.publicKey.getKeyIdentifier()).toString('hex');
      const chain = issuer.chainPem !== undefined ? pemBlocks(issuer.chainPem) : [certPemBlock];
      const privateKey = createPrivateKey(issuer.keyPem);
      const signingKey = await toSigningCryptoKey(privateKey);
      const crypto = fastSigningCrypto(privateKey, signingKey.key, (signingKey.signAlg as { hash: string }).hash.replace('-', '').toLowerCase());
      return { subject: cert.subjectName, keyIdHex, signingKey, crypto, chain, notAfter: cert.notAfter };
    })();
    entry.catch(() => prepared.delete(issuer));
    prepared.set(issuer, entry);
  }
  return entry;
}

export interface LeafSpec {
  /** SubjectPublicKeyInfo of the key to certify (DER), or a KeyObject/PEM public key. */
  publicKey: ArrayBuffer | Uint8Array | KeyObject | string;
  commonName: string;
  dnsNames: string[];
  uris?: string[];
  ipAddresses?: string[];
  lifetimeMs?: number;
  clientAuth?: boolean;
  serverAuth?: boolean;
  now?: Date;
}

function spkiOf(publicKey: LeafSpec['publicKey']): ArrayBuffer {
  if (typeof publicKey === 'string') return toArrayBuffer(spkiDer(createPublicKey(publicKey)));
  if (publicKey instanceof ArrayBuffer) return publicKey;
  if (publicKey instanceof Uint8Array) return toArrayBuffer(publicKey);
  return toArrayBuffer(spkiDer(publicKey.type === 'private' ? createPublicKey(publicKey) : publicKey));
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/** Signs any end-entity certificate with the issuer; the lifetime never runs past the issuer's own. */
export async function issueLeafCertificate(issuer: Issuer, spec: LeafSpec): Promise<IssuedCertificate> {
  const ready = await prepareIssuer(issuer);
  const spki = spkiOf(spec.publicKey);
  const publicKey = new x509.PublicKey(spki);
  const now = spec.now ?? new Date();
  // Whole seconds, as X.509 stores them, so the dates we report equal the certificate's.
  const notBefore = new Date(Math.floor((now.getTime() - CLOCK_SKEW_MS) / 1000) * 1000);
  const lifetime = spec.lifetimeMs ?? DEFAULT_WORKLOAD_LIFETIME_MS;
  if (!Number.isFinite(lifetime) || lifetime <= 0) throw new Error(`certificate lifetime must be positive, got ${lifetime} ms`);
  const notAfter = new Date(Math.floor(Math.min(now.getTime() + lifetime, ready.notAfter.getTime()) / 1000) * 1000);
  if (notAfter <= now) throw new Error('issuer certificate has expired');
  const isRsa = (publicKey.algorithm as { name: string }).name.startsWith('RSA');
  const usages = x509.KeyUsageFlags.digitalSignature | (isRsa ? x509.KeyUsageFlags.keyEncipherment : 0);
  const ekus: string[] = [];
  if (spec.serverAuth ?? true) ekus.push(x509.ExtendedKeyUsage.serverAuth);
  if (spec.clientAuth ?? true) ekus.push(x509.ExtendedKeyUsage.clientAuth);
  const sanItems = [
    ...spec.dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...(spec.uris ?? []).map((value) => ({ type: 'url' as const, value })),
    ...(spec.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialHex(),
    subject: [{ CN: [spec.commonName] }],
    issuer: ready.subject,
    notBefore,
    notAfter,
    publicKey,
    signingKey: ready.signingKey.key as unknown as Parameters<typeof x509.X509CertificateGenerator.create>[0] extends { signingKey: infer K } ? K : never,
    signingAlgorithm: ready.signingKey.signAlg as unknown as x509.X509CertificateCreateParamsBase['signingAlgorithm'],
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(usages, true),
      new x509.ExtendedKeyUsageExtension(ekus, false),
      new x509.SubjectAlternativeNameExtension(sanItems, false),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      new x509.AuthorityKeyIdentifierExtension(ready.keyIdHex),
    ],
  }, ready.crypto as unknown as Parameters<typeof x509.X509CertificateGenerator.create>[1]);
  const certPem = cert.toString('pem').replace(/\r\n/g, '\n') + '\n';
  return { certPem, chain: ready.chain, chainPem: joinPem([certPem, ...ready.chain]), notBefore, notAfter, serialNumber: cert.serialNumber };
}

export interface WorkloadCertificateRequest {
  /** A PEM CSR; its signature is checked and only its public key is used. */
  csrPem?: string;
  /** Or the public key directly (tests, in-process callers). */
  publicKey?: LeafSpec['publicKey'];
  identity: WorkloadIdentity;
  lifetimeMs?: number;
  now?: Date;
}

/**
 * A workload certificate: SPIFFE URI SAN, Linkerd-style DNS SAN (also the CN), client and server
 * auth. Names come only from `identity`; the CSR's requested names are the caller's concern.
 */
export async function issueWorkloadCertificate(issuer: Issuer, request: WorkloadCertificateRequest): Promise<IssuedCertificate> {
  let publicKey: LeafSpec['publicKey'];
  if (request.csrPem !== undefined) publicKey = (await parseCsr(request.csrPem)).publicKeySpki;
  else if (request.publicKey !== undefined) publicKey = request.publicKey;
  else throw new Error('issueWorkloadCertificate needs csrPem or publicKey');
  const dnsName = identityDnsName(request.identity);
  return issueLeafCertificate(issuer, {
    publicKey,
    commonName: dnsName,
    dnsNames: [dnsName],
    uris: [identitySpiffeId(request.identity)],
    lifetimeMs: request.lifetimeMs ?? DEFAULT_WORKLOAD_LIFETIME_MS,
    ...(request.now ? { now: request.now } : {}),
  });
}

export interface MintedIdentity {
  keyPem: string;
  /** The leaf alone. */
  certPem: string;
  /** Leaf plus issuer chain: pass as `cert` to tls. */
  chainPem: string;
  notAfter: Date;
}

/** Key + certificate in one call, for tests and in-process tools. */
export async function mintWorkloadIdentity(
  issuer: Issuer,
  identity: WorkloadIdentity,
  opts: { lifetimeMs?: number; keyType?: KeyType; now?: Date } = {},
): Promise<MintedIdentity> {
  const key = await generateKey(opts.keyType ?? 'ecdsa-p256');
  const issued = await issueWorkloadCertificate(issuer, {
    publicKey: key.publicKey,
    identity,
    ...(opts.lifetimeMs !== undefined ? { lifetimeMs: opts.lifetimeMs } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  });
  return { keyPem: key.keyPem, certPem: issued.certPem, chainPem: issued.chainPem, notAfter: issued.notAfter };
}

/** A TLS server key + certificate from the issuer, e.g. for the identity endpoint itself. */
export async function mintServingCertificate(
  issuer: Issuer,
  names: { dnsNames: string[]; ipAddresses?: string[]; uris?: string[] },
  opts: { lifetimeMs?: number; keyType?: KeyType } = {},
): Promise<MintedIdentity> {
  const key = await generateKey(opts.keyType ?? 'ecdsa-p256');
  const first = names.dnsNames[0] ?? names.ipAddresses?.[0];
  if (first === undefined) throw new Error('a serving certificate needs at least one DNS name or IP address');
  const issued = await issueLeafCertificate(issuer, {
    publicKey: key.publicKey,
    commonName: first,
    dnsNames: names.dnsNames,
    ipAddresses: names.ipAddresses ?? [],
    uris: names.uris ?? [],
    clientAuth: false,
    ...(opts.lifetimeMs !== undefined ? { lifetimeMs: opts.lifetimeMs } : {}),
  });
  return { keyPem: key.keyPem, certPem: issued.certPem, chainPem: issued.chainPem, notAfter: issued.notAfter };
}
