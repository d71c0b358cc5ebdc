import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimiter } from '../../src/identity/rate-limit.ts';
import { renewalTime, backoffDelay, nextAttemptDelay } from '../../src/identity/renewal.ts';
import { identityFlagSpecs, identityOptionsFromFlags } from '../../src/identity/config.ts';
import { parseFlags, UsageError } from '../../src/util/flags.ts';
import { csrNameMismatch, type ParsedCsr } from '../../src/identity/csr.ts';

test('rate limiter allows a burst, then the configured rate, per key', () => {
  let now = 0;
  const limiter = new RateLimiter({ perSecond: 2, now: () => now });
  const takes = () => [1, 2, 3, 4, 5].map(() => limiter.take('a'));
  assert.deepEqual(takes(), [true, true, true, true, false]);
  assert.ok(limiter.take('b'), 'other clients are unaffected');
  assert.equal(limiter.retryAfterSeconds('a'), 1);
  now += 500;
  assert.deepEqual([limiter.take('a'), limiter.take('a')], [true, false]);
  now += 60_000;
  limiter.prune();
  assert.equal(limiter.size, 0, 'idle full buckets are dropped');
});

test('rate limiter refuses new keys rather than grow past its bound', () => {
  const limiter = new RateLimiter({ perSecond: 1, maxKeys: 2, now: () => 0 });
  assert.ok(limiter.take('a') && limiter.take('b'));
  assert.equal(limiter.take('c'), false);
});

test('renewal lands at 70% of the lifetime; backoff grows, is jittered, and is capped', () => {
  assert.equal(renewalTime(new Date(0), new Date(100_000)), 70_000);
  const policy = { minMs: 100, maxMs: 1_000 };
  assert.equal(backoffDelay(1, policy, () => 0), 50);
  assert.equal(backoffDelay(1, policy, () => 1), 100);
  assert.equal(backoffDelay(3, policy, () => 1), 400);
  assert.equal(backoffDelay(30, policy, () => 1), 1_000);
  assert.notEqual(backoffDelay(3, policy, () => 0.1), backoffDelay(3, policy, () => 0.9));
  assert.equal(nextAttemptDelay({ now: 10, failures: 0, renewAt: 70 }), 60);
  // Close to expiry, a retry comes sooner than the backoff ceiling.
  assert.equal(nextAttemptDelay({ now: 0, failures: 30, notAfter: 400, policy, random: () => 1 }), 200);
});

test('identity flags: defaults, and errors that name the flag', () => {
  const parse = (argv: string[]) => identityOptionsFromFlags(parseFlags(identityFlagSpecs, argv).flags);
  const defaults = parse([]);
  assert.equal(defaults.port, 8080);
  assert.equal(defaults.audience, 'identity.l5d.io');
  assert.equal(defaults.trustDomain, 'cluster.local');
  assert.equal(defaults.certLifetimeMs, 24 * 3_600_000);
  assert.equal(defaults.jwksFile, undefined);
  assert.equal(defaults.disabled, false);
  const custom = parse(['--identity-cert-lifetime', '1h30m', '--identity-jwks', '/x.json', '--identity-issuer', 'https://k', '--identity-port', '0']);
  assert.equal(custom.certLifetimeMs, 90 * 60_000);
  assert.equal(custom.tokenIssuer, 'https://k');
  assert.equal(custom.port, 0);
  for (const [argv, flag] of [
    [['--identity-port', '70000'], 'identity-port'],
    [['--identity-cert-lifetime', '10s'], 'identity-cert-lifetime'],
    [['--identity-cert-lifetime', 'soon'], 'identity-cert-lifetime'],
    [['--identity-trust-domain', 'not a domain'], 'identity-trust-domain'],
    [['--identity-issuer', 'https://k'], 'identity-issuer'],
  ] as const) {
    assert.throws(() => parse([...argv]), (e: Error) => e instanceof UsageError && e.message.includes(`--${flag}`), argv.join(' '));
  }
  assert.equal(identityOptionsFromFlags(parseFlags(identityFlagSpecs, [], { WEFT_IDENTITY_DISABLED: 'true' }).flags).disabled, true);
  assert.deepEqual(parse(['--identity-serving-names', 'weft-id.mesh.svc,weft-id.mesh.svc.example.org']).servingDnsNames, ['weft-id.mesh.svc', 'weft-id.mesh.svc.example.org']);
  assert.equal(defaults.servingDnsNames, undefined);
  assert.throws(() => parse(['--identity-serving-names', 'bad name']), /--identity-serving-names/);
});

test('a CSR may name nothing or exactly the token identity', () => {
  const allowed = { dnsName: 'cart.shop.serviceaccount.identity.weft.cluster.local', spiffeId: 'spiffe://cluster.local/ns/shop/sa/cart' };
  const csr = (over: Partial<ParsedCsr>): ParsedCsr => ({ publicKeySpki: new ArrayBuffer(0), keyAlgorithm: 'ECDSA P-256', commonNames: [], dnsNames: [], uris: [], otherNames: [], ...over });
  assert.equal(csrNameMismatch(csr({}), allowed), undefined);
  assert.equal(csrNameMismatch(csr({ commonNames: [allowed.dnsName], dnsNames: [allowed.dnsName], uris: [allowed.spiffeId] }), allowed), undefined);
  assert.match(csrNameMismatch(csr({ commonNames: ['root'] }), allowed)!, /CN/);
  assert.match(csrNameMismatch(csr({ dnsNames: [allowed.dnsName, 'evil.example'] }), allowed)!, /evil/);
  assert.match(csrNameMismatch(csr({ otherNames: ['ip:10.0.0.1'] }), allowed)!, /never issues/);
});
