import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Socket } from 'node:net';

// Linkerd's metric names, with labels kept to bounded sets: direction, tls, the two mesh
// identities (one per service account), and for responses the status code and its class.
// No host names, paths or addresses ever become label values.

export type Direction = 'inbound' | 'outbound';
export type TlsLabel = 'true' | 'no_identity';

export type ConnLabels = {
  direction: Direction;
  tls: TlsLabel;
  client_id: string;
  server_id: string;
};

// Linkerd's bucket bounds, in milliseconds.
const LATENCY_BUCKETS = [1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1000, 2000, 3000, 4000, 5000, 10000, 20000, 30000, 40000, 50000];

const CONN = ['direction', 'peer', 'tls', 'client_id', 'server_id'] as const;
const HTTP = ['direction', 'tls', 'client_id', 'server_id'] as const;

type Peer = 'src' | 'dst';

interface Tracked {
  socket: Socket;
  labels: ConnLabels;
  peer: Peer;
  read: number;
  written: number;
}

export interface HttpRecorder {
  request(): void;
  response(status: number, latencyMs: number): void;
}

export class ProxyMetrics {
  readonly #open = new Set<Tracked>();
  readonly #openTotal: Counter;
  readonly #closeTotal: Counter;
  readonly #openConnections: Gauge;
  readonly #readBytes: Counter;
  readonly #writeBytes: Counter;
  readonly #requests: Counter;
  readonly #responses: Counter;
  readonly #latency: Histogram;
  readonly #refused: Counter;

  constructor(registry: Registry) {
    const flush = (): void => {
      for (const t of this.#open) this.#account(t);
    };
    this.#openTotal = new Counter({ name: 'tcp_open_total', help: 'TCP connections opened', labelNames: CONN, registers: [registry] });
    this.#closeTotal = new Counter({ name: 'tcp_close_total', help: 'TCP connections closed', labelNames: [...CONN, 'errno'], registers: [registry] });
    this.#openConnections = new Gauge({ name: 'tcp_open_connections', help: 'TCP connections currently open', labelNames: CONN, registers: [registry] });
    // Bytes are counted from the sockets' own counters when a connection closes and at every
    // scrape, so the data path does no per-chunk bookkeeping.
    this.#readBytes = new Counter({ name: 'tcp_read_bytes_total', help: 'Bytes read from TCP peers', labelNames: CONN, registers: [registry], collect: flush });
    this.#writeBytes = new Counter({ name: 'tcp_write_bytes_total', help: 'Bytes written to TCP peers', labelNames: CONN, registers: [registry] });
    this.#requests = new Counter({ name: 'request_total', help: 'HTTP requests seen', labelNames: HTTP, registers: [registry] });
    this.#responses = new Counter({ name: 'response_total', help: 'HTTP responses seen', labelNames: [...HTTP, 'status_code', 'classification'], registers: [registry] });
    this.#latency = new Histogram({ name: 'response_latency_ms', help: 'Time from a request head to its response head, in milliseconds', labelNames: [...HTTP, 'status_code'], buckets: LATENCY_BUCKETS, registers: [registry] });
    this.#refused = new Counter({ name: 'tcp_refused_total', help: 'Connections the proxy refused, by reason', labelNames: ['direction', 'reason'], registers: [registry] });
  }

  #account(t: Tracked): void {
    const read = t.socket.bytesRead;
    const written = t.socket.bytesWritten;
    const labels = { ...t.labels, peer: t.peer };
    if (read > t.read) this.#readBytes.inc(labels, read - t.read);
    if (written > t.written) this.#writeBytes.inc(labels, written - t.written);
    t.read = read;
    t.written = written;
  }

  /** Counts a connection from open to close; `labels` may still be filled in until it closes. */
  track(socket: Socket, peer: Peer, labels: ConnLabels): void {
    const t: Tracked = { socket, labels, peer, read: 0, written: 0 };
    const key = { ...labels, peer };
    this.#open.add(t);
    this.#openTotal.inc(key);
    this.#openConnections.inc(key);
    socket.once('close', () => {
      this.#open.delete(t);
      this.#account(t);
      this.#openConnections.dec(key);
      const errno = (socket as Socket & { weftErrno?: string }).weftErrno ?? '';
      this.#closeTotal.inc({ ...key, errno });
    });
  }

  refused(direction: Direction, reason: string): void {
    this.#refused.inc({ direction, reason });
  }

  http(labels: ConnLabels): HttpRecorder {
    const requests = this.#requests.labels(labels);
    // Label children are looked up once per connection and status, not once per request:
    // prom-client hashes the whole label set on every labelled call.
    const byStatus = new Map<number, { responses: { inc(): void }; latency: { observe(v: number): void } }>();
    return {
      request: () => requests.inc(),
      response: (status: number, latencyMs: number) => {
        let children = byStatus.get(status);
        if (children === undefined) {
          // 0: an HTTP/2 status the observer could not read cheaply (see http2.ts).
          const status_code = status === 0 ? '' : String(status);
          const classification = status >= 500 ? 'failure' : 'success';
          children = { responses: this.#responses.labels({ ...labels, status_code, classification }), latency: this.#latency.labels({ ...labels, status_code }) };
          byStatus.set(status, children);
        }
        children.responses.inc();
        children.latency.observe(latencyMs);
      },
    };
  }
}

/** Remembers why a socket died, for tcp_close_total's errno label (a short, bounded code). */
export function noteErrno(socket: Socket, error: Error): void {
  const code = (error as NodeJS.ErrnoException).code;
  const s = socket as Socket & { weftErrno?: string };
  if (s.weftErrno === undefined && typeof code === 'string' && /^E[A-Z]+$/.test(code)) s.weftErrno = code;
}
