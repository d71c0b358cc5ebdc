import { Registry, collectDefaultMetrics } from 'prom-client';

export { Registry };

/** One registry per role (never prom-client's global one) so tests can run several roles in one process. */
export function createRegistry(role: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ role });
  collectDefaultMetrics({ register: registry });
  return registry;
}
