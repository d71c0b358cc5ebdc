import { x509 } from './x509.ts';
import type { GeneratedKey } from './keys.ts';
import { createCsrPem, type CsrNames } from './pkcs10.ts';

export class CsrError extends Error {
  override name = 'CsrError';
}

export interface ParsedCsr {
  /** SubjectPublicKeyInfo DER of the key the certificate will certify. */
  publicKeySpki: ArrayBuffer;
  keyAlgorithm: string;
  commonNames: string[];
  dnsNames: string[];
  uris: string[];
  /** SAN types we never issue (IP, email, ...), by their x509 type name. */
  otherNames: string[];
}

const MIN_RSA_BITS = 2048;

/** Parses a PEM CSR and checks its self-signature (proof that the requester holds the key). */
export async function parseCsr(pem: string): Promise<ParsedCsr> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(pem);
  } catch (error) {
    throw new CsrError(`csr is not a PEM PKCS#10 certificate request: ${(error as Error).message}`);
  }
  let valid = false;
  try {
    valid = await csr.verify();
  } catch (error) {
    throw new CsrError(`csr signature could not be checked: ${(error as Error).message}`);
  }
  if (!valid) throw new CsrError('csr signature does not verify against its own public key');

  const algorithm = csr.publicKey.algorithm as { name: string; namedCurve?: string; modulusLength?: number };
  let keyAlgorithm: string;
  if (algorithm.name === 'ECDSA') {
    if (algorithm.namedCurve !== 'P-256' && algorithm.namedCurve !== 'P-384') throw new CsrError(`csr key curve ${String(algorithm.namedCurve)} is not accepted (use P-256)`);
    keyAlgorithm = `ECDSA ${algorithm.namedCurve}`;
  } else if (algorithm.name === 'RSASSA-PKCS1-v1_5' || algorithm.name === 'RSA-PSS') {
    const bits = algorithm.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) throw new CsrError(`csr RSA key has ${bits} bits; at least ${MIN_RSA_BITS} are required`);
    keyAlgorithm = `RSA ${bits}`;
  } else {
    throw new CsrError(`csr key algorithm ${algorithm.name} is not accepted (use ECDSA P-256)`);
  }

  const commonNames = csr.subjectName.getField('CN');
  const dnsNames: string[] = [];
  const uris: string[] = [];
  const otherNames: string[] = [];
  const san = csr.extensions.find((ext): ext is x509.SubjectAlternativeNameExtension => ext instanceof x509.SubjectAlternativeNameExtension);
  for (const name of san?.names.items ?? []) {
    if (name.type === 'dns') dnsNames.push(name.value);
    else if (name.type === 'url') uris.push(name.value);
    else otherNames.push(`${name.type}:${name.value}`);
  }
  return { publicKeySpki: csr.publicKey.rawData, keyAlgorithm, commonNames, dnsNames, uris, otherNames };
}

/**
 * The identity comes from the token; a CSR may ask for nothing, or for exactly the names the
 * token proves. Returns the reason it asks for more, or undefined when it is acceptable.
 */
export function csrNameMismatch(csr: ParsedCsr, allowed: { dnsName: string; spiffeId: string }): string | undefined {
  for (const cn of csr.commonNames) if (cn !== allowed.dnsName) return `csr subject CN "${cn}" is not the token's identity "${allowed.dnsName}"`;
  for (const dns of csr.dnsNames) if (dns !== allowed.dnsName) return `csr asks for DNS name "${dns}" but the token's identity is "${allowed.dnsName}"`;
  for (const uri of csr.uris) if (uri !== allowed.spiffeId) return `csr asks for URI "${uri}" but the token's identity is "${allowed.spiffeId}"`;
  if (csr.otherNames.length > 0) return `csr asks for names the identity service never issues: ${csr.otherNames.join(', ')}`;
  return undefined;
}

/**
 * Builds a CSR for a workload key (the proxy side). Names are optional: the service takes the
 * identity from the token, and refuses a CSR only when the names it does carry disagree.
 * Written by pkcs10.ts without @peculiar/x509; the proxy imports that module directly.
 */
export async function createCsr(key: GeneratedKey, names: CsrNames = {}): Promise<string> {
  return createCsrPem(key, names);
}
