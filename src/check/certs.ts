import { X509Certificate } from 'node:crypto';

// Certificate facts `weft check` needs, on node:crypto's X509Certificate: parse PEM bundles,
// judge validity windows, and ask whether one certificate chains to another.

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const DAY_MS = 86_400_000;

export function parseCertificates(pem: string): X509Certificate[] {
  return (pem.match(PEM_BLOCK) ?? []).map((block) => new X509Certificate(block));
}

export interface Validity {
  state: 'valid' | 'expiring' | 'expired' | 'not-yet-valid';
  daysLeft: number;
  notAfter: Date;
}

export function validity(cert: X509Certificate, now: Date, warnDays: number): Validity {
  const notBefore = new Date(cert.validFrom);
  const notAfter = new Date(cert.validTo);
  const daysLeft = Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS);
  if (now < notBefore) return { state: 'not-yet-valid', daysLeft, notAfter };
  if (now >= notAfter) return { state: 'expired', daysLeft, notAfter };
  return { state: daysLeft < warnDays ? 'expiring' : 'valid', daysLeft, notAfter };
}

/** True when `cert` is one of `roots` or was signed by one of them (one step: what a webhook caBundle or trust anchor allows). */
export function chainsTo(cert: X509Certificate, roots: readonly X509Certificate[]): boolean {
  return roots.some((root) => root.fingerprint256 === cert.fingerprint256 || (cert.checkIssued(root) && cert.verify(root.publicKey)));
}

/** A short name for messages: the subject CN when there is one. */
export function describe(cert: X509Certificate): string {
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1];
  return cn ? `CN=${cn}` : cert.subject.replace(/\n/g, ', ');
}

export function decodeBase64PEM(value: unknown): string {
  return typeof value === 'string' ? Buffer.from(value, 'base64').toString('utf8') : '';
}
