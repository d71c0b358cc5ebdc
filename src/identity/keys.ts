import { generateKeyPair, createPrivateKey, createPublicKey, sign as cryptoSign, webcrypto as webcryptoImpl, type KeyObject, type webcrypto } from 'node:crypto';
import { promisify } from 'node:util';

type Algorithm = webcrypto.Algorithm;
type EcdsaParams = webcrypto.EcdsaParams;
type CryptoKey = webcrypto.CryptoKey;
type BufferSource = webcrypto.BufferSource;
export type { Algorithm, EcdsaParams, CryptoKey };

const generateKeyPairAsync = promisify(generateKeyPair);

export type KeyType = 'ecdsa-p256' | 'rsa-2048';

export const KEY_TYPES: readonly KeyType[] = ['ecdsa-p256', 'rsa-2048'];

export interface GeneratedKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  keyPem: string;
}

/** node:crypto generates keys natively (node-forge's pure-JS RSA keygen takes seconds). */
export async function generateKey(type: KeyType | { rsaBits: number }): Promise<GeneratedKey> {
  const pair =
    type === 'ecdsa-p256'
      ? await generateKeyPairAsync('ec', { namedCurve: 'P-256' })
      : await generateKeyPairAsync('rsa', { modulusLength: type === 'rsa-2048' ? 2048 : type.rsaBits });
  return { privateKey: pair.privateKey, publicKey: pair.publicKey, keyPem: pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() };
}

export function spkiDer(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'spki' });
}

export function publicKeyOf(keyPem: string): KeyObject {
  return createPublicKey(createPrivateKey(keyPem));
}

/** WebCrypto algorithm parameters that match a key, for signing with @peculiar/x509. */
export function webCryptoAlgorithms(key: KeyObject): { importAlg: webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams; signAlg: Algorithm | EcdsaParams } {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') {
    return { importAlg: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, signAlg: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as Algorithm };
  }
  if (key.asymmetricKeyType === 'ec') {
    const curve = details.namedCurve;
    if (curve === 'prime256v1' || curve === 'P-256') {
      return { importAlg: { name: 'ECDSA', namedCurve: 'P-256' }, signAlg: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams };
    }
    if (curve === 'secp384r1' || curve === 'P-384') {
      return { importAlg: { name: 'ECDSA', namedCurve: 'P-384' }, signAlg: { name: 'ECDSA', hash: 'SHA-384' } as EcdsaParams };
    }
    throw new Error(`unsupported EC curve ${String(curve)} (use P-256 or P-384)`);
  }
  throw new Error(`unsupported key type ${String(key.asymmetricKeyType)} (use ECDSA P-256/P-384 or RSA)`);
}

export async function toSigningCryptoKey(privateKey: KeyObject): Promise<{ key: CryptoKey; signAlg: Algorithm | EcdsaParams }> {
  const { importAlg, signAlg } = webCryptoAlgorithms(privateKey);
  return { key: privateKey.toCryptoKey(importAlg, false, ['sign']) as CryptoKey, signAlg };
}

export async function toCryptoKeyPair(key: GeneratedKey): Promise<webcrypto.CryptoKeyPair> {
  const { importAlg } = webCryptoAlgorithms(key.privateKey);
  return {
    privateKey: key.privateKey.toCryptoKey(importAlg, false, ['sign']) as CryptoKey,
    publicKey: key.publicKey.toCryptoKey(importAlg, true, ['verify']) as CryptoKey,
  };
}

/**
 * A WebCrypto whose `sign` with this one key runs node's synchronous signer. Node's WebCrypto
 * RSA sign goes through the thread pool and costs several times the native signature (measured
 * ~2.6 ms against ~0.4 ms for RSA-2048 here), and issuance is little else. Every other call is
 * node's own WebCrypto.
 */
export function fastSigningCrypto(privateKey: KeyObject, cryptoKey: CryptoKey, hash: string): webcrypto.Crypto {
  const isEc = privateKey.asymmetricKeyType === 'ec';
  const subtle = new Proxy(webcryptoImpl.subtle, {
    get(target, property) {
      if (property === 'sign') {
        return async (algorithm: webcrypto.AlgorithmIdentifier, key: CryptoKey, data: BufferSource): Promise<ArrayBuffer> => {
          if (key !== cryptoKey) return target.sign(algorithm, key, data);
          const bytes = ArrayBuffer.isView(data) ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data as ArrayBuffer);
          const signature = cryptoSign(hash, bytes, isEc ? { key: privateKey, dsaEncoding: 'ieee-p1363' } : privateKey);
          return signature.buffer.slice(signature.byteOffset, signature.byteOffset + signature.byteLength) as ArrayBuffer;
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return new Proxy(webcryptoImpl, {
    get(target, property) {
      if (property === 'subtle') return subtle;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
