import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';

export interface AdmissionMetrics {
  requests: Counter<'webhook' | 'kind' | 'operation' | 'dry_run' | 'result'>;
  duration: Histogram<'webhook'>;
  inject: Counter<'result' | 'reason'>;
  validate: Counter<'kind' | 'result'>;
  certificateExpiry: Gauge;
  /** One answered admission: weft_admission_requests_total, and weft_admission_duration_seconds when it was timed. */
  admitted(webhook: string, kind: string, operation: string, dryRun: boolean, result: string, seconds?: number): void;
  /** One pod considered for injection: weft_inject_total. */
  considered(result: string, reason: string): void;
}

interface PendingCount<L extends string> {
  labels: Partial<Record<L, string>>;
  count: number;
}

/**
 * Counts by label values, kept as plain numbers until prom-client collects them (at every
 * scrape, or any get()). prom-client hashes the label object and checks every label name on
 * each inc, which on the admission path cost more than counting itself; here the label values
 * find their slot through one small map per label, and each slot reaches the counter once per
 * collect, with the sum of what it counted.
 */
class PendingCounts<L extends string> {
  private readonly root = new Map<string, unknown>();
  private readonly slots: PendingCount<L>[] = [];
  private readonly names: readonly L[];

  constructor(names: readonly L[]) {
    this.names = names;
  }

  add(...values: string[]): void {
    let level = this.root;
    const last = values.length - 1;
    for (let i = 0; i < last; i++) {
      let next = level.get(values[i]!) as Map<string, unknown> | undefined;
      if (next === undefined) {
        next = new Map();
        level.set(values[i]!, next);
      }
      level = next;
    }
    let slot = level.get(values[last]!) as PendingCount<L> | undefined;
    if (slot === undefined) {
      const labels: Partial<Record<L, string>> = {};
      this.names.forEach((name, i) => (labels[name] = values[i]!));
      slot = { labels, count: 0 };
      level.set(values[last]!, slot);
      this.slots.push(slot);
    }
    slot.count++;
  }

  flush(counter: Counter<L>): void {
    for (const slot of this.slots) {
      if (slot.count === 0) continue;
      counter.inc(slot.labels, slot.count);
      slot.count = 0;
    }
  }
}

export function createAdmissionMetrics(registry: Registry): AdmissionMetrics {
  const requestCounts = new PendingCounts(['webhook', 'kind', 'operation', 'dry_run', 'result'] as const);
  const injectCounts = new PendingCounts(['result', 'reason'] as const);
  const requests = new Counter({
    name: 'weft_admission_requests_total',
    help: 'Admission reviews answered, by webhook, object kind, operation, dry run and result',
    labelNames: ['webhook', 'kind', 'operation', 'dry_run', 'result'],
    registers: [registry],
    collect() {
      requestCounts.flush(this);
    },
  });
  const duration: Histogram<'webhook'> = new Histogram({
    name: 'weft_admission_duration_seconds',
    help: 'Time from a parsed admission review to its response',
    labelNames: ['webhook'],
    buckets: [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const inject = new Counter({
    name: 'weft_inject_total',
    help: 'Pods considered for injection, by result (injected, skipped, error) and reason',
    labelNames: ['result', 'reason'],
    registers: [registry],
    collect() {
      injectCounts.flush(this);
    },
  });
  return {
    requests,
    duration,
    inject,
    validate: new Counter({
      name: 'weft_validate_total',
      help: 'Objects validated, by kind and result (allowed, denied, skipped, error)',
      labelNames: ['kind', 'result'],
      registers: [registry],
    }),
    certificateExpiry: new Gauge({
      name: 'weft_serving_certificate_expiration_timestamp_seconds',
      help: 'When the webhook serving certificate in use expires',
      registers: [registry],
    }),
    admitted(webhook, kind, operation, dryRun, result, seconds) {
      if (seconds !== undefined) duration.observe({ webhook }, seconds);
      requestCounts.add(webhook, kind, operation, dryRun ? 'true' : 'false', result);
    },
    considered(result, reason) {
      injectCounts.add(result, reason);
    },
  };
}
