import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { verifyServiceAccountJwt, keysFromJwks, jwksFor, signServiceAccountToken, TokenError } from '../../src/identity/tokens.ts';
import { csrNameMismatch, type ParsedCsr } from '../../src/identity/csr.ts';
import { dnsIdentity, spiffeId, parseSpiffeId, isNamespaceName, isServiceAccountName } from '../../src/identity/names.ts';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const keys = keysFromJwks(jwksFor([{ key: rsa.publicKey, kid: 'k' }]));
const pem = rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const AUD = 'identity.l5d.io';
const token = signServiceAccountToken({ namespace: 'shop', serviceAccount: 'cart', audience: AUD }, pem, 'k');
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function decoded(t: string): string {
  return t.split('.').map((part) => Buffer.from(part, 'base64url').toString('hex')).join('.');
}

test('no single-character change to a valid token yields a different accepted token', () => {
  fc.assert(
    fc.property(fc.nat({ max: token.length - 1 }), fc.constantFrom(...B64URL.split('')), (index, char) => {
      if (token[index] === '.') return;
      const mutated = token.slice(0, index) + char + token.slice(index + 1);
      try {
        verifyServiceAccountJwt(mutated, { keys, audience: AUD });
      } catch (error) {
        assert.ok(error instanceof TokenError, `unexpected ${String(error)}`);
        return;
      }
      // Only spellings of the same bytes (unused trailing base64 bits) may still verify.
      assert.equal(decoded(mutated), decoded(token));
    }),
    { numRuns: 300 },
  );
});

test('arbitrary strings are refused with a TokenError, never a crash', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 400 }), (text) => {
      assert.throws(() => verifyServiceAccountJwt(text, { keys, audience: AUD }), TokenError);
    }),
    { numRuns: 300 },
  );
});

const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?$/);

test('names round-trip, and a CSR naming any other identity is refused', () => {
  fc.assert(
    fc.property(label, label, label, label, (ns, sa, otherNs, otherSa) => {
      assert.ok(isNamespaceName(ns) && isServiceAccountName(sa));
      assert.deepEqual(parseSpiffeId(spiffeId('cluster.local', ns, sa)), { trustDomain: 'cluster.local', namespace: ns, serviceAccount: sa });
      const allowed = { dnsName: dnsIdentity(sa, ns, 'weft', 'cluster.local'), spiffeId: spiffeId('cluster.local', ns, sa) };
      const csr = (over: Partial<ParsedCsr>): ParsedCsr => ({ publicKeySpki: new ArrayBuffer(0), keyAlgorithm: 'ECDSA P-256', commonNames: [], dnsNames: [], uris: [], otherNames: [], ...over });
      assert.equal(csrNameMismatch(csr({ dnsNames: [allowed.dnsName], uris: [allowed.spiffeId] }), allowed), undefined);
      if (ns !== otherNs || sa !== otherSa) {
        assert.notEqual(csrNameMismatch(csr({ dnsNames: [dnsIdentity(otherSa, otherNs, 'weft', 'cluster.local')] }), allowed), undefined);
        assert.notEqual(csrNameMismatch(csr({ uris: [spiffeId('cluster.local', otherNs, otherSa)] }), allowed), undefined);
      }
    }),
    { numRuns: 200 },
  );
});
