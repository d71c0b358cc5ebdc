import * as net from 'node:net';
import type { ProxyLogger } from './log.ts';
import type { CredentialSource } from './credentials.ts';
import { ConnectionRegistry, type OriginalDestinationLookup, type ProxyContext } from './context.ts';
import { MeshTls } from './tls.ts';
import { ProxyMetrics, type MetricsText } from './metrics.ts';
import { Inbound } from './inbound.ts';
import { handleOutbound } from './outbound.ts';
import { createAdminServer } from './admin.ts';
import { SOCKET_OPTIONS } from './relay.ts';
import { ConnectionPool, DEFAULT_POOL, type PoolOptions } from './pool.ts';
import { normalizeIp } from './discovery.ts';
import type { InboundPolicy } from './policy.ts';
import type { PortSet } from './ports.ts';

// Puts the proxy together: three listeners over one shared TLS state, metrics registry and
// connection registry. Everything that touches the outside world (where the original
// destination comes from, where discovery answers come from, where the certificate comes
// from) is passed in, so tests run the real proxy on loopback with fixed answers.

export interface ListenAddress {
  host: string;
  port: number;
  /** Bound instead when `host` cannot be (a pod without IPv6: '::' falls back to '0.0.0.0'). */
  fallbackHost?: string;
  /** Also bound, on the same port, where it can be ('::1' beside '127.0.0.1' for ip6tables' redirects). */
  alsoHost?: string;
}

// The errors of an address family the pod does not have.
const NO_FAMILY = new Set(['EAFNOSUPPORT', 'EADDRNOTAVAIL']);

export interface ProxyOptions {
  inbound: ListenAddress;
  outbound: ListenAddress;
  admin?: ListenAddress;
  credentials: CredentialSource;
  discovery: { lookup(ip: string): string | undefined };
  /** This pod's IPs; outbound connections to them stay plaintext (they never leave the pod). */
  podIps?: readonly string[];
  originalDestination: OriginalDestinationLookup;
  /** Reroutes outbound dials (tests on loopback); the destination itself by default. */
  dial?(destination: { address: string; port: number }): { host: string; port: number };
  policy: InboundPolicy;
  opaquePorts: PortSet;
  detectTimeoutMs?: number;
  /** Idle mesh connections kept per peer, and for how long. */
  pool?: PoolOptions;
  log: ProxyLogger;
  /** Other components' metrics served next to the proxy's own on /metrics (the identity client's). */
  extraMetrics?: readonly MetricsText[];
}

export interface RunningProxy {
  readonly inboundPort: number;
  readonly outboundPort: number;
  readonly adminPort: number | undefined;
  readonly metrics: ProxyMetrics;
  readonly connections: ConnectionRegistry;
  /** Idle mesh connections waiting for reuse. */
  readonly pool: ConnectionPool;
  /** Stops accepting, lets connections finish for up to graceMs, then cuts the rest. */
  shutdown(graceMs: number): Promise<{ cut: number }>;
}

function listenOn(server: net.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

async function listen(server: net.Server, at: ListenAddress): Promise<number> {
  try {
    return await listenOn(server, at.host, at.port);
  } catch (error) {
    if (at.fallbackHost === undefined || !NO_FAMILY.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
    return listenOn(server, at.fallbackHost, at.port);
  }
}

/** A second listener for `at.alsoHost` on the port the first one got; undefined where that family is missing. */
async function listenAlso(make: () => net.Server, at: ListenAddress, port: number, log: ProxyLogger): Promise<net.Server | undefined> {
  if (at.alsoHost === undefined) return undefined;
  const server = make();
  try {
    await listenOn(server, at.alsoHost, port);
    return server;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (!NO_FAMILY.has(code)) throw error;
    log.info({ host: at.alsoHost, code }, 'address family not available; not listening there');
    return undefined;
  }
}

export async function startProxy(options: ProxyOptions): Promise<RunningProxy> {
  const tls = new MeshTls({ source: options.credentials, onInstallError: (error) => options.log.error({ err: error.message }, 'rotated certificate rejected; keeping the previous one') });
  const ctx: ProxyContext = {
    log: options.log,
    metrics: new ProxyMetrics(),
    tls,
    connections: new ConnectionRegistry(),
    originalDestination: options.originalDestination,
    policy: options.policy,
    opaquePorts: options.opaquePorts,
    detectTimeoutMs: options.detectTimeoutMs ?? 1000,
  };
  const inbound = new Inbound(ctx);
  const inboundServer = net.createServer(SOCKET_OPTIONS, (socket) => inbound.handle(socket));
  const selfPorts = new Set<number>();
  const podIps = new Set((options.podIps ?? []).map(normalizeIp));
  const pool = new ConnectionPool(options.pool ?? DEFAULT_POOL);
  // Pooled connections were authenticated with the previous certificate: start afresh.
  tls.onRotate(() => pool.clear());
  const outboundOptions = { lookup: (ip: string) => options.discovery.lookup(ip), dial: options.dial, selfPorts: () => selfPorts, podIps, pool };
  const makeOutbound = (): net.Server => net.createServer(SOCKET_OPTIONS, (socket) => handleOutbound(ctx, outboundOptions, socket));
  const outboundServer = makeOutbound();
  let shuttingDown = false;
  const admin = options.admin
    ? createAdminServer({
        metrics: [ctx.metrics, ...(options.extraMetrics ?? [])],
        ready: () => (shuttingDown ? { ok: false, reason: 'shutting down' } : tls.ready() ? { ok: true } : { ok: false, reason: 'no valid workload certificate' }),
      })
    : undefined;

  const inboundPort = await listen(inboundServer, options.inbound);
  const outboundPort = await listen(outboundServer, options.outbound);
  const outboundServer6 = await listenAlso(makeOutbound, options.outbound, outboundPort, options.log);
  selfPorts.add(outboundPort);
  selfPorts.add(inboundPort);
  const adminPort = admin && options.admin ? await listen(admin.server, options.admin) : undefined;
  if (adminPort !== undefined) selfPorts.add(adminPort);
  options.log.info({ inboundPort, outboundPort, adminPort, identity: tls.identity }, 'proxy listening');
  tls.onRotate((c) => options.log.info({ identity: c.identity, notAfter: c.notAfter.toISOString() }, 'workload certificate installed'));

  return {
    inboundPort,
    outboundPort,
    adminPort,
    metrics: ctx.metrics,
    connections: ctx.connections,
    pool,
    async shutdown(graceMs: number) {
      shuttingDown = true;
      pool.close();
      inboundServer.close();
      outboundServer.close();
      outboundServer6?.close();
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<'expired'>((resolve) => (timer = setTimeout(() => resolve('expired'), graceMs)));
      const outcome = await Promise.race([ctx.connections.drain().then(() => 'drained' as const), expired]);
      clearTimeout(timer);
      const cut = outcome === 'expired' ? ctx.connections.size : 0;
      if (cut > 0) ctx.connections.destroyAll();
      options.credentials.stop();
      if (admin) await admin.close();
      options.log.info({ outcome, cut }, 'proxy stopped');
      return { cut };
    },
  };
}
