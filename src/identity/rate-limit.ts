/**
 * Token buckets keyed by client address. Pure apart from the injected clock, so tests drive time.
 * Idle full buckets are dropped to keep memory bounded by the number of recently active clients.
 */
export class RateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #maxKeys: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(opts: { perSecond: number; burst?: number; now?: () => number; maxKeys?: number }) {
    this.#rate = opts.perSecond;
    this.#burst = opts.burst ?? opts.perSecond * 2;
    this.#now = opts.now ?? (() => performance.now());
    this.#maxKeys = opts.maxKeys ?? 100_000;
  }

  /** Takes one token for `key`; false when the client must wait. */
  take(key: string): boolean {
    const now = this.#now();
    let bucket = this.#buckets.get(key);
    if (bucket) {
      bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.at) / 1000) * this.#rate);
      bucket.at = now;
    } else {
      if (this.#buckets.size >= this.#maxKeys) this.prune();
      // Under a flood of distinct addresses, refuse new ones rather than grow without bound.
      if (this.#buckets.size >= this.#maxKeys) return false;
      bucket = { tokens: this.#burst, at: now };
      this.#buckets.set(key, bucket);
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Seconds until `key` has a token again (for Retry-After). */
  retryAfterSeconds(key: string): number {
    const bucket = this.#buckets.get(key);
    if (!bucket || bucket.tokens >= 1) return 0;
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.#rate));
  }

  prune(): void {
    const now = this.#now();
    for (const [key, bucket] of this.#buckets) {
      if (bucket.tokens + ((now - bucket.at) / 1000) * this.#rate >= this.#burst) this.#buckets.delete(key);
    }
  }

  get size(): number {
    return this.#buckets.size;
  }
}
