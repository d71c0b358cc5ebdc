import { randomUUID } from 'node:crypto';
import { fastify, LogController } from 'fastify';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { writeFlat } from '../log.ts';
import type { Logger } from '../log.ts';
import { parseAdmissionReview, ReviewError, serializeAdmissionResponse } from '../admission/review.ts';
import type { AdmissionRequest } from '../admission/types.ts';
import type { AdmissionMetrics } from './metrics.ts';
import { reviewConfigObject, reviewPod } from './webhooks.ts';
import type { InjectWebhookDeps, ValidateWebhookDeps, WebhookOutcome } from './webhooks.ts';

/** The API server caps a request at 3 MiB of object; 7 MiB leaves room for oldObject on UPDATE. */
export const ADMISSION_BODY_LIMIT = 7 * 1024 * 1024;

export interface AdmissionAppOptions {
  log: Logger;
  metrics: AdmissionMetrics;
  inject: Omit<InjectWebhookDeps, 'metrics'>;
  validate: Omit<ValidateWebhookDeps, 'metrics'>;
  /** Serve HTTPS (HTTP/2 with HTTP/1.1 fallback); without it the app serves plain HTTP (tests, benchmarks' baseline). */
  tls?: { cert: Buffer; key: Buffer; minVersion: 'TLSv1.2' | 'TLSv1.3' };
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** The one log line per admission (a type rather than an interface, so that it is a FlatFields). */
type AdmissionLogLine = {
  webhook: string;
  uid: string;
  namespace: string | undefined;
  kind: string;
  name: string | undefined;
  operation: string;
  decision: string;
  latencyMs: number;
  dryRun?: true;
  reason?: string;
  detail?: string;
  allowed?: false;
  warnings?: number;
};

type Review = (request: AdmissionRequest) => Promise<WebhookOutcome> | WebhookOutcome;

/** The admission app: /inject and /validate, over HTTPS with HTTP/2 when `tls` is given. */
export function buildAdmissionApp(options: AdmissionAppOptions): FastifyInstance {
  const common = {
    loggerInstance: options.log,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: ADMISSION_BODY_LIMIT,
    genReqId: (request: { headers: Record<string, string | string[] | undefined> }) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && given.length > 0 && given.length <= 128 ? given : randomUUID();
    },
    // Slow or stuck clients must not pin sockets forever.
    connectionTimeout: 30_000,
    keepAliveTimeout: 75_000,
    return503OnClosing: true,
  };
  const app = (options.tls
    ? fastify({
        ...common,
        http2: true,
        http2SessionTimeout: 75_000,
        https: { allowHTTP1: true, cert: options.tls.cert, key: options.tls.key, minVersion: options.tls.minVersion },
      })
    : fastify(common)) as unknown as FastifyInstance;

  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const statusCode = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
    if (statusCode >= 500) request.log.error({ err: error }, 'admission request failed');
    const message = statusCode === 413 ? `request body is larger than ${ADMISSION_BODY_LIMIT} bytes` : error.message;
    void reply.code(statusCode).send({ error: httpReason(statusCode), message });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ error: 'Not Found', message: `no route for ${request.method} ${request.url}; admission is served on POST /inject and POST /validate` });
  });

  const metrics = options.metrics;
  const route = (webhook: 'inject' | 'validate', review: Review) => async (request: FastifyRequest, reply: FastifyReply) => {
    // performance.now is as monotonic as hrtime.bigint, without two BigInts per review.
    const started = performance.now();
    let parsed;
    try {
      parsed = parseAdmissionReview(request.body);
    } catch (error) {
      if (error instanceof ReviewError) {
        metrics.admitted(webhook, '', '', false, 'bad_request');
        return reply.code(error.statusCode).send({ error: httpReason(error.statusCode), message: error.message });
      }
      throw error;
    }
    const admission = parsed.request;
    const outcome = await review(admission);
    const body = serializeAdmissionResponse(parsed.apiVersion, admission.uid, outcome.decision);
    const seconds = (performance.now() - started) / 1e3;
    metrics.admitted(webhook, admission.kind.kind, admission.operation, admission.dryRun, outcome.result, seconds);
    const meta = admission.object?.metadata;
    // Fields that are usually empty are only written when set: pino's cost grows with every
    // field, and this line is written for every admission.
    const line: AdmissionLogLine = {
      webhook,
      uid: admission.uid,
      namespace: admission.namespace ?? meta?.namespace,
      kind: admission.kind.kind,
      name: admission.name ?? meta?.name ?? (meta?.generateName !== undefined ? `${meta.generateName}*` : undefined),
      operation: admission.operation,
      decision: outcome.result,
      latencyMs: Math.round(seconds * 1e6) / 1e3,
    };
    if (admission.dryRun) line.dryRun = true;
    if (outcome.reason !== undefined) line.reason = outcome.reason;
    if (outcome.detail !== undefined) line.detail = outcome.detail;
    if (!outcome.decision.allowed) line.allowed = false;
    if (outcome.decision.warnings !== undefined && outcome.decision.warnings.length > 0) line.warnings = outcome.decision.warnings.length;
    writeFlat(request.log, outcome.result === 'error' ? 'error' : 'info', line, 'admission');
    // Already JSON: with the type set, Fastify sends the text as it is.
    return reply.type(JSON_TYPE).send(body);
  };

  const injectDeps = { ...options.inject, metrics };
  const validateDeps = { ...options.validate, metrics };
  app.post('/inject', route('inject', (request) => reviewPod(request, injectDeps)));
  app.post('/validate', route('validate', (request) => reviewConfigObject(request, validateDeps)));
  return app;
}

function httpReason(code: number): string {
  switch (code) {
    case 400: return 'Bad Request';
    case 404: return 'Not Found';
    case 413: return 'Payload Too Large';
    case 415: return 'Unsupported Media Type';
    case 503: return 'Service Unavailable';
    default: return code >= 500 ? 'Internal Server Error' : 'Error';
  }
}
