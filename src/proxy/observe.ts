import type { Socket } from 'node:net';
import { detect, MAX_DETECT_BYTES } from './sniff.ts';
import { Http1Observer } from './http1.ts';
import { Http2Observer } from './http2.ts';
import type { HttpRecorder } from './metrics.ts';

// Metrics-only protocol detection on an already flowing connection: it looks at the first
// bytes the client sends but never holds them back, so it adds no latency. Opaque streams
// lose the listeners after the first chunk and are a bare pipe from then on.

export interface Observed {
  protocol: 'unknown' | 'http1' | 'http2' | 'opaque';
  /** True when the connection sits between HTTP messages (always false for non-HTTP). */
  idle(): boolean;
  /** Called once whenever an HTTP/1 exchange completes with nothing outstanding. */
  onIdle: (() => void) | undefined;
  /** Idle, and nothing so far said the connection must not carry another request (HTTP/1.1 only). */
  reusable(): boolean;
  /** Stops watching: every listener this put on the two sockets is removed. */
  detach(): void;
}

/**
 * `sent`: bytes of the client's that were already written to the server before the observer
 * was attached (a request sent over a pooled connection), and when they were sent.
 */
export function observe(client: Socket, server: Socket, recorder: () => HttpRecorder, sent?: { bytes: Buffer; at: number }): Observed {
  let detachers: (() => void)[] = [];
  const state: Observed = {
    protocol: 'unknown',
    idle: () => false,
    onIdle: undefined,
    reusable: () => false,
    detach: () => {
      for (const d of detachers) d();
      detachers = [];
    },
  };
  let buffered: Buffer | undefined;
  const first = (chunk: Buffer, at?: number): void => {
    buffered = buffered === undefined ? chunk : Buffer.concat([buffered, chunk]);
    const found = detect(buffered);
    if (found.kind === 'need-more' && buffered.length < MAX_DETECT_BYTES) return;
    client.off('data', first);
    if (found.kind === 'http1') {
      const http = recorder();
      const observer = new Http1Observer({
        request: () => http.request(),
        response: (status, ms) => http.response(status, ms),
        idle: () => state.onIdle?.(),
      });
      state.protocol = 'http1';
      state.idle = () => observer.idle;
      state.reusable = () => observer.idle && observer.reusable;
      observer.client(buffered, at);
      const onClient = (c: Buffer): void => {
        observer.client(c);
        if (!observer.following) detach();
      };
      const onServer = (c: Buffer): void => {
        observer.server(c);
        if (!observer.following) detach();
      };
      const detach = (): void => {
        client.off('data', onClient);
        server.off('data', onServer);
      };
      client.on('data', onClient);
      server.on('data', onServer);
      detachers.push(detach);
    } else if (found.kind === 'http2') {
      // HTTP/2 multiplexes: there is no idle point between requests to close at, so a draining
      // proxy waits for the client to finish (or the grace period) as with opaque streams.
      const http = recorder();
      const observer = new Http2Observer({ request: () => http.request(), response: (status, ms) => http.response(status, ms) });
      state.protocol = 'http2';
      observer.client(buffered);
      const onClient = (c: Buffer): void => observer.client(c);
      const onServer = (c: Buffer): void => observer.server(c);
      client.on('data', onClient);
      server.on('data', onServer);
      detachers.push(() => {
        client.off('data', onClient);
        server.off('data', onServer);
      });
    } else {
      state.protocol = 'opaque';
    }
    buffered = undefined;
  };
  detachers.push(() => client.off('data', first));
  if (sent !== undefined) first(sent.bytes, sent.at);
  if (state.protocol === 'unknown') client.on('data', first);
  return state;
}

/** The Observed of a connection that is never looked at. */
export function opaque(): Observed {
  return { protocol: 'opaque', idle: () => false, onIdle: undefined, reusable: () => false, detach: () => {} };
}
