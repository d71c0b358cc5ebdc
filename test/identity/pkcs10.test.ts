import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { createCsrDer, createCsrPem } from '../../src/identity/pkcs10.ts';
import { integer, objectIdentifier, sequence, set, tlv } from '../../src/identity/der.ts';
import { parseCsr } from '../../src/identity/csr.ts';
import { x509 } from '../../src/identity/x509.ts';
import { generateKey, toCryptoKeyPair, type GeneratedKey } from '../../src/identity/keys.ts';
import type { IdentityServer } from '../../src/identity/server.ts';
import { startFixtureServer, type Fixture, type RunningIdentity } from './fixture.ts';
import { HAVE_OPENSSL } from './helpers.ts';
import { post } from './https.ts';

type X509KeyPair = Parameters<typeof x509.Pkcs10CertificateRequestGenerator.create>[0]['keys'];

const CART_DNS = 'cart.shop.serviceaccount.identity.weft.cluster.local';
const CART_SPIFFE = 'spiffe://cluster.local/ns/shop/sa/cart';

function p384(): GeneratedKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  return { privateKey, publicKey, keyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() };
}

const KEYS: [string, () => Promise<GeneratedKey>][] = [
  ['ECDSA P-256', () => generateKey('ecdsa-p256')],
  ['RSA 2048', () => generateKey('rsa-2048')],
  ['ECDSA P-384', async () => p384()],
];

/** The contents of a DER value (tag at 0), and where the value after it starts. */
function children(der: Uint8Array): Buffer[] {
  const out: Buffer[] = [];
  const read = (at: number): { start: number; end: number } => {
    let len = der[at + 1]!;
    let start = at + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + der[at + 2 + i]!;
      start += n;
    }
    return { start, end: start + len };
  };
  const outer = read(0);
  for (let at = outer.start; at < outer.end; ) {
    const { end } = read(at);
    out.push(Buffer.from(der.subarray(at, end)));
    at = end;
  }
  return out;
}

function openssl(args: string[], input: string): { ok: boolean; output: string } {
  const result = spawnSync('openssl', args, { input, encoding: 'utf8' });
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}

test('DER primitives: lengths in short and long form, INTEGER sign padding, OIDs in base 128, SET OF sorted', () => {
  assert.deepEqual(tlv(0x04, Buffer.alloc(127)).subarray(0, 2), Buffer.from([0x04, 0x7f]));
  assert.deepEqual(tlv(0x04, Buffer.alloc(128)).subarray(0, 3), Buffer.from([0x04, 0x81, 0x80]));
  assert.deepEqual(tlv(0x04, Buffer.alloc(300)).subarray(0, 4), Buffer.from([0x04, 0x82, 0x01, 0x2c]));
  assert.deepEqual(integer(0), Buffer.from([0x02, 0x01, 0x00]));
  assert.deepEqual(integer(128), Buffer.from([0x02, 0x02, 0x00, 0x80]));
  assert.deepEqual(integer(256), Buffer.from([0x02, 0x02, 0x01, 0x00]));
  assert.throws(() => integer(-1), RangeError);
  assert.deepEqual(objectIdentifier('1.2.840.113549.1.9.14'), Buffer.from('06092a864886f70d01090e', 'hex'));
  assert.deepEqual(objectIdentifier('2.5.29.17'), Buffer.from('0603551d11', 'hex'));
  assert.throws(() => objectIdentifier('1.40'), RangeError);
  assert.throws(() => objectIdentifier('3.1'), RangeError);
  assert.deepEqual(set(Buffer.from([0x02, 0x01, 0x05]), Buffer.from([0x02, 0x01, 0x01])), Buffer.from([0x31, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x05]));
  // Checked against openssl's own parser, which prints what it decodes.
  if (HAVE_OPENSSL) {
    const der = sequence(objectIdentifier('1.3.6.1.4.1.311.21.20'), integer(65537));
    const parsed = spawnSync('openssl', ['asn1parse', '-inform', 'DER'], { input: der, encoding: 'utf8' });
    assert.match(parsed.stdout, /OBJECT\s+:1\.3\.6\.1\.4\.1\.311\.21\.20/);
    assert.match(parsed.stdout, /INTEGER\s+:010001/);
  }
});

