import type { X509Certificate } from 'node:crypto';
import { chainsTo, describe, parseCertificates, validity } from './certs.ts';
import type { CheckInput, CheckResult, Fetched } from './types.ts';

// Certificate checks: validity windows (warn below --warn-days) and the issuer's chain to the
// trust anchor.

export function certificateCheck(id: string, label: string, pem: Fetched<string> | undefined, input: CheckInput, missing: string): CheckResult {
  const base = { category: 'certificates', id, description: `${label} is valid for more than ${input.warnDays} days` };
  if (pem === undefined) return { ...base, status: 'fail', message: missing };
  if (!pem.ok) return { ...base, status: 'fail', message: pem.error };
  let certs: X509Certificate[];
  try {
    certs = parseCertificates(pem.value);
  } catch (error) {
    return { ...base, status: 'fail', message: `not a valid PEM certificate: ${(error as Error).message}` };
  }
  if (certs.length === 0) return { ...base, status: 'fail', message: 'no certificate found' };
  // A bundle is as healthy as its worst certificate: proxies trust each of them.
  const judged = certs.map((cert) => ({ cert, v: validity(cert, input.now, input.warnDays) })).sort((a, b) => a.v.daysLeft - b.v.daysLeft);
  const worst = judged.find((j) => j.v.state === 'expired' || j.v.state === 'not-yet-valid') ?? judged[0]!;
  const what = `${describe(worst.cert)} ${worst.v.state === 'not-yet-valid' ? `is not valid before ${new Date(worst.cert.validFrom).toISOString()}` : `expires ${worst.v.notAfter.toISOString()}`}`;
  switch (worst.v.state) {
    case 'expired':
      return { ...base, status: 'fail', message: `${describe(worst.cert)} expired ${worst.v.notAfter.toISOString()}`, hint: `replace the ${label} now` };
    case 'not-yet-valid':
      return { ...base, status: 'fail', message: what, hint: 'check the clocks of the machine that made it and of the nodes' };
    case 'expiring':
      return { ...base, status: 'warn', message: `${what} (${worst.v.daysLeft} days left)`, hint: `renew the ${label} before it expires` };
    default:
      return { ...base, status: 'pass', message: `${what} (${worst.v.daysLeft} days left)` };
  }
}

export function issuerChainCheck(issuerPEM: Fetched<string> | undefined, anchorsPEM: Fetched<string> | undefined): CheckResult | undefined {
  if (!issuerPEM?.ok || !anchorsPEM?.ok) return undefined;
  const base = { category: 'certificates', id: 'issuer-signed-by-trust-anchor', description: 'identity issuer is a CA signed by the trust anchor' };
  let issuer: X509Certificate | undefined;
  let anchors: X509Certificate[];
  try {
    issuer = parseCertificates(issuerPEM.value)[0];
    anchors = parseCertificates(anchorsPEM.value);
  } catch {
    return undefined; // already reported by the validity checks
  }
  if (!issuer || anchors.length === 0) return undefined;
  if (!issuer.ca) return { ...base, status: 'fail', message: `${describe(issuer)} is not a CA certificate, so it cannot sign proxy certificates` };
  if (!chainsTo(issuer, anchors)) {
    return { ...base, status: 'fail', message: `${describe(issuer)} is not signed by the trust anchor (${anchors.map(describe).join(', ')}): proxies will reject every certificate it issues`, hint: 'issue the issuer from the trust anchor, or put its root in identity.trustAnchor.pem' };
  }
  return { ...base, status: 'pass', message: `${describe(issuer)} chains to ${anchors.map(describe).join(', ')}` };
}

