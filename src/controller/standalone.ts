import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createWebhookCertificates } from '../identity/ca.ts';

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
