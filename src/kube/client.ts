// Requests to the API server over node:http(s) with one keep-alive agent: JSON in, JSON out,
// a timeout and a size cap on every answer, and errors that name the URL and carry the API
// server's Status (code, reason, message). Watches stream newline-delimited JSON events.
import * as http from 'node:http';
import * as https from 'node:https';
import { StringDecoder } from 'node:string_decoder';
import type { KubeConnection } from './connection.ts';
import { isRecord } from './types.ts';

export class KubeApiError extends Error {
  override name = 'KubeApiError';
  /** HTTP status, or undefined when there was no answer (connection refused, timeout, TLS). */
  readonly code: number | undefined;
  /** The Status reason (NotFound, Expired, Forbidden, ...) when the API server sent one. */
  readonly reason: string | undefined;
  constructor(message: string, status: { code?: number; reason?: string | undefined } = {}) {
    super(message);
    this.code = status.code;
    this.reason = status.reason;
  }
}

export interface KubeRequest {
  method?: 'GET' | 'POST';
  body?: unknown;
  /** Longest silence on the socket before the request fails (default 30 s). */
  timeoutMs?: number;
  /** Largest answer accepted (default 32 MiB). */
  maxBytes?: number;
  signal?: AbortSignal;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_BYTES = 32 * 1024 * 1024;
/** One watch event holds one object; etcd caps objects near 1.5 MiB. */
const MAX_EVENT_BYTES = 8 * 1024 * 1024;

/** The Status message of an error body, or its first bytes when it is not a Status. */
function describeBody(text: string): { message: string; reason?: string } {
  try {
    const status: unknown = JSON.parse(text);
    if (isRecord(status) && status.kind === 'Status') {
      const message = typeof status.message === 'string' && status.message !== '' ? status.message : String(status.reason ?? 'no message');
      return typeof status.reason === 'string' ? { message, reason: status.reason } : { message };
    }
  } catch {
    // not JSON: show it as text
  }
  return { message: text.slice(0, 200).trim() || 'empty body' };
}

function statusError(label: string, code: number, body: string): KubeApiError {
  const { message, reason } = describeBody(body);
  return new KubeApiError(`${label}: HTTP ${code}${reason ? ` ${reason}` : ''}: ${message}`, { code, reason });
}

export class KubeClient {
  readonly connection: KubeConnection;
  readonly #agent: http.Agent;
  readonly #transport: typeof http | typeof https;
  readonly #prefix: string;

  constructor(connection: KubeConnection) {
    this.connection = connection;
    const secure = connection.server.protocol === 'https:';
    this.#transport = secure ? https : http;
    this.#prefix = connection.server.pathname.replace(/\/+$/, '');
    this.#agent = secure
      ? new https.Agent({
          keepAlive: true,
          rejectUnauthorized: connection.verifyServer,
          ...(connection.ca ? { ca: connection.ca } : {}),
          ...(connection.cert ? { cert: connection.cert } : {}),
          ...(connection.key ? { key: connection.key } : {}),
          ...(connection.tlsServerName ? { servername: connection.tlsServerName } : {}),
        })
      : new http.Agent({ keepAlive: true });
  }

  url(path: string): URL {
    return new URL(`${this.connection.server.origin}${this.#prefix}${path}`);
  }

  async #open(path: string, request: KubeRequest): Promise<{ url: URL; label: string; response: http.IncomingMessage; clientRequest: http.ClientRequest }> {
    const url = this.url(path);
    const method = request.method ?? 'GET';
    const label = `${method} ${url.origin}${url.pathname}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    let authorization: string | undefined;
    try {
      authorization = await this.connection.authorization();
    } catch (error) {
      throw new KubeApiError(`${label}: no credentials: ${(error as Error).message}`);
    }
    if (authorization !== undefined) headers.authorization = authorization;
    const body = request.body === undefined ? undefined : Buffer.from(JSON.stringify(request.body));
    if (body) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(body.length);
    }
    return new Promise((resolve, reject) => {
      const clientRequest = this.#transport.request(url, { method, headers, agent: this.#agent, ...(request.signal ? { signal: request.signal } : {}) }, (response) => resolve({ url, label, response, clientRequest }));
      const timeoutMs = request.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      clientRequest.setTimeout(timeoutMs, () => clientRequest.destroy(new KubeApiError(`${label}: no answer within ${timeoutMs} ms`)));
      clientRequest.on('error', (error) => reject(error instanceof KubeApiError || error.name === 'AbortError' ? error : new KubeApiError(`${label}: ${error.message}`)));
      clientRequest.end(body);
    });
  }

  /** Reads the whole answer; a non-2xx status is a KubeApiError with the Status message. */
  async request(path: string, request: KubeRequest = {}): Promise<unknown> {
    const { label, response } = await this.#open(path, request);
    const maxBytes = request.maxBytes ?? DEFAULT_MAX_BYTES;
    const text = await new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          response.destroy(new KubeApiError(`${label}: answer larger than ${maxBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      response.on('error', (error) => reject(error instanceof KubeApiError ? error : new KubeApiError(`${label}: ${error.message}`)));
    });
    const status = response.statusCode ?? 0;
    if (status < 200 || status > 299) {
      throw statusError(label, status, text);
    }
    try {
      return JSON.parse(text);
    } catch {
      throw new KubeApiError(`${label}: answer is not JSON: ${text.slice(0, 100)}`, { code: status });
    }
  }

  /**
   * Streams a watch: every line of the answer is one JSON event handed to `onEvent`. Resolves
   * when the API server ends the stream (its timeoutSeconds); rejects on a failed request, a
   * dropped connection, an oversized or unparsable event, or a throw from `onEvent`.
   */
  async watch(path: string, onEvent: (event: unknown) => void, request: KubeRequest = {}): Promise<void> {
    const { label, response } = await this.#open(path, request);
    const status = response.statusCode ?? 0;
    if (status !== 200) {
      const text = await new Promise<string>((resolve) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.length < 16 && chunks.push(chunk));
        response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        response.on('error', () => resolve(''));
      });
      throw statusError(label, status, text);
    }
    await new Promise<void>((resolve, reject) => {
      const decoder = new StringDecoder('utf8');
      let pending = '';
      const fail = (error: Error) => {
        response.destroy();
        reject(error);
      };
      response.on('data', (chunk: Buffer) => {
        pending += decoder.write(chunk);
        let newline: number;
        while ((newline = pending.indexOf('\n')) !== -1) {
          const line = pending.slice(0, newline).trim();
          pending = pending.slice(newline + 1);
          if (line === '') continue;
          let event: unknown;
          try {
            event = JSON.parse(line);
          } catch {
            return fail(new KubeApiError(`${label}: watch event is not JSON: ${line.slice(0, 100)}`));
          }
          try {
            onEvent(event);
          } catch (error) {
            return fail(error as Error);
          }
        }
        if (pending.length > MAX_EVENT_BYTES) fail(new KubeApiError(`${label}: watch event larger than ${MAX_EVENT_BYTES} bytes`));
      });
      response.on('end', () => resolve());
      response.on('error', (error) => reject(error.name === 'AbortError' ? error : new KubeApiError(`${label}: watch dropped: ${error.message}`)));
      response.on('close', () => {
        if (!response.complete) reject(new KubeApiError(`${label}: watch dropped`));
      });
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}
