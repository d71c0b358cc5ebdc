import type { Socket } from 'node:net';
import { readdirSync } from 'node:fs';
import type { CounterSink, GaugeSink, MetricsSink } from '../identity/metrics-sink.ts';

// Linkerd's metric names, with labels kept to bounded sets: direction, tls, the two mesh
// identities (one per service account), and for responses the status code and its class.
// No host names, paths or addresses ever become label values.
//
// Written out by hand in Prometheus' text format rather than with prom-client: the proxy's
// metric set is small and fixed, and prom-client (with its default collectors) costs every pod
// ~9 MB of RSS, about a seventh of the proxy's whole budget.

export type Direction = 'inbound' | 'outbound';
export type TlsLabel = 'true' | 'no_identity';

export type ConnLabels = {
  direction: Direction;
  tls: TlsLabel;
  client_id: string;
  server_id: string;
};

/** Anything that renders Prometheus text: the proxy's own metrics, or another component's registry. */
export interface MetricsText {
  metrics(): string | Promise<string>;
}

// Linkerd's bucket bounds, in milliseconds.
const LATENCY_BUCKETS = [1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1000, 2000, 3000, 4000, 5000, 10000, 20000, 30000, 40000, 50000];

type Peer = 'src' | 'dst';

interface Tracked {
  socket: Socket;
  labels: string;
  read: number;
  written: number;
}

export interface HttpRecorder {
  request(): void;
  response(status: number, latencyMs: number): void;
}

function escapeValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** `{a="x",b="y"}` for a label set, in the given order; the empty string for no labels. */
export function labelText(labels: Record<string, string>): string {
  const parts: string[] = [];
  for (const key in labels) parts.push(`${key}="${escapeValue(labels[key])}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

/** Joins two rendered label sets (either may be empty). */
function joinLabels(a: string, b: string): string {
  if (a === '') return b;
  if (b === '') return a;
  return `${a.slice(0, -1)},${b.slice(1)}`;
}

/** One series' value, held by whoever counts into it often, so that counting is no map lookup. */
interface Cell {
  value: number;
}

/** One metric family: series keyed by their rendered labels. */
class Family {
  readonly series = new Map<string, Cell>();
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';

  constructor(name: string, help: string, type: 'counter' | 'gauge') {
    this.name = name;
    this.help = help;
    this.type = type;
  }

  /** The series for `labels`, created at 0. */
  cell(labels: string): Cell {
    let c = this.series.get(labels);
    if (c === undefined) this.series.set(labels, (c = { value: 0 }));
    return c;
  }

  add(labels: string, by = 1): void {
    this.cell(labels).value += by;
  }

  render(out: string[], base: string): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`);
    for (const [labels, c] of this.series) out.push(`${this.name}${joinLabels(base, labels)} ${c.value}`);
  }
}

class HistogramSeries {
  readonly counts = new Float64Array(LATENCY_BUCKETS.length);
  sum = 0;
  count = 0;

  observe(v: number): void {
    // Per bucket (not cumulative) here; rendering accumulates.
    let i = 0;
    while (i < LATENCY_BUCKETS.length && v > LATENCY_BUCKETS[i]) i++;
    if (i < LATENCY_BUCKETS.length) this.counts[i]++;
    this.sum += v;
    this.count++;
  }
}

class Histogram {
  readonly series = new Map<string, HistogramSeries>();
  readonly name: string;
  readonly help: string;

  constructor(name: string, help: string) {
    this.name = name;
    this.help = help;
  }

  child(labels: string): HistogramSeries {
    let s = this.series.get(labels);
    if (s === undefined) this.series.set(labels, (s = new HistogramSeries()));
    return s;
  }

  render(out: string[], base: string): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    for (const [raw, s] of this.series) {
      const labels = joinLabels(base, raw);
      let cumulative = 0;
      for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
        cumulative += s.counts[i];
        out.push(`${this.name}_bucket${joinLabels(labels, `{le="${LATENCY_BUCKETS[i]}"}`)} ${cumulative}`);
      }
      out.push(`${this.name}_bucket${joinLabels(labels, '{le="+Inf"}')} ${s.count}`, `${this.name}_sum${labels} ${s.sum}`, `${this.name}_count${labels} ${s.count}`);
    }
  }
}

