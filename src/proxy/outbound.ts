import * as net from 'node:net';
import type { ProxyContext } from './context.ts';
import type { ConnLabels } from './metrics.ts';
import { relay, reset, SOCKET_OPTIONS } from './relay.ts';
import { observe, opaque } from './observe.ts';
import { normalizeIp } from './discovery.ts';

// The outbound side: the app's connections, redirected to 127.0.0.1:4140 by iptables.
// A meshed destination gets mesh TLS to its proxy; anything else a plain TCP pass-through.

export interface OutboundOptions {
  /** The mesh identity of the proxy at an address, or undefined when it is not meshed. */
  lookup(ip: string): string | undefined;
  /** Where to dial for a destination; the destination itself unless a test reroutes it. */
  dial?(destination: { address: string; port: number }): { host: string; port: number };
  /** The outbound listener's own port: a connection whose destination is it would loop. */
  selfPorts: () => Set<number>;
  /** This pod's own addresses: the app calling itself never leaves the pod, so no mTLS. */
  podIps: ReadonlySet<string>;
}

export function handleOutbound(ctx: ProxyContext, options: OutboundOptions, socket: net.Socket): void {
  socket.setNoDelay(true);
  socket.on('error', () => {}); // answered by relay once wired; before that, a reset app is just gone
  const destination = ctx.originalDestination(socket);
  if (destination === undefined) {
    ctx.metrics.refused('outbound', 'no-original-destination');
    reset(socket);
    return;
  }
  if ((destination.address === '127.0.0.1' || destination.address === '::1') && options.selfPorts().has(destination.port)) {
    ctx.metrics.refused('outbound', 'loop');
    reset(socket);
    return;
  }
  const identity = options.podIps.has(normalizeIp(destination.address)) ? undefined : options.lookup(destination.address);
  const target = options.dial ? options.dial(destination) : { host: destination.address, port: destination.port };
  let upstream: net.Socket;
  let labels: ConnLabels;
  if (identity !== undefined) {
    if (!ctx.tls.ready()) {
      // Sending a meshed peer plaintext would leak what mTLS is there to protect: refuse.
      ctx.metrics.refused('outbound', 'no-identity');
      reset(socket);
      return;
    }
    labels = { direction: 'outbound', tls: 'true', client_id: ctx.tls.identity ?? '', server_id: identity };
    upstream = ctx.tls.connect(target, identity, destination.port);
  } else {
    labels = { direction: 'outbound', tls: 'no_identity', client_id: '', server_id: '' };
    upstream = net.connect({ host: target.host, port: target.port, ...SOCKET_OPTIONS });
  }
  upstream.on('error', (error: Error) => {
    if (ctx.log.isLevelEnabled('debug')) ctx.log.debug({ err: error.message, identity }, 'outbound connection failed');
  });
  ctx.metrics.track(socket, 'src', labels);
  ctx.metrics.track(upstream, 'dst', labels);
  // Opaque ports skip even the metrics-only look at the first bytes: a bare pipe.
  const observed = ctx.opaquePorts.has(destination.port) ? opaque() : observe(socket, upstream, () => ctx.metrics.http(labels));
  ctx.connections.add({ relay: relay(socket, upstream), observed });
}
