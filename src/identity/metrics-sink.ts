// The identity client's metrics, by name, and the two kinds of instrument it needs. Kept apart
// from any metrics library so that the proxy can count them in its own hand-written registry
// (src/proxy/metrics.ts) while other callers hand in a prom-client Registry (prom-metrics.ts).

export interface CounterSink {
  inc(): void;
}

export interface GaugeSink {
  set(value: number): void;
}

/** Makes (or finds, when asked again for the same name) one unlabelled instrument. */
export interface MetricsSink {
  counter(name: string, help: string): CounterSink;
  gauge(name: string, help: string): GaugeSink;
}

export const IDENTITY_CLIENT_METRICS = {
  expiry: { name: 'identity_cert_expiration_timestamp_seconds', help: 'notAfter of the proxy certificate in use, Unix seconds' },
  failures: { name: 'identity_cert_refresh_failures_total', help: 'Failed attempts to obtain or renew the proxy certificate' },
  refreshes: { name: 'identity_cert_refreshes_total', help: 'Certificates obtained (first and renewals)' },
} as const;
