import { readFile } from 'node:fs/promises';
import type { Logger } from '../log.ts';
import { buildDiscoveryTable, EMPTY_DISCOVERY, parseDiscoveryText, type DiscoveryTable } from './discovery.ts';

// Keeps a discovery table fresh from a file or a URL, by polling. A failed or malformed
// refresh keeps the last good table: losing discovery must not turn meshed traffic into
// plaintext, and an old answer is better than none.

export interface DiscoverySource {
  lookup(ip: string): string | undefined;
  /** Resolves after the first load attempt, whatever its outcome. */
  readonly loaded: Promise<void>;
  stop(): void;
}

export function staticDiscovery(table: DiscoveryTable): DiscoverySource {
  return { lookup: (ip) => table.lookup(ip), loaded: Promise.resolve(), stop: () => {} };
}

export function pollDiscovery(options: { file?: string; url?: string; intervalMs: number; log: Logger; fetchTimeoutMs?: number }): DiscoverySource {
  let table: DiscoveryTable = EMPTY_DISCOVERY;
  let lastText: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const where = options.file ?? options.url ?? '';
  const read = async (): Promise<string> => {
    if (options.file !== undefined) return readFile(options.file, 'utf8');
    const res = await fetch(options.url as string, { signal: AbortSignal.timeout(options.fetchTimeoutMs ?? 5000) });
    if (!res.ok) throw new Error(`GET ${options.url}: HTTP ${res.status}`);
    return res.text();
  };
  const refresh = async (): Promise<void> => {
    try {
      const text = await read();
      if (text !== lastText) {
        table = buildDiscoveryTable(parseDiscoveryText(text));
        lastText = text;
        options.log.info({ source: where, endpoints: table.size }, 'discovery updated');
      }
    } catch (error) {
      options.log.warn({ source: where, err: (error as Error).message }, 'discovery refresh failed; keeping the last table');
    }
  };
  const loop = (): void => {
    if (stopped) return;
    timer = setTimeout(() => void refresh().then(loop), options.intervalMs);
    timer.unref();
  };
  const loaded = refresh().then(loop);
  return {
    lookup: (ip) => table.lookup(ip),
    loaded,
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
