import * as net from 'node:net';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { noteErrno } from './metrics.ts';

// The byte pipe between the two halves of a proxied connection. A chunk read on one side is
// written to the other; when that write has to wait (write() returns false), the reading side
// is paused until the other drains, so a slow reader holds back its peer; allowHalfOpen on both sockets
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
    // By hand rather than stream.pipe: the same backpressure with less work per chunk, and it
    // also drives sockets read through onread (see connectReading), which pipe cannot resume.
    let waiting = false;
    const onData = (chunk: Buffer): void => {
      if (to.destroyed) return;
      if (!to.write(chunk) && !waiting) {
        waiting = true;
        from.pause();
      }
    };
    const onDrain = (): void => {
      if (!waiting) return;
      waiting = false;
      if (!from.destroyed) from.resume();
    };
    from.once('error', onError);
    from.once('close', onFromClose);
    from.once('end', onEnd);
    from.on('data', onData);
    to.on('drain', onDrain);
    // As pipe does: a side paused before the relay (peeked at, or taken from the pool) flows now,
    // unless the other side is still draining an earlier write.
    if (to.writableNeedDrain) {
      waiting = true;
      from.pause();
    } else if (from.readableFlowing !== true) {
      from.resume();
    }
    return () => {
      from.off('data', onData);
      to.off('drain', onDrain);
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

// One read buffer for every socket read through onread: each read is copied out before the
// callback returns (the next read, of any socket, overwrites it), so one buffer serves them all
// and a connection costs no buffer of its own.
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/**
 * net.connect, with reads through onread instead of the stream machinery: the chunk is copied
 * out of the shared buffer and emitted as 'data', so listeners see what they would otherwise.
 * It saves a 64 KiB allocation and a pass through Readable per read. Pausing and resuming work
 * as on any socket (net stops and restarts the reads itself).
 */
export function connectReading(options: net.NetConnectOpts): Socket {
  const socket: Socket = net.connect({
    ...options,
    onread: {
      buffer: READ_BUFFER,
      callback: (n: number, buffer: Uint8Array): boolean => {
        const chunk = Buffer.allocUnsafe(n);
        chunk.set(buffer.subarray(0, n));
        socket.emit('data', chunk);
        // A listener that paused the socket (the relay, on backpressure) stops the reads here.
        return !socket.isPaused();
      },
    },
  });
  return socket;
}
