import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { pemBlocks, joinPem } from './pem.ts';
import type { Issuer } from './ca.ts';

export interface IssuerMaterial {
  issuer: Issuer & { chainPem: string };
  trustAnchorsPem: string;
  notAfter: Date;
  /** Changes whenever any input file's content does; cheap change detection for reloads. */
  fingerprint: string;
}

export class IssuerMaterialError extends Error {
  override name = 'IssuerMaterialError';
}

/**
 * Checks an issuer before it signs anything: its key matches, it is a CA, each certificate in
 * tls.crt is signed by the next, and the last is signed by one of the trust anchors, so every
 * certificate it issues verifies at the proxies.
 */
export function validateIssuerMaterial(input: { certChainPem: string; keyPem: string; trustAnchorsPem: string; now?: Date }): IssuerMaterial {
  const now = input.now ?? new Date();
  const blocks = pemBlocks(input.certChainPem);
  if (blocks.length === 0) throw new IssuerMaterialError('issuer tls.crt holds no PEM certificate');
  const anchorBlocks = pemBlocks(input.trustAnchorsPem);
  if (anchorBlocks.length === 0) throw new IssuerMaterialError('trust anchors file holds no PEM certificate');
  const chain = blocks.map((pem) => new X509Certificate(pem));
  const anchors = anchorBlocks.map((pem) => new X509Certificate(pem));
  const leaf = chain[0]!;
  if (!leaf.ca) throw new IssuerMaterialError(`issuer certificate "${leaf.subject}" is not a CA`);
  let key;
  try {
    key = createPrivateKey(input.keyPem);
  } catch (error) {
    throw new IssuerMaterialError(`issuer tls.key is not a readable private key: ${(error as Error).message}`);
  }
  if (!leaf.checkPrivateKey(key)) throw new IssuerMaterialError('issuer tls.key does not match tls.crt');
  if (new Date(leaf.validTo) <= now) throw new IssuerMaterialError(`issuer certificate expired at ${new Date(leaf.validTo).toISOString()}`);
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!chain[i]!.verify(chain[i + 1]!.publicKey)) throw new IssuerMaterialError(`issuer tls.crt certificate ${i} is not signed by certificate ${i + 1}`);
  }
  const top = chain[chain.length - 1]!;
  const anchored = anchors.some((anchor) => anchor.fingerprint256 === top.fingerprint256 || (top.checkIssued(anchor) && top.verify(anchor.publicKey)));
  if (!anchored) throw new IssuerMaterialError(`issuer "${top.subject}" does not chain to any trust anchor (${anchors.map((a) => a.subject).join('; ')})`);
  const fingerprint = createHash('sha256').update(input.certChainPem).update('\0').update(input.keyPem).update('\0').update(input.trustAnchorsPem).digest('hex');
  return {
    issuer: { certPem: blocks[0]!, keyPem: input.keyPem, chainPem: joinPem(blocks) },
    trustAnchorsPem: joinPem(anchorBlocks),
    notAfter: new Date(leaf.validTo),
    fingerprint,
  };
}

export async function readIssuerFiles(issuerDir: string, trustAnchorsFile?: string): Promise<{ certChainPem: string; keyPem: string; trustAnchorsPem: string }> {
  const read = async (path: string, what: string): Promise<string> => {
    try {
      return await readFile(path, 'utf8');
    } catch (error) {
      throw new IssuerMaterialError(`cannot read ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  };
  const [certChainPem, keyPem, trustAnchorsPem] = await Promise.all([
    read(join(issuerDir, 'tls.crt'), 'issuer certificate'),
    read(join(issuerDir, 'tls.key'), 'issuer key'),
    read(trustAnchorsFile ?? join(issuerDir, 'ca.crt'), 'trust anchors'),
  ]);
  return { certChainPem, keyPem, trustAnchorsPem };
}

export async function loadIssuerMaterial(issuerDir: string, trustAnchorsFile?: string): Promise<IssuerMaterial> {
  return validateIssuerMaterial(await readIssuerFiles(issuerDir, trustAnchorsFile));
}
