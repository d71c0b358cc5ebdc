// The one place @peculiar/x509 is loaded: the Reflect shim must run first, and every caller
// must share node's WebCrypto as the provider.
import './reflect-metadata.ts';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

type X509Crypto = Parameters<typeof x509.cryptoProvider.set>[0];
x509.cryptoProvider.set(webcrypto as unknown as X509Crypto);

export { x509 };
