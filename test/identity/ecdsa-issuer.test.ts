import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { mintWorkloadIdentity } from '../../src/identity/ca.ts';
import { validateIssuerMaterial } from '../../src/identity/issuer-source.ts';
import { HAVE_OPENSSL, opensslVerify, IDENTITY } from './helpers.ts';

// Issuers made elsewhere (cert-manager, step, an existing Linkerd install) are usually ECDSA.
// This builds such a PKI with the openssl CLI and has weft sign workloads with it.

function openssl(args: string[], cwd: string): void {
  const run = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  assert.equal(run.status, 0, `openssl ${args.join(' ')}: ${run.stderr}`);
}

test('an ECDSA P-256 trust anchor and issuer made by openssl sign workload certificates', { skip: HAVE_OPENSSL ? false : 'openssl not installed' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-ec-pki-'));
  try {
    writeFileSync(join(dir, 'ca.ext'), 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'root.key'], dir);
    openssl(['req', '-x509', '-new', '-key', 'root.key', '-subj', '/CN=root.linkerd.cluster.local', '-days', '30', '-out', 'root.crt', '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:1', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'issuer.key'], dir);
    openssl(['req', '-new', '-key', 'issuer.key', '-subj', '/CN=identity.linkerd.cluster.local', '-out', 'issuer.csr'], dir);
    openssl(['x509', '-req', '-in', 'issuer.csr', '-CA', 'root.crt', '-CAkey', 'root.key', '-CAcreateserial', '-days', '7', '-extfile', 'ca.ext', '-out', 'issuer.crt'], dir);
    const material = validateIssuerMaterial({
      certChainPem: readFileSync(join(dir, 'issuer.crt'), 'utf8'),
      // SEC1 "EC PRIVATE KEY", as openssl and cert-manager write it.
      keyPem: readFileSync(join(dir, 'issuer.key'), 'utf8'),
      trustAnchorsPem: readFileSync(join(dir, 'root.crt'), 'utf8'),
    });
    const minted = await mintWorkloadIdentity(material.issuer, IDENTITY);
    const leaf = new X509Certificate(minted.certPem);
    assert.ok(leaf.verify(new X509Certificate(material.issuer.certPem).publicKey));
    assert.match(leaf.subject, /^CN=cart\.shop\./);
    const result = opensslVerify({ anchorPem: material.trustAnchorsPem, chainPem: material.issuer.chainPem, leafPem: minted.certPem, purpose: 'sslclient' });
    assert.ok(result.ok, result.output);
    // The signature algorithm follows the issuer key.
    const text = spawnSync('openssl', ['x509', '-noout', '-text'], { input: minted.certPem, encoding: 'utf8' }).stdout;
    assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
