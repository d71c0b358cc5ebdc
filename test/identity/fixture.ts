// A real identity deployment in a temp dir: trust anchor, issuer Secret files, a service-account
// signing key and its JWKS, the way the API server publishes it.
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createTrustAnchor, createIssuer, type TrustAnchor, type Issuer } from '../../src/identity/ca.ts';
import { jwksFor, signServiceAccountToken, type ServiceAccountTokenSpec } from '../../src/identity/tokens.ts';
import type { IdentityOptions } from '../../src/identity/config.ts';
import { startIdentityServer, type IdentityServer } from '../../src/identity/server.ts';

export const SA_ISSUER = 'https://kubernetes.default.svc.cluster.local';
export const AUDIENCE = 'identity.l5d.io';

export interface Fixture {
  dir: string;
  issuerDir: string;
  anchor: TrustAnchor;
  issuer: Issuer;
  saKeyPem: string;
  kid: string;
  jwksFile: string;
  options: IdentityOptions;
  token(spec: Partial<ServiceAccountTokenSpec> & { namespace: string; serviceAccount: string }): string;
  writeToken(name: string, token: string): string;
  writeIssuer(issuer: Issuer): void;
  cleanup(): void;
}

export const silentLog = pino({ level: 'silent' });
export const newRegistry = (): Registry => new Registry();

export async function makeFixture(overrides: Partial<IdentityOptions> = {}): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'weft-identity-'));
  const issuerDir = join(dir, 'issuer');
  const anchor = await createTrustAnchor();
  const issuer = await createIssuer(anchor);
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const saKeyPem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const kid = 'test-sa-key-1';
  const jwksFile = join(dir, 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify(jwksFor([{ key: publicKey, kid }])));
  const { mkdirSync } = await import('node:fs');
  mkdirSync(issuerDir);
  const writeIssuer = (i: Issuer): void => {
    writeFileSync(join(issuerDir, 'tls.crt'), i.chainPem ?? i.certPem);
    writeFileSync(join(issuerDir, 'tls.key'), i.keyPem);
  };
  writeIssuer(issuer);
  writeFileSync(join(issuerDir, 'ca.crt'), anchor.certPem);
  const options: IdentityOptions = {
    disabled: false,
    port: 0,
    address: '127.0.0.1',
    issuerDir,
    trustDomain: 'cluster.local',
    audience: AUDIENCE,
    jwksFile,
    tokenIssuer: SA_ISSUER,
    certLifetimeMs: 24 * 3_600_000,
    rateLimitPerSecond: 1000,
    reloadIntervalMs: 3_600_000,
    maxBodyBytes: 16 * 1024,
    ...overrides,
  };
  return {
    dir,
    issuerDir,
    anchor,
    issuer,
    saKeyPem,
    kid,
    jwksFile,
    options,
    token: (spec) => signServiceAccountToken({ audience: AUDIENCE, issuer: SA_ISSUER, ...spec }, saKeyPem, kid),
    writeToken: (name, token) => {
      const path = join(dir, name);
      writeFileSync(path, token);
      return path;
    },
    writeIssuer,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface RunningIdentity {
  fx: Fixture;
  server: IdentityServer;
  close(): Promise<void>;
}

/** A fixture and an identity service on loopback serving it, as the controller runs it. */
export async function startFixtureServer(overrides: Partial<IdentityOptions> = {}): Promise<RunningIdentity> {
  const fx = await makeFixture(overrides);
  const server = await startIdentityServer(fx.options, { log: silentLog, registry: newRegistry(), controllerNamespace: 'weft' });
  return {
    fx,
    server,
    close: async () => {
      await server.close();
      fx.cleanup();
    },
  };
}