function connLabels(labels: ConnLabels, peer: Peer): string {
  return labelText({ direction: labels.direction, peer, tls: labels.tls, client_id: labels.client_id, server_id: labels.server_id });
}

function httpLabels(labels: ConnLabels): string {
  return labelText({ direction: labels.direction, tls: labels.tls, client_id: labels.client_id, server_id: labels.server_id });
}

export class ProxyMetrics implements MetricsText {
  readonly #base: string;
  readonly #open = new Set<Tracked>();
  readonly #openTotal = new Family('tcp_open_total', 'TCP connections opened', 'counter');
  readonly #closeTotal = new Family('tcp_close_total', 'TCP connections closed', 'counter');
  readonly #openConnections = new Family('tcp_open_connections', 'TCP connections currently open', 'gauge');
  readonly #readBytes = new Family('tcp_read_bytes_total', 'Bytes read from TCP peers', 'counter');
  readonly #writeBytes = new Family('tcp_write_bytes_total', 'Bytes written to TCP peers', 'counter');
  readonly #requests = new Family('request_total', 'HTTP requests seen', 'counter');
  readonly #responses = new Family('response_total', 'HTTP responses seen', 'counter');
  readonly #latency = new Histogram('response_latency_ms', 'Time from a request head to its response head, in milliseconds');
  readonly #refused = new Family('tcp_refused_total', 'Connections the proxy refused, by reason', 'counter');
  readonly #reused = new Family('tcp_reused_total', 'Outbound requests sent over a pooled mesh connection', 'counter');
  readonly #startSeconds = Math.round(Date.now() / 1000 - process.uptime());

  /** `base` labels go on every series (the role, as the other weft components label theirs). */
  constructor(base: Record<string, string> = { role: 'proxy' }) {
    this.#base = labelText(base);
  }

