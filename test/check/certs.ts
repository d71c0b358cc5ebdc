import { webcrypto } from 'node:crypto';
import '../../src/identity/reflect-metadata.ts';
import * as x509 from '@peculiar/x509';

// Real certificates for tests: a CA and leaves signed by it, with chosen validity windows, so
// the checks and the chart tests run against what a cluster would actually hold.

type X509Crypto = Parameters<typeof x509.cryptoProvider.set>[0];
type CryptoKeyPair = webcrypto.CryptoKeyPair;
x509.cryptoProvider.set(webcrypto as unknown as X509Crypto);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

export interface TestCert {
  certPEM: string;
  keyPEM: string;
  keys: CryptoKeyPair;
  subject: string;
}

let serial = 1;

function window(days: number, startDaysAgo: number, now: number): { notBefore: Date; notAfter: Date } {
  const notBefore = new Date(now - startDaysAgo * DAY_MS);
  return { notBefore, notAfter: new Date(notBefore.getTime() + days * DAY_MS) };
}

async function keyPEM(keys: CryptoKeyPair): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`;
}

async function newKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
}

export interface CertOptions {
  /** Total validity in days (default 365). */
  days?: number;
  /** How many days ago the validity started (default 1). */
  startDaysAgo?: number;
  now?: number;
}

export async function makeCA(commonName: string, options: CertOptions = {}, parent?: TestCert): Promise<TestCert> {
  const keys = await newKeys();
  const { notBefore, notAfter } = window(options.days ?? 365, options.startDaysAgo ?? 1, options.now ?? Date.now());
  const extensions = [
    new x509.BasicConstraintsExtension(true, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
  ];
  const subject = `CN=${commonName}`;
  const cert = parent
    ? await x509.X509CertificateGenerator.create({
        serialNumber: (serial++).toString(16).padStart(2, '0'),
        subject,
        issuer: parent.subject,
        notBefore,
        notAfter,
        signingAlgorithm: ALG,
        publicKey: keys.publicKey,
        signingKey: parent.keys.privateKey,
        extensions,
      })
    : await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: (serial++).toString(16).padStart(2, '0'),
        name: subject,
        notBefore,
        notAfter,
        keys,
        signingAlgorithm: ALG,
        extensions,
      });
  return { certPEM: cert.toString('pem') + '\n', keyPEM: await keyPEM(keys), keys, subject };
}

export async function makeLeaf(ca: TestCert, dnsNames: string[], options: CertOptions = {}): Promise<TestCert> {
  const keys = await newKeys();
  const { notBefore, notAfter } = window(options.days ?? 365, options.startDaysAgo ?? 1, options.now ?? Date.now());
  const subject = `CN=${dnsNames[0] ?? 'leaf'}`;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: (serial++).toString(16).padStart(2, '0'),
    subject,
    issuer: ca.subject,
    notBefore,
    notAfter,
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(dnsNames.map((value) => ({ type: 'dns' as const, value }))),
    ],
  });
  return { certPEM: cert.toString('pem') + '\n', keyPEM: await keyPEM(keys), keys, subject };
}
