import { Counter, Gauge, type Registry } from 'prom-client';
import type { CounterSink, GaugeSink, MetricsSink } from './metrics-sink.ts';

/**
 * A MetricsSink over a prom-client Registry. A name already registered is reused, so that
 * several identity clients (tests, or a restart in one process) share one series.
 */
export function registrySink(registry: Registry): MetricsSink {
  const registers = [registry];
  return {
    counter: (name, help): CounterSink => (registry.getSingleMetric(name) as Counter | undefined) ?? new Counter({ name, help, registers }),
    gauge: (name, help): GaugeSink => (registry.getSingleMetric(name) as Gauge | undefined) ?? new Gauge({ name, help, registers }),
  };
}
