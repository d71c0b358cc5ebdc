import * as net from 'node:net';
import type { MetricsText } from './metrics.ts';

// The admin listener (4191): kubelet probes and Prometheus scrapes. Three fixed GET routes
// answered straight over node:net: loading node:http only for them would cost every pod
// ~8 MB of RSS. Each connection gets one response and is closed (Connection: close), which
// probes and scrapers handle as a matter of course, so there is no keep-alive, no pipelining
// and no request body to follow.

export interface AdminOptions {
  metrics: readonly MetricsText[];
  ready(): { ok: boolean; reason?: string };
  /** How long a client may take to send its request head. */
  headTimeoutMs?: number;
}

export interface AdminServer {
  readonly server: net.Server;
  /** Stops accepting and closes every open admin connection. */
  close(): Promise<void>;
}

const MAX_HEAD = 8 * 1024;
const REASONS: Record<number, string> = { 200: 'OK', 400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed', 431: 'Request Header Fields Too Large', 500: 'Internal Server Error', 503: 'Service Unavailable' };

export interface AdminResponse {
  status: number;
  contentType: string;
  body: string;
  headers?: Record<string, string>;
}

type Route = (options: AdminOptions) => AdminResponse | Promise<AdminResponse>;

const text = (status: number, body: string): AdminResponse => ({ status, contentType: 'text/plain', body });

const ROUTES: Record<string, Route> = {
  '/live': () => text(200, 'live\n'),
  '/ready': (o) => {
    const state = o.ready();
    return state.ok ? text(200, 'ready\n') : text(503, `not ready: ${state.reason ?? 'unknown'}\n`);
  },
  '/metrics': async (o) => {
    const parts = await Promise.all(o.metrics.map((m) => m.metrics()));
    return { status: 200, contentType: 'text/plain; version=0.0.4; charset=utf-8', body: parts.map((p) => (p.endsWith('\n') || p === '' ? p : `${p}\n`)).join('') };
  },
};

/** What a request head asks for: pure, so the rules are tested without sockets. */
export function parseAdminRequest(head: string): { method: string; path: string } | undefined {
  const line = head.slice(0, head.indexOf('\r\n') === -1 ? head.length : head.indexOf('\r\n'));
  const m = /^([A-Z]{1,16}) (\S+) HTTP\/1\.[01]$/.exec(line);
  if (m === null) return undefined;
  const q = m[2].indexOf('?');
  return { method: m[1], path: q === -1 ? m[2] : m[2].slice(0, q) };
}

/** The response to a parsed request (undefined: malformed). */
export async function answerAdmin(options: AdminOptions, request: { method: string; path: string } | undefined): Promise<AdminResponse> {
  if (request === undefined) return text(400, 'bad request\n');
  if (request.method !== 'GET' && request.method !== 'HEAD') return { ...text(405, 'method not allowed\n'), headers: { allow: 'GET, HEAD' } };
  const route = Object.hasOwn(ROUTES, request.path) ? ROUTES[request.path] : undefined;
  if (route === undefined) return text(404, 'not found\n');
  try {
    return await route(options);
  } catch (error) {
    return text(500, `${(error as Error).message}\n`);
  }
}

function write(socket: net.Socket, method: string, r: AdminResponse): void {
  const body = Buffer.from(r.body, 'utf8');
  let head = `HTTP/1.1 ${r.status} ${REASONS[r.status] ?? ''}\r\ncontent-type: ${r.contentType}\r\ncontent-length: ${body.length}\r\nconnection: close\r\n`;
  for (const [k, v] of Object.entries(r.headers ?? {})) head += `${k}: ${v}\r\n`;
  socket.end(method === 'HEAD' ? `${head}\r\n` : Buffer.concat([Buffer.from(`${head}\r\n`, 'latin1'), body]));
}

export function createAdminServer(options: AdminOptions): AdminServer {
  const open = new Set<net.Socket>();
  // Half-open allowed so that a client that sends its request and then FIN still gets the answer.
  const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => {});
    socket.setTimeout(options.headTimeoutMs ?? 10_000, () => socket.destroy());
    let head = '';
    const onData = (chunk: Buffer): void => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end === -1 && head.length <= MAX_HEAD) return;
      socket.off('data', onData);
      socket.setTimeout(0);
      if (end === -1) {
        write(socket, 'GET', text(431, 'request head too large\n'));
        return;
      }
      const request = parseAdminRequest(head);
      // Whatever follows the head (a body, a pipelined request) is read and dropped: the
      // connection closes after this one answer.
      socket.resume();
      void answerAdmin(options, request).then((r) => {
        if (!socket.destroyed) write(socket, request?.method ?? 'GET', r);
      });
    };
    socket.on('data', onData);
    socket.on('end', () => {
      if (socket.listenerCount('data') > 0 && head.indexOf('\r\n\r\n') === -1) socket.destroy();
    });
  });
  return {
    server,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        for (const s of open) s.destroy();
      }),
  };
}
