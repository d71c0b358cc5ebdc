// The proxy's side of identity: a key that never leaves memory (or the pod's emptyDir), a CSR
// sent with the pod's projected token, renewal at ~70% of the certificate's life, and metrics
// that say when that is going wrong. It runs inside every proxy, so it loads neither pino,
// prom-client nor @peculiar/x509 (together ~50 MB of RSS): it logs and counts through the small
// interfaces below, which the proxy's own logger and metrics satisfy (as do pino and, through
// prom-metrics.ts, a prom-client Registry), and writes its CSR with pkcs10.ts.
import { request as httpsRequest } from 'node:https';
import { X509Certificate } from 'node:crypto';
import { readFile, writeFile, rename, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import { generateKey, type GeneratedKey, type KeyType } from './keys.ts';
import { createCsrPem } from './pkcs10.ts';
import { IDENTITY_CLIENT_METRICS, type MetricsSink } from './metrics-sink.ts';
import { pemBlocks, joinPem } from './pem.ts';
import { renewalTime, nextAttemptDelay, DEFAULT_RENEW_FRACTION, DEFAULT_BACKOFF, type BackoffPolicy } from './renewal.ts';
import type { CertifyResponse } from './certify.ts';
import { identityServerName } from './names.ts';

const IDENTITY_INFIX = '.serviceaccount.identity.';

/** The identity service's mesh name, from a proxy's own DNS identity (both share controller namespace and trust domain). */
export function identityServerNameFor(localName: string): string | undefined {
  const at = localName.indexOf(IDENTITY_INFIX);
  if (at < 0) return undefined;
  const rest = localName.slice(at + IDENTITY_INFIX.length);
  const dot = rest.indexOf('.');
  if (dot <= 0 || dot === rest.length - 1) return undefined;
  return identityServerName(rest.slice(0, dot), rest.slice(dot + 1));
}

type LogFn = (fields: object, msg?: string) => void;

/** What the client needs of a logger: src/proxy/log.ts's, or a pino Logger. */
export interface IdentityLogger {
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child(bindings: Record<string, unknown>): IdentityLogger;
}

export interface IdentityClientOptions {
  /** Base URL of the identity service, e.g. https://weft-identity.weft.svc:8080 */
  url: string;
  /** The projected service-account token; re-read on every request because the kubelet rotates it. */
  tokenFile: string;
  trustAnchorsPem: string;
  /** When set, key.pem and cert.pem (leaf + chain) are written here, e.g. an emptyDir. */
  identityDir?: string;
  log: IdentityLogger;
  /** Where identity_cert_* go: the proxy's own metrics (src/proxy/metrics.ts). */
  metrics?: MetricsSink;
  /** Or a prom-client Registry, for callers that have one; prom-client is then loaded with the first request. */
  registry?: Registry;
  /**
   * TLS name the identity service must present. Default: derived from `localName`
   * (`weft-identity.<controller-ns>.serviceaccount.identity.<controller-ns>.<trust-domain>`), else
   * the URL's host.
   */
  expectedServerName?: string;
  /** The DNS identity this proxy expects (put in the CSR and checked in the answer). */
  localName?: string;
  keyType?: KeyType;
  renewFraction?: number;
  backoff?: BackoffPolicy;
  requestTimeoutMs?: number;
}

export interface CurrentCertificate {
  keyPem: string;
  /** Leaf followed by its issuer chain: pass as `cert` to tls. */
  certChainPem: string;
  trustAnchorsPem: string;
  notBefore: Date;
  notAfter: Date;
  /** The SPIFFE ID in the certificate. */
  identity: string;
  dnsName: string;
}

export class IdentityRequestError extends Error {
  override name = 'IdentityRequestError';
  readonly status: number | undefined;
  readonly code: string | undefined;
  constructor(message: string, status?: number, code?: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

interface ClientMetrics {
  expiry: { set(value: number): void };
  failures: { inc(): void };
  refreshes: { inc(): void };
}

function metricsFor(sink: MetricsSink): ClientMetrics {
  const { expiry, failures, refreshes } = IDENTITY_CLIENT_METRICS;
  return { expiry: sink.gauge(expiry.name, expiry.help), failures: sink.counter(failures.name, failures.help), refreshes: sink.counter(refreshes.name, refreshes.help) };
}

const NO_METRICS: ClientMetrics = { expiry: { set: () => {} }, failures: { inc: () => {} }, refreshes: { inc: () => {} } };

/** Checks an answer before it is used: our key, our name, and a chain up to a trust anchor. */
export function validateIssued(response: CertifyResponse, opts: { key: GeneratedKey; trustAnchorsPem: string; localName?: string; now?: Date }): CurrentCertificate {
  if (typeof response.certificate !== 'string' || !Array.isArray(response.chain)) throw new IdentityRequestError('identity service answer lacks certificate/chain');
  const leaf = new X509Certificate(response.certificate);
  const chain = response.chain.map((pem) => new X509Certificate(pem));
  const anchors = pemBlocks(opts.trustAnchorsPem).map((pem) => new X509Certificate(pem));
  if (!leaf.checkPrivateKey(opts.key.privateKey)) throw new IdentityRequestError('issued certificate is not for our key');
  const path = [leaf, ...chain];
  for (let i = 0; i + 1 < path.length; i++) {
    if (!path[i]!.verify(path[i + 1]!.publicKey)) throw new IdentityRequestError(`issued chain is broken at certificate ${i}`);
  }
  const top = path[path.length - 1]!;
  if (!anchors.some((anchor) => anchor.fingerprint256 === top.fingerprint256 || (top.checkIssued(anchor) && top.verify(anchor.publicKey)))) {
    throw new IdentityRequestError('issued certificate does not chain to our trust anchors');
  }
  const now = opts.now ?? new Date();
  const notBefore = new Date(leaf.validFrom);
  const notAfter = new Date(leaf.validTo);
  if (notAfter <= now) throw new IdentityRequestError('issued certificate has already expired');
  const uri = /URI:(spiffe:\/\/[^,\s]+)/.exec(leaf.subjectAltName ?? '')?.[1];
  const dns = /DNS:([^,\s]+)/.exec(leaf.subjectAltName ?? '')?.[1];
  if (uri === undefined || dns === undefined) throw new IdentityRequestError('issued certificate lacks the SPIFFE URI or DNS identity');
  if (opts.localName !== undefined && dns !== opts.localName) throw new IdentityRequestError(`issued certificate is for "${dns}", expected "${opts.localName}"`);
  return {
    keyPem: opts.key.keyPem,
    certChainPem: joinPem([response.certificate, ...response.chain]),
    trustAnchorsPem: opts.trustAnchorsPem,
    notBefore,
    notAfter,
    identity: uri,
    dnsName: dns,
  };
}

export class IdentityClient {
  readonly #options: IdentityClientOptions;
  readonly #log: IdentityLogger;
  #metrics: ClientMetrics | undefined;
  readonly #listeners = new Set<(cert: CurrentCertificate) => void>();
  #key: GeneratedKey | undefined;
  #csrPem: string | undefined;
  #current: CurrentCertificate | undefined;
  #timer: NodeJS.Timeout | undefined;
  #failures = 0;
  #stopped = false;
  #running = false;
  #inflight: (() => void) | undefined;
  #firstWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];

  constructor(options: IdentityClientOptions) {
    this.#options = options;
    this.#log = options.log.child({ component: 'identity-client' });
    if (options.metrics !== undefined) this.#metrics = metricsFor(options.metrics);
    else if (options.registry === undefined) this.#metrics = NO_METRICS;
  }

  /** Resolves once the first certificate is in hand; keeps retrying (with backoff) until then or stop(). */
  async start(): Promise<void> {
    if (this.#stopped) throw new Error('identity client was stopped');
    await this.#ensureKey();
    if (this.#current) return;
    const first = new Promise<void>((resolve, reject) => this.#firstWaiters.push({ resolve, reject }));
    if (!this.#running) {
      this.#running = true;
      void this.#attempt();
    }
    return first;
  }

  current(): CurrentCertificate | undefined {
    return this.#current;
  }

  /** True while a certificate is held and not expired: the proxy's readiness. */
  ready(now: Date = new Date()): boolean {
    return this.#current !== undefined && this.#current.notAfter > now;
  }

  /** Called after every new certificate (the first one included). Returns an unsubscribe function. */
  onRotate(listener: (cert: CurrentCertificate) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Renews now (tests, or an operator poke via the admin port). */
  async refresh(): Promise<CurrentCertificate> {
    await this.#ensureKey();
    return this.#fetch();
  }

  // One key per proxy lifetime, as Linkerd does: renewals re-send the same CSR with a fresh token.
  async #ensureKey(): Promise<void> {
    if (this.#metrics === undefined && this.#options.registry !== undefined) {
      const { registrySink } = await import('./prom-metrics.ts');
      this.#metrics ??= metricsFor(registrySink(this.#options.registry));
    }
    this.#key ??= await generateKey(this.#options.keyType ?? 'ecdsa-p256');
    this.#csrPem ??= createCsrPem(this.#key, this.#options.localName !== undefined ? { dnsName: this.#options.localName } : {});
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#inflight?.();
    for (const waiter of this.#firstWaiters.splice(0)) waiter.reject(new Error('identity client stopped before obtaining a certificate'));
  }

  async #attempt(): Promise<void> {
    this.#timer = undefined;
    if (this.#stopped) return;
    try {
      await this.#fetch();
    } catch (error) {
      if (this.#stopped) return;
      this.#failures++;
      this.#metrics?.failures.inc();
      const delay = nextAttemptDelay({
        now: Date.now(),
        failures: this.#failures,
        policy: this.#options.backoff ?? DEFAULT_BACKOFF,
        ...(this.#current ? { notAfter: this.#current.notAfter.getTime() } : {}),
      });
      const status = error instanceof IdentityRequestError ? error.status : undefined;
      this.#log.warn({ err: error, status, failures: this.#failures, retryInMs: delay, expiresAt: this.#current?.notAfter.toISOString() }, 'identity certificate request failed');
      this.#schedule(delay);
      return;
    }
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#attempt(), delayMs);
    this.#timer.unref();
  }

  async #fetch(): Promise<CurrentCertificate> {
    const token = (await readFile(this.#options.tokenFile, 'utf8')).trim();
    const response = await this.#post(token, this.#csrPem!);
    const cert = validateIssued(response, {
      key: this.#key!,
      trustAnchorsPem: this.#options.trustAnchorsPem,
      ...(this.#options.localName !== undefined ? { localName: this.#options.localName } : {}),
    });
    if (this.#stopped) return cert;
    this.#current = cert;
    this.#failures = 0;
    this.#metrics?.refreshes.inc();
    this.#metrics?.expiry.set(cert.notAfter.getTime() / 1000);
    if (this.#options.identityDir !== undefined) {
      // The in-memory certificate is what the proxy serves with; a full or read-only emptyDir must not cost it that.
      await this.#persist(cert).catch((error: unknown) => this.#log.error({ err: error, dir: this.#options.identityDir }, 'could not write the identity files; keeping the certificate in memory only'));
    }
    // From now, not notBefore: the issuer back-dates notBefore for clock skew, which would pull renewal into the past for short lifetimes.
    // A little spread (±5% of the lifetime) so pods started together do not all renew in the same second.
    const fraction = (this.#options.renewFraction ?? DEFAULT_RENEW_FRACTION) + (Math.random() - 0.5) * 0.1;
    const renewAt = renewalTime(new Date(Math.max(cert.notBefore.getTime(), Date.now())), cert.notAfter, Math.min(0.9, Math.max(0.1, fraction)));
    this.#schedule(nextAttemptDelay({ now: Date.now(), failures: 0, renewAt }));
    this.#log.info({ identity: cert.identity, expiresAt: cert.notAfter.toISOString(), renewAt: new Date(renewAt).toISOString() }, 'identity certificate obtained');
    for (const waiter of this.#firstWaiters.splice(0)) waiter.resolve();
    for (const listener of this.#listeners) {
      try {
        listener(cert);
      } catch (error) {
        this.#log.error({ err: error }, 'identity rotation listener failed');
      }
    }
    return cert;
  }

  async #persist(cert: CurrentCertificate): Promise<void> {
    const dir = this.#options.identityDir!;
    await mkdir(dir, { recursive: true });
    // Rename over the old files so a reader never sees a key from one issuance and a cert from another half-written.
    for (const [name, content, mode] of [
      ['key.pem', cert.keyPem, 0o600],
      ['cert.pem', cert.certChainPem, 0o644],
    ] as const) {
      const tmp = join(dir, `.${name}.tmp`);
      await writeFile(tmp, content, { mode });
      await rename(tmp, join(dir, name));
    }
  }

  #post(token: string, csrPem: string): Promise<CertifyResponse> {
    const url = new URL('/v1/certify', this.#options.url);
    const body = JSON.stringify({ csr: csrPem });
    const servername = this.#options.expectedServerName ?? (this.#options.localName !== undefined ? identityServerNameFor(this.#options.localName) : undefined);
    return new Promise<CertifyResponse>((resolve, reject) => {
      const req = httpsRequest(
        url,
        {
          method: 'POST',
          ca: this.#options.trustAnchorsPem,
          ...(servername !== undefined ? { servername } : {}),
          minVersion: 'TLSv1.2',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
          timeout: this.#options.requestTimeoutMs ?? 10_000,
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > 256 * 1024) req.destroy(new IdentityRequestError('identity service answer too large'));
            else chunks.push(chunk);
          });
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown;
            try {
              parsed = JSON.parse(text);
            } catch {
              reject(new IdentityRequestError(`identity service answered HTTP ${res.statusCode} with non-JSON`, res.statusCode));
              return;
            }
            if (res.statusCode !== 200) {
              const err = parsed as { error?: string; message?: string };
              reject(new IdentityRequestError(`identity service refused (HTTP ${res.statusCode} ${err.error ?? ''}): ${err.message ?? text}`, res.statusCode, err.error));
              return;
            }
            resolve(parsed as CertifyResponse);
          });
          res.on('error', reject);
        },
      );
      this.#inflight = () => req.destroy(new Error('identity client stopped'));
      req.on('timeout', () => req.destroy(new IdentityRequestError('identity request timed out')));
      req.on('error', reject);
      req.on('close', () => {
        this.#inflight = undefined;
      });
      req.end(body);
    });
  }
}
