import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { verifyServiceAccountJwt, keysFromJwks, jwksFor, signServiceAccountToken, signJwt, parseServiceAccountUsername, TokenError } from '../../src/identity/tokens.ts';
import { interpretTokenReview } from '../../src/identity/token-review.ts';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsaPem = rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const ecPem = ec.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const keys = keysFromJwks(JSON.parse(JSON.stringify(jwksFor([{ key: rsa.publicKey, kid: 'rsa-1' }, { key: ec.publicKey, kid: 'ec-1' }]))));
const AUD = 'identity.l5d.io';
const ISS = 'https://kubernetes.default.svc.cluster.local';
const check = { keys, audience: AUD, issuer: ISS };

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof TokenError, String(error));
    return error.reason;
  }
  return 'accepted';
}

test('RS256 and ES256 service-account tokens verify and name their service account', () => {
  const spec = { namespace: 'shop', serviceAccount: 'cart', audience: [AUD, 'other'], issuer: ISS, podName: 'cart-7d9' };
  assert.deepEqual(verifyServiceAccountJwt(signServiceAccountToken(spec, rsaPem, 'rsa-1'), check), { namespace: 'shop', serviceAccount: 'cart', podName: 'cart-7d9' });
  assert.deepEqual(verifyServiceAccountJwt(signServiceAccountToken(spec, ecPem, 'ec-1'), check), { namespace: 'shop', serviceAccount: 'cart', podName: 'cart-7d9' });
});

test('every way a token can be wrong has its own reason', () => {
  const base = { namespace: 'shop', serviceAccount: 'cart', audience: AUD, issuer: ISS };
  assert.equal(reason(() => verifyServiceAccountJwt(signServiceAccountToken({ ...base, audience: 'api' }, rsaPem, 'rsa-1'), check)), 'audience');
  assert.equal(reason(() => verifyServiceAccountJwt(signServiceAccountToken({ ...base, issuer: 'https://x' }, rsaPem, 'rsa-1'), check)), 'issuer');
  assert.equal(reason(() => verifyServiceAccountJwt(signServiceAccountToken({ ...base, now: new Date(Date.now() - 7_200_000) }, rsaPem, 'rsa-1'), check)), 'expired');
  assert.equal(reason(() => verifyServiceAccountJwt(signServiceAccountToken({ ...base, now: new Date(Date.now() + 7_200_000) }, rsaPem, 'rsa-1'), check)), 'not_yet_valid');
  assert.equal(reason(() => verifyServiceAccountJwt(signServiceAccountToken({ ...base, extraClaims: { exp: undefined } }, rsaPem, 'rsa-1'), check)), 'expired');
  assert.equal(reason(() => verifyServiceAccountJwt(signServiceAccountToken({ ...base, extraClaims: { sub: 'admin' } }, rsaPem, 'rsa-1'), check)), 'subject');
  assert.equal(
    reason(() => verifyServiceAccountJwt(signServiceAccountToken({ ...base, extraClaims: { 'kubernetes.io': { namespace: 'kube-system' } } }, rsaPem, 'rsa-1'), check)),
    'subject',
  );
  // An RSA signature presented under the EC key's kid does not verify.
  assert.equal(reason(() => verifyServiceAccountJwt(signServiceAccountToken(base, rsaPem, 'ec-1'), check)), 'signature');
  assert.equal(reason(() => verifyServiceAccountJwt(signServiceAccountToken(base, rsaPem, 'unknown-kid'), check)), 'signature');
  const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  assert.equal(reason(() => verifyServiceAccountJwt(signServiceAccountToken(base, stranger, 'rsa-1'), check)), 'signature');
  assert.equal(reason(() => verifyServiceAccountJwt(signJwt({ sub: 'system:serviceaccount:a:b' }, rsaPem, { alg: 'RS384', kid: 'rsa-1' }) + 'x', check)), 'signature');
  assert.equal(reason(() => verifyServiceAccountJwt('a.b', check)), 'malformed');
  assert.equal(reason(() => verifyServiceAccountJwt('!!.??.##', check)), 'malformed');
});

test('claims are not read before the signature holds', () => {
  // A payload that is not even JSON still fails on the signature, not on parsing.
  const token = signServiceAccountToken({ namespace: 'a', serviceAccount: 'b', audience: AUD }, rsaPem, 'rsa-1');
  const [h, , s] = token.split('.');
  assert.equal(reason(() => verifyServiceAccountJwt(`${h}.${Buffer.from('not json').toString('base64url')}.${s}`, check)), 'signature');
});

test('keysFromJwks refuses documents without usable keys', () => {
  assert.throws(() => keysFromJwks({}), /keys/);
  assert.throws(() => keysFromJwks({ keys: [] }), /no signing keys/);
  assert.throws(() => keysFromJwks({ keys: [{ kty: 'RSA', n: 'x' }] }), /keys\[0\]/);
});

test('service-account usernames parse; others do not', () => {
  assert.deepEqual(parseServiceAccountUsername('system:serviceaccount:shop:cart'), { namespace: 'shop', serviceAccount: 'cart' });
  assert.equal(parseServiceAccountUsername('system:serviceaccount:shop'), undefined);
  assert.equal(parseServiceAccountUsername('system:serviceaccount:a:b:c'), undefined);
  assert.equal(parseServiceAccountUsername('kubernetes-admin'), undefined);
});

test('a TokenReview answer counts only when authenticated for our audience and for a service account', () => {
  const user = { username: 'system:serviceaccount:shop:cart', extra: { 'authentication.kubernetes.io/pod-name': ['cart-1'] } };
  assert.deepEqual(interpretTokenReview({ spec: { token: 't' }, status: { authenticated: true, audiences: [AUD], user } }, AUD), { namespace: 'shop', serviceAccount: 'cart', podName: 'cart-1' });
  assert.throws(() => interpretTokenReview({ spec: { token: 't' }, status: { authenticated: true, user } }, AUD), (e: TokenError) => e.reason === 'audience');
  assert.throws(() => interpretTokenReview({ spec: { token: 't' }, status: { authenticated: false, error: '[invalid bearer token, token audiences ["api"] is invalid for the target audiences ["identity.l5d.io"]]' } }, AUD), (e: TokenError) => e.reason === 'audience');
  assert.throws(() => interpretTokenReview({ spec: { token: 't' }, status: { authenticated: false, error: 'token has expired' } }, AUD), (e: TokenError) => e.reason === 'rejected');
  assert.throws(() => interpretTokenReview({ spec: { token: 't' }, status: { authenticated: true, audiences: [AUD], user: { username: 'kubernetes-admin' } } }, AUD), (e: TokenError) => e.reason === 'subject');
});
