import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';

export interface AdmissionMetrics {
  requests: Counter<'webhook' | 'kind' | 'operation' | 'dry_run' | 'result'>;
  duration: Histogram<'webhook'>;
  inject: Counter<'result' | 'reason'>;
  validate: Counter<'kind' | 'result'>;
  certificateExpiry: Gauge;
}

export function createAdmissionMetrics(registry: Registry): AdmissionMetrics {
  return {
    requests: new Counter({
      name: 'weft_admission_requests_total',
      help: 'Admission reviews answered, by webhook, object kind, operation, dry run and result',
      labelNames: ['webhook', 'kind', 'operation', 'dry_run', 'result'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'weft_admission_duration_seconds',
      help: 'Time from a parsed admission review to its response',
      labelNames: ['webhook'],
      buckets: [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    inject: new Counter({
      name: 'weft_inject_total',
      help: 'Pods considered for injection, by result (injected, skipped, error) and reason',
      labelNames: ['result', 'reason'],
      registers: [registry],
    }),
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
  };
}
