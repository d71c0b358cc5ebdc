import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spiffeId, dnsIdentity, identityServerName, parseSpiffeId, isNamespaceName, isServiceAccountName, isTrustDomain } from '../../src/identity/names.ts';

test('spiffeId and dnsIdentity follow the Linkerd layout', () => {
  assert.equal(spiffeId('cluster.local', 'shop', 'cart'), 'spiffe://cluster.local/ns/shop/sa/cart');
  assert.equal(dnsIdentity('cart', 'shop', 'weft', 'cluster.local'), 'cart.shop.serviceaccount.identity.weft.cluster.local');
  assert.equal(identityServerName('weft', 'example.org'), 'weft-identity.weft.serviceaccount.identity.weft.example.org');
});

test('parseSpiffeId round-trips and rejects other shapes', () => {
  assert.deepEqual(parseSpiffeId(spiffeId('td', 'a', 'b')), { trustDomain: 'td', namespace: 'a', serviceAccount: 'b' });
  assert.equal(parseSpiffeId('spiffe://td/ns/a/sa/b/extra'), undefined);
  assert.equal(parseSpiffeId('https://td/ns/a/sa/b'), undefined);
});

test('name validators accept Kubernetes names and refuse the rest', () => {
  assert.ok(isNamespaceName('shop-1'));
  assert.ok(!isNamespaceName('Shop'));
  assert.ok(!isNamespaceName('a.b'));
  assert.ok(isServiceAccountName('build.bot'));
  assert.ok(!isServiceAccountName('bad_name'));
  assert.ok(!isServiceAccountName(''));
  assert.ok(isTrustDomain('cluster.local'));
  assert.ok(!isTrustDomain('cluster..local'));
});
