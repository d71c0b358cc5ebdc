import type { Socket } from 'node:net';

// Idle mesh connections kept for the next app connection to the same peer, so a client that
// opens a connection per request (or per few requests) does not pay a TLS handshake each time.
// Only connections an HTTP/1.1 exchange left at a clean message boundary come here (see
// outbound.ts); a pooled connection is used only for a request that can be replayed, so one
// that turns out to be dead is replaced without the app noticing.
//
// While a connection sits here, anything it does ends its stay: bytes from the peer (a server
// speaking out of turn, such as a 408 before it closes), the peer's FIN, an error, or the idle
// timeout, which is kept short so that the peer's app (whose keep-alive timeout is often 5 s)
// rarely closes a connection that is just being handed out.

export interface PoolOptions {
  maxPerPeer: number;
  idleMs: number;
}

export const DEFAULT_POOL: PoolOptions = { maxPerPeer: 16, idleMs: 3_000 };

interface Entry {
  socket: Socket;
  timer: NodeJS.Timeout;
  /** Takes the entry out of the list and the pool's listeners off the socket; false if already out. */
  remove: () => boolean;
}

/** The pool key: where the connection goes and what it proved, and the app port it carries. */
export function poolKey(identity: string, target: { host: string; port: number }, originalPort: number): string {
  return `${identity}|${target.host}|${target.port}|${originalPort}`;
}

export class ConnectionPool {
  readonly #options: PoolOptions;
  readonly #idle = new Map<string, Entry[]>();
  #closed = false;

  constructor(options: PoolOptions = DEFAULT_POOL) {
    this.#options = options;
  }

  has(key: string): boolean {
    return this.#idle.has(key);
  }

  get size(): number {
    let n = 0;
    for (const list of this.#idle.values()) n += list.length;
    return n;
  }

  /**
   * Keeps a connection that sits at a message boundary with nothing buffered either way.
   * Returns false (and leaves the socket alone) when the pool is closed or full for this peer.
   */
  put(key: string, socket: Socket): boolean {
    if (this.#closed || socket.destroyed || socket.readableEnded || !socket.writable) return false;
    const list = this.#idle.get(key) ?? [];
    if (list.length >= this.#options.maxPerPeer) return false;
    const remove = (): boolean => {
      clearTimeout(entry.timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onError);
      socket.off('close', onClose);
      const at = list.indexOf(entry);
      if (at === -1) return false;
      list.splice(at, 1);
      if (list.length === 0 && this.#idle.get(key) === list) this.#idle.delete(key);
      return true;
    };
    const onData = (): void => {
      remove();
      socket.destroy();
    };
    // The peer's FIN: answer with ours, so its side closes cleanly too.
    const onEnd = (): void => {
      remove();
      socket.end();
    };
    const onError = (): void => {
      remove();
      socket.destroy();
    };
    const onClose = (): void => {
      remove();
    };
    const entry: Entry = { socket, timer: setTimeout(onEnd, this.#options.idleMs), remove };
    entry.timer.unref();
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', onError);
    socket.on('close', onClose);
    list.push(entry);
    this.#idle.set(key, list);
    socket.resume();
    return true;
  }

  /** The most recently pooled live connection for `key`, paused and with the pool's listeners removed. */
  take(key: string): Socket | undefined {
    const list = this.#idle.get(key);
    while (list !== undefined && list.length > 0) {
      const entry = list[list.length - 1];
      entry.remove();
      entry.socket.pause();
      if (!entry.socket.destroyed && !entry.socket.readableEnded && entry.socket.writable) return entry.socket;
      entry.socket.destroy();
    }
    return undefined;
  }

  /** Ends every idle connection and refuses new ones: the proxy is shutting down. */
  close(): void {
    this.#closed = true;
    this.clear();
  }

  /** Ends every idle connection (a certificate rotation: they were authenticated with the old one). */
  clear(): void {
    for (const list of [...this.#idle.values()]) {
      for (const entry of [...list]) if (entry.remove()) entry.socket.end();
    }
    this.#idle.clear();
  }
}
