import { test } from 'node:test';
import assert from 'node:assert/strict';
import { identityClientCredentials, describeCredentials, CredentialError, type IdentityClientLike } from '../../src/proxy/credentials.ts';
import { createTestCa, mintCredentials } from './certs.ts';

type Cert = NonNullable<ReturnType<IdentityClientLike['current']>>;

test('identity-client credentials: the DNS name is the mesh identity, rotations pass through, stop stops the client', async () => {
  const ca = await createTestCa('cred');
  const first = await mintCredentials(ca, 'web', 'b');
  const second = await mintCredentials(ca, 'web', 'b');
  let current: Cert | undefined;
  const listeners: ((c: Cert) => void)[] = [];
  let stopped = false;
  const fake: IdentityClientLike = { current: () => current, onRotate: (l) => listeners.push(l), stop: () => (stopped = true) };
  const source = identityClientCredentials(fake);
  assert.equal(source.current(), undefined);
  const seen: string[] = [];
  source.onRotate((c) => seen.push(c.certChainPem));
  const as = (c: typeof first): Cert => ({ keyPem: c.keyPem, certChainPem: c.certChainPem, trustAnchorsPem: c.trustAnchorsPem, notAfter: c.notAfter, dnsName: c.identity });
  current = as(first);
  for (const l of listeners) l(current);
  assert.equal(source.current()?.identity, 'web.b.serviceaccount.identity.weft.cluster.local');
  assert.equal(source.current(), source.current(), 'the same object until the next rotation');
  current = as(second);
  for (const l of listeners) l(current);
  assert.deepEqual(seen, [first.certChainPem, second.certChainPem]);
  source.stop();
  assert.ok(stopped);
});

test('static credentials name the identity from the certificate and reject what is not one', async () => {
  const ca = await createTestCa('cred2');
  const c = await mintCredentials(ca, 'api', 'shop');
  assert.equal(describeCredentials(c.keyPem, c.certChainPem, ca.anchorPem).identity, 'api.shop.serviceaccount.identity.weft.cluster.local');
  assert.throws(() => describeCredentials(c.keyPem, 'nope', ca.anchorPem), CredentialError);
  assert.throws(() => describeCredentials(c.keyPem, c.certChainPem, 'nope'), /trust anchors/);
  const other = await mintCredentials(ca, 'api', 'shop');
  assert.throws(() => describeCredentials(other.keyPem, c.certChainPem, ca.anchorPem), /does not belong to the certificate/);
  assert.throws(() => describeCredentials('garbage', c.certChainPem, ca.anchorPem), /not a PEM private key/);
});
