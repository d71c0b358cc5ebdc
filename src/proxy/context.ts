import type { Socket } from 'node:net';
import type { ProxyLogger } from './log.ts';
import type { ProxyMetrics } from './metrics.ts';
import type { MeshTls } from './tls.ts';
import type { RelayHandle } from './relay.ts';
import type { Observed } from './observe.ts';
import type { InboundPolicy } from './policy.ts';
import type { PortSet } from './ports.ts';

// What the inbound and outbound sides share: the TLS state, metrics, and the registry of
// live connections that draining walks.

export type OriginalDestinationLookup = (socket: Socket) => { address: string; port: number } | undefined;

export interface Live {
  relay: RelayHandle;
  observed: Observed;
}

export class ConnectionRegistry {
  readonly #live = new Set<Live>();
  #draining = false;
  #emptied: (() => void)[] = [];

  add(live: Live): void {
    this.#live.add(live);
    if (this.#draining) this.#arm(live);
    void live.relay.closed.then(() => {
      this.#live.delete(live);
      if (this.#live.size === 0) for (const f of this.#emptied.splice(0)) f();
    });
  }

  get size(): number {
    return this.#live.size;
  }

  get draining(): boolean {
    return this.#draining;
  }

  // HTTP connections are closed where no request is cut short (see Observed.drain); opaque
  // ones are left to finish on their own until the grace period runs out.
  #arm(live: Live): void {
    live.observed.drain(() => live.relay.end());
  }

  drain(): Promise<void> {
    this.#draining = true;
    for (const live of this.#live) this.#arm(live);
    if (this.#live.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#emptied.push(resolve));
  }

  destroyAll(): void {
    for (const live of this.#live) live.relay.destroy();
  }
}

export interface ProxyContext {
  log: ProxyLogger;
  metrics: ProxyMetrics;
  tls: MeshTls;
  connections: ConnectionRegistry;
  originalDestination: OriginalDestinationLookup;
  policy: InboundPolicy;
  opaquePorts: PortSet;
  detectTimeoutMs: number;
}
