// List, then watch from the list's resourceVersion, for as long as it runs: the watch ends
// every few minutes (timeoutSeconds) and resumes where it was; a 410 (the version is too old
// for the API server) lists again; a dropped connection or an error resumes after a backoff
// that doubles up to 30 s. What the events do to the cache is watch-cache.ts.
import type { Logger } from '../log.ts';
import { KubeApiError, type KubeClient } from './client.ts';
import { applyWatchEvent, ObjectStore, parseWatchEvent, type Keep } from './watch-cache.ts';
import { isRecord, type KubeObject } from './types.ts';

export interface InformerOptions {
  client: KubeClient;
  /** The collection, e.g. `/api/v1/namespaces`. */
  path: string;
  /** A name for logs. */
  kind: string;
  keep: Keep;
  log: Logger;
  pageSize?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Seconds the API server keeps each watch open (default: 5 to 10 minutes, spread so that replicas do not reconnect together). */
  watchTimeoutSeconds?: () => number;
  /** Errors of the first list that mean "never", not "later" (e.g. 403, not permitted): start() rejects with them. */
  fatalOnFirstList?: (error: unknown) => boolean;
  /**
   * A 404 on the list means the cluster does not serve the kind (its CRD is not installed): the
   * cache is then synced and empty, since none exist, and the list is tried again after the
   * backoff, so that a CRD installed later is picked up.
   */
  absentIsEmpty?: boolean;
}

class RelistNeeded extends Error {}

/** Less than a second since `startedAt`: too soon to go round the loop again without a pause. */
function isFast(startedAt: number): boolean {
  return Date.now() - startedAt < 1000;
}

export class Informer {
  readonly store: ObjectStore;
  readonly #options: InformerOptions;
  readonly #abort = new AbortController();
  #synced = false;
  #running: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #resolveSync!: () => void;
  #rejectSync!: (error: unknown) => void;
  readonly #firstSync: Promise<void>;

  constructor(options: InformerOptions) {
    this.#options = options;
    this.store = new ObjectStore(options.keep);
    this.#firstSync = new Promise((resolve, reject) => {
      this.#resolveSync = resolve;
      this.#rejectSync = reject;
    });
    this.#firstSync.catch(() => undefined);
  }

  get synced(): boolean {
    return this.#synced;
  }

  /** Starts the loop; resolves after the first complete list. */
  start(): Promise<void> {
    this.#running ??= this.#run();
    return this.#firstSync;
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    if (!this.#synced) this.#rejectSync(new Error(`${this.#options.kind} informer stopped before its first list`));
    this.#wake?.();
    await this.#running;
  }

  get #stopped(): boolean {
    return this.#abort.signal.aborted;
  }

  async #sleep(ms: number): Promise<void> {
    if (this.#stopped) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#wake = undefined;
  }

  async #run(): Promise<void> {
    const { log, kind } = this.#options;
    const initial = this.#options.initialBackoffMs ?? 500;
    const max = this.#options.maxBackoffMs ?? 30_000;
    let resourceVersion: string | undefined;
    let paged = true;
    let attempt = 0;
    let listedAt = 0;
    while (!this.#stopped) {
      try {
        if (resourceVersion === undefined) {
          listedAt = Date.now();
          resourceVersion = await this.#list(paged);
          paged = true;
          attempt = 0;
          if (!this.#synced) {
            this.#synced = true;
            this.#resolveSync();
          }
        }
        const startedAt = Date.now();
        const events = await this.#watch(resourceVersion, (version) => {
          resourceVersion = version;
          attempt = 0;
        });
        // A watch that the API server ends at once, empty, would otherwise be reopened in a tight loop.
        if (events === 0 && isFast(startedAt)) throw new KubeApiError(`${kind} watch ended at once`);
      } catch (error) {
        if (this.#stopped) break;
        if (!this.#synced && this.#options.fatalOnFirstList?.(error)) {
          this.#rejectSync(error);
          return;
        }
        if (this.#options.absentIsEmpty && error instanceof KubeApiError && error.code === 404) {
          // Also when a watch finds it gone (the CRD was deleted): list again, later.
          resourceVersion = undefined;
          this.store.replace([]);
          if (!this.#synced) {
            this.#synced = true;
            this.#resolveSync();
          }
          const delay = Math.min(max, initial * 2 ** attempt++);
          log.debug({ kind, retryInMs: delay }, 'kind not served; none cached, listing again later');
          await this.#sleep(delay);
          continue;
        }
        if (error instanceof RelistNeeded || (error instanceof KubeApiError && error.code === 410)) {
          // A continue token can expire too; the next list then takes everything in one go.
          if (resourceVersion === undefined) paged = false;
          resourceVersion = undefined;
          log.info({ kind }, 'watch resourceVersion expired; listing again');
          if (!isFast(listedAt)) continue;
        }
        const delay = Math.round(Math.min(max, initial * 2 ** attempt++) * (0.8 + Math.random() * 0.4));
        log.warn({ kind, err: (error as Error).message, retryInMs: delay }, this.#synced ? 'watch failed; resuming' : 'initial list failed; retrying');
        await this.#sleep(delay);
      }
    }
  }

  /** The whole collection, in pages, swapped into the store at once; returns its resourceVersion. */
  async #list(paged: boolean): Promise<string> {
    const { client, path, keep } = this.#options;
    const items: KubeObject[] = [];
    let continueToken: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const query = new URLSearchParams();
      if (paged) query.set('limit', String(this.#options.pageSize ?? 500));
      if (continueToken !== undefined) query.set('continue', continueToken);
      const page = await client.request(`${path}${query.size > 0 ? `?${query}` : ''}`, { signal: this.#abort.signal });
      if (!isRecord(page) || !Array.isArray(page.items)) throw new KubeApiError(`GET ${path}: the answer is not a list`);
      for (const item of page.items) if (isRecord(item)) items.push(keep(item as KubeObject));
      const metadata = isRecord(page.metadata) ? page.metadata : {};
      continueToken = typeof metadata.continue === 'string' && metadata.continue !== '' ? metadata.continue : undefined;
      if (typeof metadata.resourceVersion === 'string') resourceVersion = metadata.resourceVersion;
    } while (continueToken !== undefined);
    if (resourceVersion === undefined) throw new KubeApiError(`GET ${path}: the list has no resourceVersion`);
    this.store.replace(items);
    return resourceVersion;
  }

  /** One watch until the API server ends it; `onProgress` gets each new resourceVersion. Returns how many events came. */
  async #watch(from: string, onProgress: (resourceVersion: string) => void): Promise<number> {
    const { client, path } = this.#options;
    const timeoutSeconds = this.#options.watchTimeoutSeconds?.() ?? 300 + Math.floor(Math.random() * 300);
    const query = new URLSearchParams({ watch: 'true', resourceVersion: from, allowWatchBookmarks: 'true', timeoutSeconds: String(timeoutSeconds) });
    let events = 0;
    let latest = from;
    await client.watch(
      `${path}?${query}`,
      (raw) => {
        const outcome = applyWatchEvent(this.store, parseWatchEvent(raw));
        if (outcome.next === 'relist') throw new RelistNeeded();
        if (outcome.next === 'retry') throw new KubeApiError(outcome.message);
        events++;
        if (outcome.resourceVersion !== undefined) latest = outcome.resourceVersion;
        onProgress(latest);
      },
      // Bookmarks come about once a minute; a silent socket well past the watch's own timeout is dead.
      { signal: this.#abort.signal, timeoutMs: (timeoutSeconds + 60) * 1000 },
    );
    return events;
  }
}
