// The identity service: its own HTTPS listener on the controller.
//
// Wire protocol (v1):
//   POST /v1/certify
//   Authorization: Bearer <projected service-account token, audience --identity-audience>
//   Content-Type: application/json
//   {"csr": "<PEM PKCS#10 request>"}
// 200 -> {"certificate": PEM, "chain": [PEM...], "expiresAt": RFC 3339, "identity": spiffe id, "dnsName": ...}
// errors -> {"error": code, "message": text} with
//   400 malformed body or CSR (bad signature, weak key)   401 token missing/invalid/expired/wrong audience
//   403 CSR asks for another identity                     413 body too large     415 not JSON
//   429 too many requests from one address (Retry-After)   503 not ready / TokenReview unreachable
// The endpoint presents a certificate from the mesh issuer for
// `weft-identity.<controller-ns>.serviceaccount.identity.<controller-ns>.<trust-domain>`, so proxies
// verify it against the trust anchors they already hold, as Linkerd's proxies do.
import Fastify, { LogController, type FastifyInstance, type FastifyError, type FastifyBaseLogger } from 'fastify';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { KubeClient } from '../kube/client.ts';
import type { Logger } from '../log.ts';
import type { IdentityOptions } from './config.ts';
import { certify, bearerToken, csrFromBody, CertifyError, type CertifyErrorBody } from './certify.ts';
import { loadIssuerMaterial, type IssuerMaterial } from './issuer-source.ts';
import { mintServingCertificate, type MintedIdentity } from './ca.ts';
import { identityServerName, IDENTITY_SERVICE_ACCOUNT } from './names.ts';
import { JwksAuthenticator, keysFromJwks, type TokenAuthenticator } from './tokens.ts';
import { TokenReviewAuthenticator, tokenReviewCallFromClient } from './token-review.ts';
import { RateLimiter } from './rate-limit.ts';

export interface IdentityServerDeps {
  log: Logger;
  registry: Registry;
  controllerNamespace: string;
  /** The API server connection TokenReviews go through. */
  kube?: KubeClient;
  /** Overrides the authenticator choice (tests of TokenReview against a fake API server use this). */
  authenticator?: TokenAuthenticator;
  /**
   * Serves `GET /v1/discovery` (which pod IPs are meshed, with which identity) on this
   * listener, so proxies read it over the same mesh-issued TLS they already verify.
   */
  discovery?: () => unknown;
}

export interface IdentityServer {
  address: string;
  port: number;
  /** The name the serving certificate carries; clients pass it as the TLS server name. */
  serverName: string;
  ready(): boolean;
  /** Re-reads the issuer (and JWKS) now instead of waiting for the next poll. */
  reload(): Promise<void>;
  close(): Promise<void>;
}

interface Metrics {
  requests: Counter<'result'>;
  refusals: Counter<'reason'>;
  duration: Histogram;
  issuerExpiry: Gauge;
  reloads: Counter<'result'>;
}