  // Bytes are counted from the sockets' own counters when a connection closes and at every
  // scrape, so the data path does no per-chunk bookkeeping.
  #account(t: Tracked): void {
    const read = t.socket.bytesRead;
    const written = t.socket.bytesWritten;
    if (read > t.read) this.#readBytes.add(t.labels, read - t.read);
    if (written > t.written) this.#writeBytes.add(t.labels, written - t.written);
    t.read = read;
    t.written = written;
  }

  /** Counts a connection from open to close. */
  track(socket: Socket, peer: Peer, labels: ConnLabels): void {
    const key = connLabels(labels, peer);
    const t: Tracked = { socket, labels: key, read: 0, written: 0 };
    this.#open.add(t);
    this.#openTotal.add(key);
    this.#openConnections.add(key);
    socket.once('close', () => {
      this.#open.delete(t);
      this.#account(t);
      this.#openConnections.add(key, -1);
      const errno = (socket as Socket & { weftErrno?: string }).weftErrno ?? '';
      this.#closeTotal.add(joinLabels(key, labelText({ errno })));
    });
  }

  refused(direction: Direction, reason: string): void {
    this.#refused.add(labelText({ direction, reason }));
  }

  /** An outbound connection was handed a pooled mesh connection instead of a new one. */
  reused(labels: ConnLabels): void {
    this.#reused.add(httpLabels(labels));
  }

  http(labels: ConnLabels): HttpRecorder {
    const requestLabels = httpLabels(labels);
    // Label sets are rendered and their series looked up once per connection and status, not
    // once per request: a request or response then adds to a cell it already holds.
    // Looked up at the first request, so that a connection that never sends one adds no series.
    let requests: Cell | undefined;
    const byStatus = new Map<number, { responses: Cell; latency: HistogramSeries }>();
    return {
      request: () => void ((requests ??= this.#requests.cell(requestLabels)).value++),
      response: (status: number, latencyMs: number) => {
        let children = byStatus.get(status);
        if (children === undefined) {
          // 0: an HTTP/2 status the observer could not read cheaply (see http2.ts).
          const status_code = status === 0 ? '' : String(status);
          const classification = status >= 500 ? 'failure' : 'success';
          children = {
            responses: this.#responses.cell(joinLabels(requestLabels, labelText({ status_code, classification }))),
            latency: this.#latency.child(joinLabels(requestLabels, labelText({ status_code }))),
          };
          byStatus.set(status, children);
        }
        children.responses.value++;
        children.latency.observe(latencyMs);
      },
    };
  }

  metrics(): string {
    for (const t of this.#open) this.#account(t);
    const out: string[] = [];
    for (const f of [this.#openTotal, this.#closeTotal, this.#openConnections, this.#readBytes, this.#writeBytes, this.#requests, this.#responses]) f.render(out, this.#base);
    this.#latency.render(out, this.#base);
    this.#refused.render(out, this.#base);
    this.#reused.render(out, this.#base);
    this.#process(out);
    return out.join('\n') + '\n';
  }

  // The few process metrics a sidecar is watched by (prom-client's default names).
  #process(out: string[]): void {
    const cpu = process.cpuUsage();
    let fds = NaN;
    try {
      fds = readdirSync('/proc/self/fd').length;
    } catch {
      // not Linux: left out below
    }
    const gauges: [string, string, 'counter' | 'gauge', number][] = [
      ['process_cpu_user_seconds_total', 'User CPU time spent in seconds', 'counter', cpu.user / 1e6],
      ['process_cpu_system_seconds_total', 'System CPU time spent in seconds', 'counter', cpu.system / 1e6],
      ['process_cpu_seconds_total', 'Total user and system CPU time spent in seconds', 'counter', (cpu.user + cpu.system) / 1e6],
      ['process_resident_memory_bytes', 'Resident memory size in bytes', 'gauge', process.memoryUsage.rss()],
      ['process_start_time_seconds', 'Start time of the process since unix epoch in seconds', 'gauge', this.#startSeconds],
      ['process_open_fds', 'Number of open file descriptors', 'gauge', fds],
    ];
    for (const [name, help, type, value] of gauges) {
      if (!Number.isFinite(value)) continue;
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name}${this.#base} ${value}`);
    }
  }
}

/**
 * Unlabelled counters and gauges that another component in the proxy process (the identity
 * client) counts into, rendered next to the proxy's own metrics. Every series starts at 0, as
 * prom-client's do, so a scrape before the first certificate shows the metric.
 */
export class ComponentMetrics implements MetricsText, MetricsSink {
  readonly #base: string;
  readonly #families = new Map<string, Family>();

  constructor(base: Record<string, string> = { role: 'proxy' }) {
    this.#base = labelText(base);
  }

  #family(name: string, help: string, type: 'counter' | 'gauge'): Family {
    let family = this.#families.get(name);
    if (family === undefined) {
      family = new Family(name, help, type);
      family.cell('');
      this.#families.set(name, family);
    } else if (family.type !== type) {
      throw new Error(`metric ${name} is already a ${family.type}`);
    }
    return family;
  }

  counter(name: string, help: string): CounterSink {
    const family = this.#family(name, help, 'counter');
    return { inc: () => family.add('') };
  }

  gauge(name: string, help: string): GaugeSink {
    const family = this.#family(name, help, 'gauge');
    const cell = family.cell('');
    return { set: (value) => void (cell.value = value) };
  }

  metrics(): string {
    const out: string[] = [];
    for (const family of this.#families.values()) family.render(out, this.#base);
    return out.length === 0 ? '' : out.join('\n') + '\n';
  }
}

/** Remembers why a socket died, for tcp_close_total's errno label (a short, bounded code). */
export function noteErrno(socket: Socket, error: Error): void {
  const code = (error as NodeJS.ErrnoException).code;
  const s = socket as Socket & { weftErrno?: string };
  if (s.weftErrno === undefined && typeof code === 'string' && /^E[A-Z]+$/.test(code)) s.weftErrno = code;
}
