import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import {
  createTrustAnchor,
  createIssuer,
  issueWorkloadCertificate,
  mintWorkloadIdentity,
  createWebhookCertificates,
  CsrError,
  DEFAULT_WORKLOAD_LIFETIME_MS,
} from '../../src/identity/ca.ts';
import { createCsr } from '../../src/identity/csr.ts';
import { generateKey } from '../../src/identity/keys.ts';
import { HAVE_OPENSSL, opensslVerify, IDENTITY } from './helpers.ts';

const anchor = await createTrustAnchor();
const issuer = await createIssuer(anchor);

test('trust anchor and issuer are CAs with the path lengths Linkerd uses', () => {
  const root = new X509Certificate(anchor.certPem);
  const mid = new X509Certificate(issuer.certPem);
  assert.ok(root.ca && mid.ca);
  assert.ok(root.verify(root.publicKey), 'root is self-signed');
  assert.ok(mid.verify(root.publicKey), 'issuer is signed by the root');
  assert.ok(mid.checkIssued(root));
  assert.ok(new Date(root.validTo) > new Date(mid.validTo), 'issuer expires before the root');
});

test('a workload certificate carries exactly the identity names, client+server auth, 24h', async () => {
  const minted = await mintWorkloadIdentity(issuer, IDENTITY);
  const leaf = new X509Certificate(minted.certPem);
  assert.equal(leaf.subjectAltName, 'DNS:cart.shop.serviceaccount.identity.weft.cluster.local, URI:spiffe://cluster.local/ns/shop/sa/cart');
  assert.equal(leaf.subject, 'CN=cart.shop.serviceaccount.identity.weft.cluster.local');
  assert.deepEqual([...(leaf.keyUsage ?? [])].sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
  assert.equal(leaf.ca, false);
  assert.equal(leaf.publicKey.asymmetricKeyType, 'ec');
  assert.ok(leaf.verify(new X509Certificate(issuer.certPem).publicKey));
  assert.ok(!leaf.verify(new X509Certificate(anchor.certPem).publicKey), 'signed by the issuer, not the root');
  const lifetime = new Date(leaf.validTo).getTime() - Date.now();
  assert.ok(Math.abs(lifetime - DEFAULT_WORKLOAD_LIFETIME_MS) < 120_000, `lifetime ${lifetime}`);
  assert.ok(leaf.checkPrivateKey((await import('node:crypto')).createPrivateKey(minted.keyPem)));
  assert.equal(minted.chainPem, minted.certPem + issuer.certPem);
});

test('openssl verifies a workload certificate against the trust anchor for client and server use', { skip: HAVE_OPENSSL ? false : 'openssl not installed' }, async () => {
  const minted = await mintWorkloadIdentity(issuer, IDENTITY);
  for (const purpose of ['sslclient', 'sslserver']) {
    const result = opensslVerify({ anchorPem: anchor.certPem, chainPem: issuer.certPem, leafPem: minted.certPem, purpose });
    assert.ok(result.ok, result.output);
  }
  const otherAnchor = await createTrustAnchor();
  const wrong = opensslVerify({ anchorPem: otherAnchor.certPem, chainPem: issuer.certPem, leafPem: minted.certPem });
  assert.ok(!wrong.ok, 'a foreign trust anchor must not verify it');
});

test('RSA workload certificates work too (for the benchmark and old clients)', async () => {
  const minted = await mintWorkloadIdentity(issuer, IDENTITY, { keyType: 'rsa-2048' });
  const leaf = new X509Certificate(minted.certPem);
  assert.equal(leaf.publicKey.asymmetricKeyType, 'rsa');
  assert.ok(leaf.verify(new X509Certificate(issuer.certPem).publicKey));
});

test('issuance from a CSR certifies the CSR key and ignores the names it asked for', async () => {
  const key = await generateKey('ecdsa-p256');
  const csrPem = await createCsr(key, { dnsName: 'admin.kube-system.serviceaccount.identity.weft.cluster.local' });
  const issued = await issueWorkloadCertificate(issuer, { csrPem, identity: IDENTITY });
  const leaf = new X509Certificate(issued.certPem);
  assert.ok(leaf.checkPrivateKey(key.privateKey));
  assert.match(leaf.subjectAltName ?? '', /^DNS:cart\.shop\./);
});

test('a CSR whose signature does not verify is refused', async () => {
  const key = await generateKey('ecdsa-p256');
  const csrPem = await createCsr(key, { dnsName: 'cart.shop.serviceaccount.identity.weft.cluster.local' });
  const der = Buffer.from(csrPem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
  der[der.length - 5] = der[der.length - 5]! ^ 0xff; // inside the signature
  const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  await assert.rejects(issueWorkloadCertificate(issuer, { csrPem: tampered, identity: IDENTITY }), CsrError);
  await assert.rejects(issueWorkloadCertificate(issuer, { csrPem: 'not a csr', identity: IDENTITY }), CsrError);
});

test('leaf lifetime is clamped to the issuer lifetime', async () => {
  const shortIssuer = await createIssuer(anchor, { lifetimeMs: 60 * 60_000 });
  const minted = await mintWorkloadIdentity(shortIssuer, IDENTITY, { lifetimeMs: 48 * 3_600_000 });
  assert.equal(new Date(new X509Certificate(minted.certPem).validTo).getTime(), new Date(new X509Certificate(shortIssuer.certPem).validTo).getTime());
});

test('createIssuer refuses an anchor whose key does not match', async () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await assert.rejects(createIssuer({ certPem: anchor.certPem, keyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() }), /does not match/);
});

test('webhook certificates carry the service names and extras; caBundle is the CA PEM in base64', async () => {
  const made = await createWebhookCertificates({ service: 'weft-webhook', namespace: 'weft', ipAddresses: ['127.0.0.1'], extraDnsNames: ['localhost'] });
  const leaf = new X509Certificate(made.serving.certPem);
  assert.equal(leaf.subjectAltName, 'DNS:weft-webhook.weft.svc, DNS:weft-webhook.weft.svc.cluster.local, DNS:localhost, IP Address:127.0.0.1');
  assert.ok(leaf.checkHost('weft-webhook.weft.svc'));
  assert.ok(leaf.checkIP('127.0.0.1'));
  assert.equal(Buffer.from(made.caBundle, 'base64').toString(), made.ca.certPem);
  assert.ok(leaf.verify(new X509Certificate(made.ca.certPem).publicKey));
  if (HAVE_OPENSSL) {
    const result = opensslVerify({ anchorPem: made.ca.certPem, leafPem: made.serving.certPem, purpose: 'sslserver', extra: ['-verify_hostname', 'weft-webhook.weft.svc'] });
    assert.ok(result.ok, result.output);
  }
});
