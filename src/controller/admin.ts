import { fastify, LogController } from 'fastify';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from '../log.ts';

export interface AdminAppOptions {
  log: Logger;
  registry: Registry;
  /** Names the first unmet readiness condition, or undefined when ready. */
  notReadyBecause: () => string | undefined;
}

/** Plain-HTTP admin listener: liveness, readiness and Prometheus metrics. */
export function buildAdminApp(options: AdminAppOptions): FastifyInstance {
  const app = fastify({ loggerInstance: options.log, logController: new LogController({ disableRequestLogging: true }), bodyLimit: 1024, connectionTimeout: 10_000 }) as unknown as FastifyInstance;
  app.get('/healthz', async (_request, reply) => reply.type('text/plain').send('ok\n'));
  app.get('/readyz', async (_request, reply) => {
    const reason = options.notReadyBecause();
    if (reason !== undefined) return reply.code(503).type('text/plain').send(`not ready: ${reason}\n`);
    return reply.type('text/plain').send('ready\n');
  });
  app.get('/metrics', async (_request, reply) => reply.type(options.registry.contentType).send(await options.registry.metrics()));
  return app;
}
