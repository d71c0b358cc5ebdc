// When to renew and how long to wait after a failure. Pure: the client passes the clock and the
// random source, so tests pin both.

/** Linkerd renews at 70% of a certificate's life: late enough to be cheap, early enough to retry for hours. */
export const DEFAULT_RENEW_FRACTION = 0.7;

export function renewalTime(notBefore: Date, notAfter: Date, fraction: number = DEFAULT_RENEW_FRACTION): number {
  const start = notBefore.getTime();
  return start + (notAfter.getTime() - start) * fraction;
}

export interface BackoffPolicy {
  minMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { minMs: 500, maxMs: 60_000 };

/**
 * Exponential backoff with jitter over the upper half, so a fleet of proxies that failed together
 * does not retry together. `attempt` counts failures so far, from 1.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.minMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Delay before the next attempt; a retry never waits past the moment the current certificate expires. */
export function nextAttemptDelay(opts: { now: number; failures: number; renewAt?: number; notAfter?: number; policy?: BackoffPolicy; random?: () => number }): number {
  if (opts.failures === 0) return Math.max(0, (opts.renewAt ?? opts.now) - opts.now);
  const policy = opts.policy ?? DEFAULT_BACKOFF;
  let delay = backoffDelay(opts.failures, policy, opts.random);
  if (opts.notAfter !== undefined && opts.notAfter > opts.now) delay = Math.min(delay, Math.max(policy.minMs, (opts.notAfter - opts.now) / 2));
  return delay;
}
