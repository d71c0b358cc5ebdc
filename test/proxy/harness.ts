import * as net from 'node:net';
import * as http from 'node:http';
import { pino } from 'pino';
import { startProxy, type ProxyOptions, type RunningProxy } from '../../src/proxy/proxy.ts';
import { fixedCredentials, type Credentials, type CredentialSource } from '../../src/proxy/credentials.ts';
import { parsePortList, NO_PORTS } from '../../src/proxy/ports.ts';
import type { DefaultInboundPolicy } from '../../src/proxy/policy.ts';
import type { MetricsText } from '../../src/proxy/metrics.ts';

// Runs real proxies on loopback. Without iptables there is no SO_ORIGINAL_DST, so tests say
// where a connection "was going": outbound connections to pretend pod IPs (10.x) are rerouted
// to the peer proxy's inbound listener, and the inbound side forwards to a fixed app port.

export const silent = pino({ level: 'silent' });

export interface TestProxy {
  proxy: RunningProxy;
  /** The proxy's /metrics text, as Prometheus would scrape it. */
  registry: MetricsText;
}

export async function runProxy(opts: {
  credentials?: Credentials | CredentialSource;
  /** pretend pod IP -> identity */
  mesh?: Record<string, string>;
  /** pretend pod IP -> real loopback port to dial instead */
  routes?: Record<string, number>;
  /** what the app connected to (outbound) or which app port inbound forwards to */
  destination?: () => { address: string; port: number } | undefined;
  requireIdentity?: string;
  opaque?: string;
  policy?: DefaultInboundPolicy;
  admin?: boolean;
  podIps?: string[];
  pool?: { maxPerPeer: number; idleMs: number };
}): Promise<TestProxy> {
  const creds = opts.credentials === undefined ? undefined : 'current' in opts.credentials ? opts.credentials : fixedCredentials(opts.credentials);
  const none: CredentialSource = { current: () => undefined, onRotate: () => {}, stop: () => {} };
  const mesh = opts.mesh ?? {};
  const routes = opts.routes ?? {};
  const options: ProxyOptions = {
    inbound: { host: '127.0.0.1', port: 0 },
    outbound: { host: '127.0.0.1', port: 0 },
    ...(opts.admin ? { admin: { host: '127.0.0.1', port: 0 } } : {}),
    credentials: creds ?? none,
    discovery: { lookup: (ip) => mesh[ip] },
    ...(opts.podIps ? { podIps: opts.podIps } : {}),
    originalDestination: () => opts.destination?.(),
    dial: (d) => ({ host: routes[d.address] !== undefined ? '127.0.0.1' : d.address, port: routes[d.address] ?? d.port }),
    policy: { defaultPolicy: opts.policy ?? 'all-unauthenticated', requireIdentityPorts: opts.requireIdentity ? parsePortList(opts.requireIdentity) : NO_PORTS },
    opaquePorts: opts.opaque ? parsePortList(opts.opaque) : NO_PORTS,
    detectTimeoutMs: 200,
    ...(opts.pool ? { pool: opts.pool } : {}),
    log: silent,
  };
  const proxy = await startProxy(options);
  return { proxy, registry: proxy.metrics };
}

export function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

/** An HTTP app answering every request with a fixed body and the request's method and path. */
export async function httpApp(): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = req.url?.startsWith('/status/') ? Number(req.url.slice(8)) : 200;
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(`${req.method} ${req.url} ${Buffer.concat(chunks).length}\n`);
    });
  });
  return { server, port: await listen(server) };
}

export function get(port: number, path: string, agent?: http.Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: agent ?? false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** Sends `data`, half-closes, and collects everything until the other side ends or fails. */
export function exchange(port: number, data: Buffer | string): Promise<{ received: Buffer; error?: string }> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (e: NodeJS.ErrnoException) => resolve({ received: Buffer.concat(chunks), error: e.code ?? e.message }));
    socket.on('end', () => {
      socket.end();
      resolve({ received: Buffer.concat(chunks) });
    });
    socket.on('connect', () => socket.end(data));
  });
}

/** A TCP app that echoes what it gets and ends its side when the client ends its own. */
export async function echoApp(): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  return { server, port: await listen(server) };
}

/** Sums the samples of `name` (a histogram's `name_count`) whose labels include `labels`, read from the exposition text. */
export async function metricValue(registry: MetricsText, name: string, labels: Record<string, string>): Promise<number> {
  let total = 0;
  for (const line of (await registry.metrics()).split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || (m[1] !== name && m[1] !== `${name}_count`)) continue;
    const have = new Map<string, string>();
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) have.set(l[1], l[2].replace(/\\(.)/g, (_all, c: string) => (c === 'n' ? '\n' : c)));
    if (Object.entries(labels).every(([k, want]) => have.get(k) === want)) total += Number(m[3]);
  }
  return total;
}
