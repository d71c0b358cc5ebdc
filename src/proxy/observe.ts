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
}

export function observe(client: Socket, server: Socket, recorder: () => HttpRecorder): Observed {
  const state: Observed = { protocol: 'unknown', idle: () => false, onIdle: undefined };
  let buffered: Buffer | undefined;
  const first = (chunk: Buffer): void => {
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
      observer.client(buffered);
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
    } else if (found.kind === 'http2') {
      // HTTP/2 multiplexes: there is no idle point between requests to close at, so a draining
      // proxy waits for the client to finish (or the grace period) as with opaque streams.
      const http = recorder();
      const observer = new Http2Observer({ request: () => http.request(), response: (status, ms) => http.response(status, ms) });
      state.protocol = 'http2';
      observer.client(buffered);
      client.on('data', (c: Buffer) => observer.client(c));
      server.on('data', (c: Buffer) => observer.server(c));
    } else {
      state.protocol = 'opaque';
    }
    buffered = undefined;
  };
  client.on('data', first);
  return state;
}

/** The Observed of a connection that is never looked at. */
export function opaque(): Observed {
  return { protocol: 'opaque', idle: () => false, onIdle: undefined };
}