for (const [name, make] of KEYS) {
  test(`${name}: the CSR verifies with openssl and parses with the server's parser, names and key intact`, async () => {
    const key = await make();
    for (const names of [{}, { dnsName: CART_DNS }, { dnsName: CART_DNS, spiffeId: CART_SPIFFE }]) {
      const pem = createCsrPem(key, names);
      if (HAVE_OPENSSL) {
        const verified = openssl(['req', '-verify', '-noout'], pem);
        assert.ok(verified.ok, verified.output);
      }
      const parsed = await parseCsr(pem);
      assert.deepEqual(Buffer.from(parsed.publicKeySpki), key.publicKey.export({ type: 'spki', format: 'der' }));
      assert.deepEqual(parsed.commonNames, 'dnsName' in names ? [CART_DNS] : []);
      assert.deepEqual(parsed.dnsNames, 'dnsName' in names ? [CART_DNS] : []);
      assert.deepEqual(parsed.uris, 'spiffeId' in names ? [CART_SPIFFE] : []);
      assert.deepEqual(parsed.otherNames, []);
    }
  });
}

test('the signed request info is byte for byte what @peculiar/x509 generated for the same key and names', async () => {
  for (const [, make] of KEYS.slice(0, 2)) {
    const key = await make();
    for (const names of [{}, { dnsName: CART_DNS }]) {
      const isEc = key.privateKey.asymmetricKeyType === 'ec';
      const generated = await x509.Pkcs10CertificateRequestGenerator.create({
        ...(names.dnsName !== undefined ? { name: [{ CN: [names.dnsName] }] } : {}),
        keys: (await toCryptoKeyPair(key)) as unknown as X509KeyPair,
        signingAlgorithm: isEc ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
        extensions: names.dnsName !== undefined ? [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: names.dnsName }])] : [],
      });
      const theirs = children(new Uint8Array(generated.rawData));
      const ours = children(createCsrDer(key, names));
      assert.deepEqual(ours[0], theirs[0], 'CertificationRequestInfo');
      assert.deepEqual(ours[1], theirs[1], 'signatureAlgorithm');
      if (!isEc) assert.deepEqual(ours[2], theirs[2], 'PKCS#1 v1.5 signatures are deterministic');
    }
  }
});

test('a common name with characters outside PrintableString is a UTF8String; keys without a CSR signature scheme are refused', async () => {
  const key = await generateKey('ecdsa-p256');
  const pem = createCsrPem(key, { dnsName: 'cart_1.shop' });
  if (HAVE_OPENSSL) assert.match(openssl(['asn1parse'], pem).output, /UTF8STRING\s+:cart_1\.shop/);
  assert.deepEqual((await parseCsr(pem)).commonNames, ['cart_1.shop']);
  const ed = generateKeyPairSync('ed25519');
  assert.throws(() => createCsrDer({ ...ed, keyPem: '' }), /ed25519/);
  assert.throws(() => createCsrDer(key, { dnsName: 'caf\u00e9.shop' }), /printable ASCII/);
});

let fx: Fixture;
let server: IdentityServer;
let running: RunningIdentity;
before(async () => {
  running = await startFixtureServer();
  ({ fx, server } = running);
});
after(() => running.close());

for (const [name, make] of KEYS.slice(0, 2)) {
  test(`the identity service issues a certificate for a CSR with an ${name} key, for the CSR's key`, async () => {
    const key = await make();
    const res = await post({
      port: server.port,
      ca: fx.anchor.certPem,
      servername: server.serverName,
      headers: { authorization: `Bearer ${fx.token({ namespace: 'shop', serviceAccount: 'cart' })}` },
      body: JSON.stringify({ csr: createCsrPem(key, { dnsName: CART_DNS, spiffeId: CART_SPIFFE }) }),
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const leaf = new X509Certificate(res.body.certificate!);
    assert.ok(leaf.checkPrivateKey(key.privateKey));
    assert.equal(leaf.subjectAltName, `DNS:${CART_DNS}, URI:${CART_SPIFFE}`);
  });
}
