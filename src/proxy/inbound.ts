import * as net from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ProxyContext } from './context.ts';
import type { ConnLabels } from './metrics.ts';
import { decideInbound } from './policy.ts';
import { detect, MAX_DETECT_BYTES } from './sniff.ts';
import { identityOf, parseMeshAlpn } from './mesh.ts';
import { connectReading, registerRaw, relay, reset, SOCKET_OPTIONS } from './relay.ts';
import { observe, opaque } from './observe.ts';

// The inbound side: connections to the pod's ports, redirected to 4143. The first bytes tell
// mesh TLS meant for this proxy (a ClientHello whose SNI is our identity) from everything
// else: mesh TLS is terminated and forwarded with the client's proven identity; anything
// else (plaintext, or the app's own TLS to another name) goes through as it is, if policy lets
// unauthenticated clients reach that port.

interface Pending {
  raw: net.Socket;
  destination: { address: string; port: number } | undefined;
}

const LOOPBACK = '127.0.0.1';

export class Inbound {
  readonly #ctx: ProxyContext;
  // Mesh handshakes in flight, by the raw socket's 4-tuple (the TLS socket shares it).
  readonly #handshaking = new Map<string, Pending>();

  constructor(ctx: ProxyContext) {
    this.#ctx = ctx;
    ctx.tls.server.on('secureConnection', (socket: TLSSocket) => this.#secure(socket));
    ctx.tls.server.on('tlsClientError', (error: Error, socket: TLSSocket) => {
      this.#handshaking.delete(key(socket));
      ctx.metrics.refused('inbound', 'tls-handshake');
      if (ctx.log.isLevelEnabled('debug')) ctx.log.debug({ err: error.message, client: socket.remoteAddress }, 'inbound mesh handshake failed');
    });
  }

  handle(socket: net.Socket): void {
    socket.setNoDelay(true);
    socket.on('error', () => {});
    // Opaque ports are peeked at too: mesh TLS must still be told from plaintext. Only the
    // stream inside is left unparsed (see #forward). Server-speaks-first protocols belong on
    // proxy-init's skip lists, or they wait out the detect timeout here.
    const destination = this.#ctx.originalDestination(socket);
    let buffered: Buffer | undefined;
    const timer = setTimeout(() => finish(), this.#ctx.detectTimeoutMs);
    const onData = (chunk: Buffer): void => {
      buffered = buffered === undefined ? chunk : Buffer.concat([buffered, chunk]);
      if (detect(buffered).kind !== 'need-more' || buffered.length >= MAX_DETECT_BYTES) finish();
    };
    const onEnd = (): void => finish();
    // Whatever was read goes back in front of the stream, so the next reader (TLS or the
    // pipe) sees the connection from its first byte.
    const finish = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      if (socket.destroyed) return;
      socket.pause();
      if (buffered !== undefined) socket.unshift(buffered);
      const found = buffered === undefined ? undefined : detect(buffered);
      const own = this.#ctx.tls.identity;
      const meshAlpnOffered = found?.kind === 'tls' && found.alpn.some((id) => parseMeshAlpn(id) !== undefined);
      if (found?.kind === 'tls' && (meshAlpnOffered || (own !== undefined && found.sni === own))) {
        // A weft proxy's ClientHello is never handed to the app, even when it cannot be served:
        // without a certificate yet, or addressed to another identity (stale discovery, an IP
        // now used by another pod), it is refused.
        if (!this.#ctx.tls.ready() || found.sni !== own) {
          this.#ctx.metrics.refused('inbound', this.#ctx.tls.ready() ? 'identity-mismatch' : 'no-identity');
          reset(socket);
          return;
        }
        const k = key(socket);
        this.#handshaking.set(k, { raw: socket, destination });
        socket.once('close', () => this.#handshaking.delete(k));
        this.#ctx.tls.accept(socket);
        return;
      }
      this.#plain(socket, destination);
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
  }

  #plain(socket: net.Socket, destination: { address: string; port: number } | undefined): void {
    if (destination === undefined) {
      // Dialled straight to 4143 in the clear: there is nowhere to forward it to.
      this.#ctx.metrics.refused('inbound', 'no-original-destination');
      reset(socket);
      return;
    }
    const verdict = decideInbound(this.#ctx.policy, destination.port, undefined);
    if (!verdict.allow) {
      this.#ctx.metrics.refused('inbound', verdict.reason);
      reset(socket);
      return;
    }
    const labels: ConnLabels = { direction: 'inbound', tls: 'no_identity', client_id: '', server_id: this.#ctx.tls.identity ?? '' };
    this.#forward(socket, destination.address, destination.port, labels);
  }

  #secure(socket: TLSSocket): void {
    const pending = this.#handshaking.get(key(socket));
    this.#handshaking.delete(key(socket));
    if (pending !== undefined) registerRaw(socket, pending.raw);
    const alpn = parseMeshAlpn(socket.alpnProtocol);
    const port = alpn?.port ?? pending?.destination?.port;
    const client = identityOf(socket.getPeerCertificate().subjectaltname);
    if (port === undefined || client === undefined) {
      this.#ctx.metrics.refused('inbound', port === undefined ? 'no-original-destination' : 'no-client-identity');
      socket.destroy();
      return;
    }
    const verdict = decideInbound(this.#ctx.policy, port, client);
    if (!verdict.allow) {
      this.#ctx.metrics.refused('inbound', verdict.reason);
      socket.destroy();
      return;
    }
    const labels: ConnLabels = { direction: 'inbound', tls: 'true', client_id: client, server_id: this.#ctx.tls.identity ?? '' };
    this.#forward(socket, pending?.destination?.address ?? LOOPBACK, port, labels);
  }

  #forward(socket: net.Socket, host: string, port: number, labels: ConnLabels): void {
    const app = connectReading({ host, port, ...SOCKET_OPTIONS });
    app.on('error', (error: Error) => {
      if (this.#ctx.log.isLevelEnabled('debug')) this.#ctx.log.debug({ err: error.message, port }, 'inbound forward failed');
    });
    this.#ctx.metrics.track(socket, 'src', labels);
    this.#ctx.metrics.track(app, 'dst', labels);
    const observed = this.#ctx.opaquePorts.has(port) ? opaque() : observe(socket, app, () => this.#ctx.metrics.http(labels));
    this.#ctx.connections.add({ relay: relay(socket, app), observed });
    socket.resume();
  }
}

function key(socket: net.Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}|${socket.localAddress}|${socket.localPort}`;
}
