import * as net from 'node:net';
import type { ProxyContext } from './context.ts';
import type { ConnLabels } from './metrics.ts';
import { connectReading, relay, reset, SOCKET_OPTIONS, type Relay } from './relay.ts';
import { observe, opaque, type Observed } from './observe.ts';
import { normalizeIp } from './discovery.ts';
import { detect, MAX_DETECT_BYTES } from './sniff.ts';
import { poolKey, type ConnectionPool } from './pool.ts';

// The outbound side: the app's connections, redirected to 127.0.0.1:4140 by iptables.
// A meshed destination gets mesh TLS to its proxy; anything else a plain TCP pass-through.
//
// Mesh connections are reused: when an app connection that spoke HTTP/1.1 ends while its mesh
// connection sits between messages, the mesh connection goes to the pool, and the next app
// connection to the same peer whose first request can be replayed (a bodiless GET, HEAD,
// OPTIONS or TRACE) is sent over it. If the pooled connection fails before the first byte of
// the response, the request goes again over a fresh connection: the app never sees the failure.

export interface OutboundOptions {
  /** The mesh identity of the proxy at an address, or undefined when it is not meshed. */
  lookup(ip: string): string | undefined;
  /** Where to dial for a destination; the destination itself unless a test reroutes it. */
  dial?(destination: { address: string; port: number }): { host: string; port: number };
  /** The outbound listener's own port: a connection whose destination is it would loop. */
  selfPorts: () => Set<number>;
  /** This pod's own addresses: the app calling itself never leaves the pod, so no mTLS. */
  podIps: ReadonlySet<string>;
  pool: ConnectionPool;
}

const REPLAYABLE = /^(GET|HEAD|OPTIONS|TRACE) /;

/**
 * Whether `bytes` hold exactly one whole request head with no body, of a method that may be sent
 * twice: then a pooled connection that dies before answering can be swapped for a fresh one.
 */
export function replayableRequest(bytes: Buffer): boolean {
  const text = bytes.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  if (end === -1 || end + 4 !== text.length || !REPLAYABLE.test(text)) return false;
  return !/\r\n(content-length|transfer-encoding)\s*:/i.test(text.slice(0, end + 2));
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
  const opaquePort = ctx.opaquePorts.has(destination.port);
  if (identity === undefined) {
    const labels: ConnLabels = { direction: 'outbound', tls: 'no_identity', client_id: '', server_id: '' };
    const upstream = tracked(ctx, connectReading({ host: target.host, port: target.port, ...SOCKET_OPTIONS }), labels, undefined);
    wire(ctx, socket, upstream, labels, opaquePort ? opaque() : observe(socket, upstream, () => ctx.metrics.http(labels)));
    return;
  }
  if (!ctx.tls.ready()) {
    // Sending a meshed peer plaintext would leak what mTLS is there to protect: refuse.
    ctx.metrics.refused('outbound', 'no-identity');
    reset(socket);
    return;
  }
  const labels: ConnLabels = { direction: 'outbound', tls: 'true', client_id: ctx.tls.identity ?? '', server_id: identity };
  const key = poolKey(identity, target, destination.port);
  const dial = (): net.Socket => tracked(ctx, ctx.tls.connect(target, identity, destination.port), labels, identity);
  const mesh = { ctx, options, socket, labels, key, dial };
  if (opaquePort) {
    wire(ctx, socket, dial(), labels, opaque());
  } else if (options.pool.has(key) && !ctx.connections.draining) {
    // A pooled connection is waiting: it is only used for a request that can be replayed, so the
    // first bytes decide. Dialling waits for them (the app usually sends at once).
    firstBytes(socket, ctx.detectTimeoutMs, (bytes) => fromPool(mesh, bytes));
  } else {
    const upstream = dial();
    wireMesh(mesh, upstream, observe(socket, upstream, () => ctx.metrics.http(labels)));
  }
}

/** Counts an upstream connection and keeps a listener for its errors for as long as it lives (it may outlive relays). */
function tracked(ctx: ProxyContext, upstream: net.Socket, labels: ConnLabels, identity: string | undefined): net.Socket {
  upstream.on('error', (error: Error) => {
    if (ctx.log.isLevelEnabled('debug')) ctx.log.debug({ err: error.message, identity }, 'outbound connection failed');
  });
  ctx.metrics.track(upstream, 'dst', labels);
  return upstream;
}

