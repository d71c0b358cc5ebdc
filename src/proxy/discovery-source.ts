import { checkServerIdentity } from 'node:tls';
import { readFile } from 'node:fs/promises';
import type { ProxyLogger } from './log.ts';
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

/** TLS for an https discovery URL: the mesh trust anchors and the name the server must prove. */
export interface DiscoveryTls {
  trustAnchorsPem: string;
  serverName: string;
}

// node:https is loaded on first use: file discovery (and every pod until its first poll)
// should not carry node:http's few megabytes.
async function getOverMeshTls(url: string, tls: DiscoveryTls, timeoutMs: number): Promise<string> {
  const https = await import('node:https');
  return new Promise((resolve, reject) => {
    const request = https.get(url, { ca: tls.trustAnchorsPem, servername: tls.serverName, checkServerIdentity: (_host, cert) => checkServerIdentity(tls.serverName, cert), timeout: timeoutMs }, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        // A discovery document is a few bytes per pod; anything this large is not one.
        if (size > 32 * 1024 * 1024) request.destroy(new Error(`GET ${url}: response larger than 32 MiB`));
        else chunks.push(chunk);
      });
      response.on('end', () => {
        if (response.statusCode !== 200) reject(new Error(`GET ${url}: HTTP ${response.statusCode}`));
        else resolve(Buffer.concat(chunks).toString('utf8'));
      });
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url}: timed out after ${timeoutMs} ms`)));
    request.on('error', reject);
  });
}

export function pollDiscovery(options: { file?: string; url?: string; tls?: DiscoveryTls; intervalMs: number; log: ProxyLogger; fetchTimeoutMs?: number }): DiscoverySource {
  let table: DiscoveryTable = EMPTY_DISCOVERY;
  let lastText: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const where = options.file ?? options.url ?? '';
  const read = async (): Promise<string> => {
    if (options.file !== undefined) return readFile(options.file, 'utf8');
    if (options.tls !== undefined && options.url?.startsWith('https:')) return getOverMeshTls(options.url, options.tls, options.fetchTimeoutMs ?? 5000);
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
