import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { identityOf } from './mesh.ts';

// Where the proxy's workload certificate comes from. The proxy only ever asks for the current
// one and hears about rotations; static files (tests, manual setups) and the identity client
// (the controller's CA) both fit behind this.

export interface Credentials {
  keyPem: string;
  /** The leaf first, then any intermediates; the trust anchor itself is not needed. */
  certChainPem: string;
  trustAnchorsPem: string;
  identity: string;
  notAfter: Date;
}

export interface CredentialSource {
  current(): Credentials | undefined;
  /** Called after every change of current(), including the first certificate. */
  onRotate(listener: (credentials: Credentials) => void): void;
  stop(): void;
}

export class CredentialError extends Error {
  override name = 'CredentialError';
}

/** Checks a key, chain and anchors hang together and names the identity the leaf proves. */
export function describeCredentials(keyPem: string, certChainPem: string, trustAnchorsPem: string): Credentials {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certChainPem);
  } catch (error) {
    throw new CredentialError(`identity certificate: not a PEM certificate (${(error as Error).message})`);
  }
  const identity = identityOf(leaf.subjectAltName);
  if (identity === undefined) throw new CredentialError('identity certificate: it has no DNS subjectAltName to serve as the mesh identity');
  if (!/-----BEGIN CERTIFICATE-----/.test(trustAnchorsPem)) throw new CredentialError('trust anchors: no PEM certificate found');
  let keyDer: Buffer;
  try {
    keyDer = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
  } catch (error) {
    throw new CredentialError(`identity key: not a PEM private key (${(error as Error).message})`);
  }
  if (!keyDer.equals(leaf.publicKey.export({ type: 'spki', format: 'der' }))) {
    throw new CredentialError(`identity key: it does not belong to the certificate for ${identity}`);
  }
  return { keyPem, certChainPem, trustAnchorsPem, identity, notAfter: new Date(leaf.validTo) };
}

export function staticCredentials(options: { certFile: string; keyFile: string; trustAnchorsPem: string }): CredentialSource {
  const credentials = describeCredentials(readFileSync(options.keyFile, 'utf8'), readFileSync(options.certFile, 'utf8'), options.trustAnchorsPem);
  return fixedCredentials(credentials);
}

export function fixedCredentials(credentials: Credentials): CredentialSource {
  return {
    current: () => credentials,
    onRotate: (listener) => queueMicrotask(() => listener(credentials)),
    stop: () => {},
  };
}

/** A source whose certificate a test (or an adapter) replaces by hand. */
export function mutableCredentials(initial?: Credentials): CredentialSource & { set(credentials: Credentials): void } {
  let current = initial;
  const listeners: ((c: Credentials) => void)[] = [];
  return {
    current: () => current,
    onRotate: (listener) => {
      listeners.push(listener);
      if (current !== undefined) {
        const now = current;
        queueMicrotask(() => listener(now));
      }
    },
    set(credentials: Credentials) {
      current = credentials;
      for (const listener of listeners) listener(credentials);
    },
    stop: () => {},
  };
}

/** What the proxy needs of src/identity/client.ts's IdentityClient (kept structural on purpose). */
export interface IdentityClientLike {
  current(): { keyPem: string; certChainPem: string; trustAnchorsPem: string; notAfter: Date; dnsName: string } | undefined;
  onRotate(listener: (cert: { keyPem: string; certChainPem: string; trustAnchorsPem: string; notAfter: Date; dnsName: string }) => void): unknown;
  stop(): void;
}

/** Certificates from the controller's identity service; the mesh identity is the DNS name. */
export function identityClientCredentials(client: IdentityClientLike): CredentialSource {
  const convert = (c: NonNullable<ReturnType<IdentityClientLike['current']>>): Credentials => ({
    keyPem: c.keyPem,
    certChainPem: c.certChainPem,
    trustAnchorsPem: c.trustAnchorsPem,
    identity: c.dnsName,
    notAfter: c.notAfter,
  });
  let last: { from: unknown; to: Credentials } | undefined;
  const cached = (c: NonNullable<ReturnType<IdentityClientLike['current']>>): Credentials => {
    if (last?.from !== c) last = { from: c, to: convert(c) };
    return last.to;
  };
  return {
    current: () => {
      const c = client.current();
      return c === undefined ? undefined : cached(c);
    },
    onRotate: (listener) => {
      client.onRotate((c) => listener(cached(c)));
    },
    stop: () => client.stop(),
  };
}