function createMetrics(registry: Registry): Metrics {
  const registers = [registry];
  return {
    requests: new Counter({ name: 'identity_certify_requests_total', help: 'Certificate requests by result (issued, refused)', labelNames: ['result'], registers }),
    refusals: new Counter({ name: 'identity_certify_refusals_total', help: 'Refused certificate requests by reason', labelNames: ['reason'], registers }),
    duration: new Histogram({
      name: 'identity_certify_duration_seconds',
      help: 'Time to answer a certificate request, including token review',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    issuerExpiry: new Gauge({ name: 'identity_issuer_expiration_timestamp_seconds', help: 'notAfter of the issuer certificate in use, Unix seconds', registers }),
    reloads: new Counter({ name: 'identity_issuer_reloads_total', help: 'Issuer file reloads by result (success, failure)', labelNames: ['result'], registers }),
  };
}

async function chooseAuthenticator(options: IdentityOptions, deps: IdentityServerDeps): Promise<TokenAuthenticator> {
  if (deps.authenticator) return deps.authenticator;
  if (options.jwksFile !== undefined) {
    const keys = keysFromJwks(JSON.parse(await readFile(options.jwksFile, 'utf8')));
    return new JwksAuthenticator(keys, options.audience, options.tokenIssuer);
  }
  if (deps.kube) return new TokenReviewAuthenticator(tokenReviewCallFromClient(deps.kube), options.audience);
  throw new Error('identity service needs a way to check tokens: a Kubernetes connection (TokenReview) or --identity-jwks');
}

const MAX_INFLIGHT = 256;

function refusalBody(error: CertifyError): CertifyErrorBody {
  return { error: error.code, message: error.message };
}

export async function startIdentityServer(options: IdentityOptions, deps: IdentityServerDeps): Promise<IdentityServer> {
  const log = deps.log.child({ component: 'identity' });
  const metrics = createMetrics(deps.registry);
  const authenticator = await chooseAuthenticator(options, deps);
  const serverName = identityServerName(deps.controllerNamespace, options.trustDomain);
  const limiter = new RateLimiter({ perSecond: options.rateLimitPerSecond });
  // Per-address rates do not bound the whole: a restart of every pod at once arrives from many
  // addresses. Beyond this many requests in progress, callers are told to come back shortly.
  const maxInflight = options.maxInflight ?? MAX_INFLIGHT;
  let inflight = 0;

  let material: IssuerMaterial = await loadIssuerMaterial(options.issuerDir, options.trustAnchorsFile);
  metrics.issuerExpiry.set(material.notAfter.getTime() / 1000);
  let jwksText = options.jwksFile !== undefined ? await readFile(options.jwksFile, 'utf8') : undefined;
  const ns = deps.controllerNamespace;
  const servingNames = [...new Set([serverName, ...(options.servingDnsNames ?? [`${IDENTITY_SERVICE_ACCOUNT}.${ns}.svc`, `${IDENTITY_SERVICE_ACCOUNT}.${ns}.svc.cluster.local`])])];
  const mintServing = (m: IssuerMaterial): Promise<MintedIdentity> => mintServingCertificate(m.issuer, { dnsNames: servingNames }, { lifetimeMs: options.certLifetimeMs });
  let serving = await mintServing(material);
  let servingIssuedAt = Date.now();
  log.info({ authenticator: authenticator.kind, issuerExpiresAt: material.notAfter.toISOString(), serverName }, 'identity issuer loaded');

  const app: FastifyInstance<HttpsServer> = Fastify({
    https: { key: serving.keyPem, cert: serving.chainPem, minVersion: 'TLSv1.2' },
    bodyLimit: options.maxBodyBytes,
    loggerInstance: log,
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => randomUUID(),
    connectionTimeout: 10_000,
    requestTimeout: 15_000,
  }) as unknown as FastifyInstance<HttpsServer>;

  const refuse = (error: CertifyError, request: { log: FastifyBaseLogger; ip: string }): CertifyErrorBody => {
    metrics.requests.inc({ result: 'refused' });
    metrics.refusals.inc({ reason: error.code });
    request.log.warn({ reason: error.code, status: error.status, client: request.ip }, `certificate refused: ${error.message}`);
    return refusalBody(error);
  };

  // JSON only: Fastify's default text/plain parser would turn a wrong content type into a confusing 400.
  app.removeContentTypeParser(['text/plain']);

  // Before the body is read, so a flood costs us a bucket lookup, not JSON parsing.
  app.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/v1/certify')) return;
    if (!limiter.take(request.ip)) {
      const error = new CertifyError(429, 'rate_limited', `too many certificate requests from ${request.ip}; retry later`);
      return reply.code(429).header('retry-after', String(limiter.retryAfterSeconds(request.ip))).send(refuse(error, request));
    }
    if (inflight >= maxInflight) {
      const error = new CertifyError(503, 'overloaded', `identity service is busy (${maxInflight} requests in progress); retry shortly`);
      return reply.code(503).header('retry-after', '1').send(refuse(error, request));
    }
    inflight++;
    let released = false;
    const release = (): void => {
      if (!released) {
        released = true;
        inflight--;
      }
    };
    reply.raw.once('finish', release);
    reply.raw.once('close', release);
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500;
    const mapped =
      status === 413
        ? new CertifyError(413, 'payload_too_large', `request body larger than ${options.maxBodyBytes} bytes`)
        : status === 415
          ? new CertifyError(415, 'unsupported_media_type', 'request body must be application/json')
          : status === 400
            ? new CertifyError(400, 'bad_request', `request body is not valid JSON: ${error.message}`)
            : new CertifyError(500, 'internal', 'internal error');
    if (mapped.status === 500) request.log.error({ err: error }, 'identity request failed');
    return reply.code(mapped.status).send(refuse(mapped, request));
  });

  app.post('/v1/certify', async (request, reply) => {
    const started = performance.now();
    try {
      if (!ready()) throw new CertifyError(503, 'not_ready', 'identity issuer is not valid; retry later');
      const token = bearerToken(request.headers.authorization);
      const csrPem = csrFromBody(request.body);
      const response = await certify({ token, csrPem }, {
        authenticator,
        issuer: material.issuer,
        trustDomain: options.trustDomain,
        controllerNamespace: deps.controllerNamespace,
        lifetimeMs: options.certLifetimeMs,
      });
      metrics.requests.inc({ result: 'issued' });
      request.log.info({ identity: response.identity, expiresAt: response.expiresAt }, 'certificate issued');
      return reply.code(200).send(response);
    } catch (error) {
      if (!(error instanceof CertifyError)) throw error;
      if (error.status === 401) reply.header('www-authenticate', 'Bearer');
      return reply.code(error.status).send(refuse(error, request));
    } finally {
      metrics.duration.observe((performance.now() - started) / 1000);
    }
  });

  app.get('/ready', async (_request, reply) => reply.code(ready() ? 200 : 503).send({ ready: ready() }));

  const discovery = deps.discovery;
  if (discovery !== undefined) {
    app.get('/v1/discovery', async (_request, reply) => reply.header('cache-control', 'no-store').send(discovery()));
  }

  function ready(): boolean {
    return listening && material.notAfter.getTime() > Date.now();
  }

  let reloading: Promise<void> | undefined;
  async function reloadOnce(): Promise<void> {
    try {
      const next = await loadIssuerMaterial(options.issuerDir, options.trustAnchorsFile);
      const issuerChanged = next.fingerprint !== material.fingerprint;
      if (issuerChanged) {
        material = next;
        metrics.issuerExpiry.set(next.notAfter.getTime() / 1000);
        metrics.reloads.inc({ result: 'success' });
        log.info({ issuerExpiresAt: next.notAfter.toISOString() }, 'identity issuer reloaded');
      }
      // The serving certificate follows the issuer, and is renewed half-way through its life.
      if (issuerChanged || Date.now() - servingIssuedAt > (serving.notAfter.getTime() - servingIssuedAt) / 2) {
        serving = await mintServing(material);
        servingIssuedAt = Date.now();
        app.server.setSecureContext({ key: serving.keyPem, cert: serving.chainPem, minVersion: 'TLSv1.2' });
      }
    } catch (error) {
      metrics.reloads.inc({ result: 'failure' });
      log.error({ err: error }, 'identity issuer reload failed; keeping the previous issuer');
    }
    if (options.jwksFile !== undefined && authenticator instanceof JwksAuthenticator) {
      try {
        const text = await readFile(options.jwksFile, 'utf8');
        if (text !== jwksText) {
          authenticator.setKeys(keysFromJwks(JSON.parse(text)));
          jwksText = text;
          log.info('identity JWKS reloaded');
        }
      } catch (error) {
        log.error({ err: error }, 'identity JWKS reload failed; keeping the previous keys');
      }
    }
  }
  const reload = (): Promise<void> => {
    reloading ??= reloadOnce().finally(() => {
      reloading = undefined;
    });
    return reloading;
  };

  let listening = false;
  await app.listen({ port: options.port, host: options.address });
  listening = true;
  const timer = setInterval(() => {
    limiter.prune();
    void reload();
  }, options.reloadIntervalMs);
  timer.unref();
  const bound = app.server.address() as AddressInfo;
  log.info({ address: bound.address, port: bound.port }, 'identity service listening');

  return {
    address: bound.address,
    port: bound.port,
    serverName,
    ready,
    reload,
    async close() {
      clearInterval(timer);
      listening = false;
      await reloading;
      await app.close();
    },
  };
}
