import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const HAVE_OPENSSL = spawnSync('openssl', ['version']).status === 0;

/** Runs `openssl verify` on a leaf with an untrusted intermediate bundle; returns its output and status. */
export function opensslVerify(opts: { anchorPem: string; chainPem?: string; leafPem: string; purpose?: string; extra?: string[] }): { ok: boolean; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'weft-id-'));
  try {
    writeFileSync(join(dir, 'anchor.pem'), opts.anchorPem);
    writeFileSync(join(dir, 'leaf.pem'), opts.leafPem);
    const args = ['verify', '-CAfile', join(dir, 'anchor.pem')];
    if (opts.chainPem) {
      writeFileSync(join(dir, 'chain.pem'), opts.chainPem);
      args.push('-untrusted', join(dir, 'chain.pem'));
    }
    if (opts.purpose) args.push('-purpose', opts.purpose);
    args.push(...(opts.extra ?? []), join(dir, 'leaf.pem'));
    const result = spawnSync('openssl', args, { encoding: 'utf8' });
    return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const IDENTITY = { trustDomain: 'cluster.local', namespace: 'shop', serviceAccount: 'cart', controllerNamespace: 'weft' };
