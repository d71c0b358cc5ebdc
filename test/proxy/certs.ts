import { createIssuer, createTrustAnchor, mintWorkloadIdentity, type Issuer } from '../../src/identity/ca.ts';
import { dnsIdentity } from '../../src/identity/names.ts';
import type { Credentials } from '../../src/proxy/credentials.ts';

// Test PKI for the proxy, from the identity CA itself: a trust anchor, an issuer under it,
// and workload certificates exactly as the controller would mint them.

export interface TestCa {
  anchorPem: string;
  issuer: Issuer;
}

export async function createTestCa(name = 'test'): Promise<TestCa> {
  const anchor = await createTrustAnchor({ commonName: `root.${name}.weft.test` });
  const issuer = await createIssuer(anchor, { commonName: `issuer.${name}.weft.test` });
  return { anchorPem: anchor.certPem, issuer };
}

export function identityName(sa: string, ns: string): string {
  return dnsIdentity(sa, ns, 'weft', 'cluster.local');
}

export async function mintCredentials(ca: TestCa, sa: string, ns: string, opts: { lifetimeMs?: number; trustAnchorsPem?: string } = {}): Promise<Credentials> {
  const minted = await mintWorkloadIdentity(
    ca.issuer,
    { trustDomain: 'cluster.local', namespace: ns, serviceAccount: sa, controllerNamespace: 'weft' },
    opts.lifetimeMs !== undefined ? { lifetimeMs: opts.lifetimeMs } : {},
  );
  return {
    keyPem: minted.keyPem,
    certChainPem: minted.chainPem,
    trustAnchorsPem: opts.trustAnchorsPem ?? ca.anchorPem,
    identity: identityName(sa, ns),
    notAfter: minted.notAfter,
  };
}
