import * as http from 'node:http';
import type { Registry } from 'prom-client';

// The admin listener (4191): kubelet probes and Prometheus scrapes. node:http rather than
// Fastify: three fixed routes do not need a framework in every pod.

export interface AdminOptions {
  registry: Registry;
  ready(): { ok: boolean; reason?: string };
}

export function createAdminServer(options: AdminOptions): http.Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/live') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('live\n');
    } else if (path === '/ready') {
      const state = options.ready();
      res.writeHead(state.ok ? 200 : 503, { 'content-type': 'text/plain' }).end(state.ok ? 'ready\n' : `not ready: ${state.reason ?? 'unknown'}\n`);
    } else if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': options.registry.contentType }).end(text),
        (error: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${error.message}\n`),
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
}