interface Mesh {
  ctx: ProxyContext;
  options: OutboundOptions;
  socket: net.Socket;
  labels: ConnLabels;
  key: string;
  dial(): net.Socket;
}

/** Collects the client's first bytes (up to what detection needs) without passing them on. */
function firstBytes(socket: net.Socket, timeoutMs: number, done: (bytes: Buffer | undefined) => void): void {
  let buffered: Buffer | undefined;
  const finish = (): void => {
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('end', finish);
    socket.off('close', finish);
    socket.pause();
    done(buffered);
  };
  const onData = (chunk: Buffer): void => {
    buffered = buffered === undefined ? chunk : Buffer.concat([buffered, chunk]);
    if (detect(buffered).kind !== 'need-more' || buffered.length >= MAX_DETECT_BYTES) finish();
  };
  const timer = setTimeout(finish, timeoutMs);
  socket.on('data', onData);
  socket.once('end', finish);
  socket.once('close', finish);
}

function fromPool(m: Mesh, bytes: Buffer | undefined): void {
  const { ctx, socket, labels } = m;
  if (socket.destroyed) return;
  const pooled = bytes !== undefined && detect(bytes).kind === 'http1' && replayableRequest(bytes) ? m.options.pool.take(m.key) : undefined;
  if (pooled === undefined || bytes === undefined) {
    const upstream = m.dial();
    // Bytes cannot go back in front of a stream that has already ended: they are sent instead.
    const ended = socket.readableEnded;
    if (bytes !== undefined && !ended) socket.unshift(bytes);
    else if (bytes !== undefined) upstream.write(bytes);
    wireMesh(m, upstream, observe(socket, upstream, () => ctx.metrics.http(labels), ended && bytes !== undefined ? { bytes, at: performance.now() } : undefined));
    if (ended) upstream.end();
    socket.resume();
    return;
  }
  ctx.metrics.reused(labels);
  const at = performance.now();
  // The request goes out at once; the relay is wired when the response starts. Until then the
  // app's socket stays paused (its request is complete, it is waiting) and a failure of the
  // pooled connection sends the same bytes over a fresh one.
  let settled = false;
  const onData = (chunk: Buffer): void => settle(pooled, chunk);
  const onFail = (): void => {
    if (settled) return;
    cleanup();
    settled = true;
    pooled.destroy();
    if (socket.destroyed) return;
    const fresh = m.dial();
    fresh.write(bytes);
    start(fresh);
  };
  const onAppGone = (): void => {
    if (settled) return;
    cleanup();
    settled = true;
    pooled.destroy();
  };
  const cleanup = (): void => {
    pooled.off('data', onData);
    pooled.off('end', onFail);
    pooled.off('error', onFail);
    pooled.off('close', onFail);
    socket.off('close', onAppGone);
  };
  const settle = (server: net.Socket, chunk: Buffer): void => {
    if (settled) return;
    cleanup();
    settled = true;
    server.pause();
    server.unshift(chunk);
    start(server);
  };
  const start = (server: net.Socket): void => {
    wireMesh(m, server, observe(socket, server, () => ctx.metrics.http(labels), { bytes, at }));
    socket.resume();
  };
  pooled.on('data', onData);
  pooled.once('end', onFail);
  pooled.once('error', onFail);
  pooled.once('close', onFail);
  socket.once('close', onAppGone);
  pooled.write(bytes);
  pooled.resume();
}

/** Relays an app connection over a mesh connection, offering the latter to the pool when the app ends cleanly. */
function wireMesh(m: Mesh, upstream: net.Socket, observed: Observed): void {
  let r: Relay | undefined;
  const onClientEnd = (): boolean => {
    if (r === undefined || m.ctx.connections.draining || !observed.reusable()) return false;
    if (upstream.destroyed || upstream.readableEnded || !upstream.writable || upstream.writableLength > 0) return false;
    observed.detach();
    r.releaseServer();
    if (m.options.pool.put(m.key, upstream)) return true;
    // Full or closed pool: the connection is done with.
    upstream.end();
    return true;
  };
  r = wire(m.ctx, m.socket, upstream, m.labels, observed, onClientEnd);
}

function wire(ctx: ProxyContext, socket: net.Socket, upstream: net.Socket, labels: ConnLabels, observed: Observed, onClientEnd?: () => boolean): Relay {
  ctx.metrics.track(socket, 'src', labels);
  const r = relay(socket, upstream, onClientEnd ? { onClientEnd } : {});
  ctx.connections.add({ relay: r, observed });
  return r;
}
