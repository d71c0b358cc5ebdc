import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { createIssuer, createTrustAnchor, createWebhookCertificates } from '../identity/ca.ts';

export interface StandaloneFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/**
 * Standalone mode's development PKI: a CA and a serving certificate for localhost and
 * 127.0.0.1, made once under the state folder and reused on later starts.
 */
export async function ensureDevelopmentCertificates(stateDir: string): Promise<StandaloneFiles> {
  const files = { caFile: resolve(join(stateDir, 'ca.crt')), certFile: resolve(join(stateDir, 'tls.crt')), keyFile: resolve(join(stateDir, 'tls.key')) };
  if (existsSync(files.caFile) && existsSync(files.certFile) && existsSync(files.keyFile)) return files;
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const made = await createWebhookCertificates({ service: 'weft-controller', namespace: 'weft', extraDnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  await writeFile(files.caFile, made.ca.certPem);
  await writeFile(files.certFile, made.serving.certPem);
  await writeFile(files.keyFile, made.serving.keyPem, { mode: 0o600 });
  return files;
}

export function exampleCurl(caFile: string, port: number, example: string): string {
  return [
    `curl -s --cacert ${caFile} -H 'Content-Type: application/json' --data @${example} https://127.0.0.1:${port}/inject \\`,
    `  | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s).response;console.log(JSON.stringify({...r,patch:r.patch&&JSON.parse(Buffer.from(r.patch,"base64"))},null,2))})'`,
  ].join('\n');
}

export interface StandaloneIdentityFiles {
  issuerDir: string;
  jwksFile: string;
  /** The private half of the JWKS, so a developer can sign service-account-like tokens. */
  signingKeyFile: string;
  tokenIssuer: string;
}

/**
 * Standalone mode's mesh PKI: a trust anchor and issuer like a real install's, and a local
 * JWKS standing in for the API server's service-account keys (there is no TokenReview here).
 */
export async function ensureDevelopmentIdentity(stateDir: string): Promise<StandaloneIdentityFiles> {
  const issuerDir = resolve(join(stateDir, 'identity'));
  const files = { issuerDir, jwksFile: join(issuerDir, 'jwks.json'), signingKeyFile: join(issuerDir, 'token-signing.key'), tokenIssuer: 'https://weft-standalone.invalid' };
  if (['ca.crt', 'tls.crt', 'tls.key', 'jwks.json', 'token-signing.key'].every((name) => existsSync(join(issuerDir, name)))) return files;
  await mkdir(issuerDir, { recursive: true, mode: 0o700 });
  const anchor = await createTrustAnchor({ commonName: 'root.weft-standalone.cluster.local' });
  const issuer = await createIssuer(anchor, { commonName: 'identity.weft.cluster.local' });
  await writeFile(join(issuerDir, 'ca.crt'), anchor.certPem);
  await writeFile(join(issuerDir, 'tls.crt'), issuer.certPem);
  await writeFile(join(issuerDir, 'tls.key'), issuer.keyPem, { mode: 0o600 });
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'weft-standalone', alg: 'ES256', use: 'sig' };
  await writeFile(files.jwksFile, `${JSON.stringify({ keys: [jwk] }, null, 2)}\n`);
  await writeFile(files.signingKeyFile, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  return files;
}
