import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { noteErrno } from './metrics.ts';

// The byte pipe between the two halves of a proxied connection. stream.pipe gives
// backpressure (a slow reader pauses the other side's socket); allowHalfOpen on both sockets
// lets one direction finish (FIN, or TLS close_notify) while the other keeps flowing; an error
// on one side resets the other, so a peer's RST shows up as an RST to the app and vice versa.

export interface RelayHandle {
  /** Ends both directions gracefully (FIN / close_notify); used by drain at an idle point. */
  end(): void;
  /** Tears both sides down at once. */
  destroy(): void;
  readonly closed: Promise<void>;
}

/**
 * Every proxied socket: half-close allowed (see above), no Nagle delay on small writes, and
 * TCP keepalive so that a peer that vanished is noticed without an idle timeout that would
 * also cut quiet but live connections.
 */
export const SOCKET_OPTIONS = { allowHalfOpen: true, noDelay: true, keepAlive: true, keepAliveInitialDelay: 10_000 } as const;

// A TLS socket cannot send an RST itself; the TCP socket under it can.
const rawOf = new WeakMap<TLSSocket, Socket>();

export function registerRaw(tlsSocket: TLSSocket, raw: Socket): void {
  rawOf.set(tlsSocket, raw);
}

/** Closes with an RST where the TCP socket is reachable, otherwise an ordinary destroy. */
export function reset(socket: Socket): void {
  const raw = socket instanceof TLSSocket ? rawOf.get(socket) : socket;
  if (raw !== undefined && !raw.destroyed && !(raw instanceof TLSSocket)) {
    try {
      raw.resetAndDestroy();
    } catch {
      // the handle is already gone; destroy below is all that is left
    }
  }
  if (!socket.destroyed) socket.destroy();
}

export interface RelayOptions {
  /**
   * Called when the client ends its side. Returning true means the server socket was taken over
   * (kept for reuse): the relay lets go of it without ending it, and finishes the client side alone.
   */
  onClientEnd?: () => boolean;
}

export interface Relay extends RelayHandle {
  /** Stops relaying to and from the server and removes every listener put on it. */
  releaseServer(): void;
}

export function relay(client: Socket, server: Socket, options: RelayOptions = {}): Relay {
  let pending = 2;
  let resolve!: () => void;
  const closed = new Promise<void>((r) => (resolve = r));
  const onClose = (): void => {
    if (--pending === 0) resolve();
  };
  const wire = (from: Socket, to: Socket): (() => void) => {
    const onError = (error: Error): void => {
      noteErrno(from, error);
      // A side that failed (reset, refused, failed handshake) must not look like a clean end
      // of stream to the other: pass a reset on.
      reset(to);
    };
    const onFromClose = (hadError: boolean): void => {
      onClose();
      if (hadError) to.destroy();
      else if (!to.destroyed && to.writableEnded && to.readableEnded) to.destroy();
    };
    // Ends are passed on by hand (not by pipe) so the client's end can hand the server back.
    const onEnd = (): void => {
      if (from === client && options.onClientEnd?.() === true) {
        client.end();
        return;
      }
      to.end();
    };
    from.once('error', onError);
    from.once('close', onFromClose);
    from.once('end', onEnd);
    from.pipe(to, { end: false });
    return () => {
      from.unpipe(to);
      from.off('error', onError);
      from.off('close', onFromClose);
      from.off('end', onEnd);
    };
  };
  const unwireClient = wire(client, server);
  const unwireServer = wire(server, client);
  return {
    closed,
    end() {
      client.end();
      server.end();
    },
    destroy() {
      client.destroy();
      server.destroy();
    },
    releaseServer() {
      unwireClient();
      unwireServer();
      // The server no longer closes with this relay: only the client's close is awaited.
      onClose();
      client.once('close', onClose);
    },
  };
}
