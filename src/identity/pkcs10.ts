// The proxy's certificate request, written with node:crypto and a few lines of DER (der.ts)
// instead of @peculiar/x509, which stays with the server's parsing in csr.ts. The content is
// what the x509 generator wrote before: subject CN (PrintableString when it can be, else
// UTF8String), a non-critical subjectAltName in an extensionRequest attribute, ECDSA with
// SHA-256 for EC keys and PKCS#1 v1.5 with SHA-256 for RSA keys.
import { sign } from 'node:crypto';
import type { GeneratedKey } from './keys.ts';
import { derToPem } from './pem.ts';
import { bitString, contextConstructed, contextPrimitive, integer, isPrintable, nullValue, objectIdentifier, octetString, printableString, sequence, set, utf8String } from './der.ts';

const OID = {
  commonName: '2.5.4.3',
  extensionRequest: '1.2.840.113549.1.9.14',
  subjectAltName: '2.5.29.17',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  sha256WithRsa: '1.2.840.113549.1.1.11',
} as const;

// GeneralName tags (RFC 5280 4.2.1.6).
const DNS_NAME = 2;
const URI = 6;

export interface CsrNames {
  dnsName?: string;
  spiffeId?: string;
}

function ascii(text: string, what: string): Buffer {
  if (!/^[\x20-\x7e]+$/.test(text)) throw new RangeError(`${what} "${text}" must be printable ASCII`);
  return Buffer.from(text, 'latin1');
}

function signatureAlgorithm(key: GeneratedKey): Buffer {
  const type = key.privateKey.asymmetricKeyType;
  // RFC 5758: ecdsa-with-SHA256 has no parameters; RFC 4055: RSA's are an explicit NULL.
  if (type === 'ec') return sequence(objectIdentifier(OID.ecdsaWithSha256));
  if (type === 'rsa') return sequence(objectIdentifier(OID.sha256WithRsa), nullValue());
  throw new Error(`cannot make a CSR for a ${String(type)} key (use ECDSA or RSA)`);
}

/** The DER PKCS#10 CertificationRequest for a key and the names it asks for. */
export function createCsrDer(key: GeneratedKey, names: CsrNames = {}): Buffer {
  const algorithm = signatureAlgorithm(key);
  const rdns: Buffer[] = [];
  if (names.dnsName !== undefined) {
    const cn = isPrintable(names.dnsName) ? printableString(names.dnsName) : utf8String(names.dnsName);
    rdns.push(set(sequence(objectIdentifier(OID.commonName), cn)));
  }
  const generalNames: Buffer[] = [];
  if (names.dnsName !== undefined) generalNames.push(contextPrimitive(DNS_NAME, ascii(names.dnsName, 'DNS name')));
  if (names.spiffeId !== undefined) generalNames.push(contextPrimitive(URI, ascii(names.spiffeId, 'URI')));
  const attributes: Buffer[] = [];
  if (generalNames.length > 0) {
    const san = sequence(objectIdentifier(OID.subjectAltName), octetString(sequence(...generalNames)));
    attributes.push(sequence(objectIdentifier(OID.extensionRequest), set(sequence(san))));
  }
  const info = sequence(
    integer(0),
    sequence(...rdns),
    key.publicKey.export({ type: 'spki', format: 'der' }),
    contextConstructed(0, ...attributes),
  );
  // DER (not IEEE P1363) is the ECDSA-Sig-Value form X.509 signatures use.
  const signature = key.privateKey.asymmetricKeyType === 'ec' ? sign('sha256', info, { key: key.privateKey, dsaEncoding: 'der' }) : sign('sha256', info, key.privateKey);
  return sequence(info, algorithm, bitString(signature));
}

export function createCsrPem(key: GeneratedKey, names: CsrNames = {}): string {
  return derToPem(createCsrDer(key, names), 'CERTIFICATE REQUEST');
}
