import type { Socket } from 'node:net';
import { detect, MAX_DETECT_BYTES } from './sniff.ts';
import { Http1Observer } from './http1.ts';
import { GOAWAY_NOTICE, Http2Observer } from './http2.ts';
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
  /**
   * The proxy is draining: calls `end` once the connection can be closed without cutting a
   * request short (HTTP/1: at the next idle point; HTTP/2: after a GOAWAY notice, once no
   * stream is open). Never calls it for opaque streams, which finish on their own or are cut.
   */
  drain(end: () => void): void;
}

// After its GOAWAY notice a draining HTTP/2 connection stays open at least this long, for
// streams the client opened before the notice reached it.
const H2_SETTLE_MS = 1000;

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
    // Until the protocol is known, a drain request waits for it.
    drain: (end) => {
      pendingDrain = end;
    },
  };
  let pendingDrain: (() => void) | undefined;
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
      state.drain = (end) => {
        if (observer.idle) end();
        else state.onIdle = end;
      };
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
      // HTTP/2 multiplexes: there is no idle point between requests to close at. A draining
      // proxy tells the client with a GOAWAY notice, put in at a frame boundary of the server's
      // stream, and closes once every stream has finished.
      const http = recorder();
      const observer = new Http2Observer({ request: () => http.request(), response: (status, ms) => http.response(status, ms) });
      state.protocol = 'http2';
      observer.client(buffered);
      let noticeWanted = false;
      let noticeAt: number | undefined;
      let settle: NodeJS.Timeout | undefined;
      let finish: (() => void) | undefined;
      const closeIfQuiet = (): void => {
        if (noticeAt === undefined || finish === undefined || observer.openStreams > 0 || settle !== undefined) return;
        const wait = H2_SETTLE_MS - (performance.now() - noticeAt);
        if (wait <= 0) return finish();
        settle = setTimeout(() => {
          settle = undefined;
          closeIfQuiet();
        }, wait);
        settle.unref();
      };
      const sendNotice = (): void => {
        if (noticeAt !== undefined || client.destroyed || !client.writable) return;
        client.write(GOAWAY_NOTICE);
        noticeAt = performance.now();
        closeIfQuiet();
      };
      state.drain = (end) => {
        finish = end;
        observer.onQuiet = closeIfQuiet;
        if (observer.serverAtBoundary) sendNotice();
        else noticeWanted = true;
      };
      const onClient = (c: Buffer): void => observer.client(c);
      const onServer = (c: Buffer): void => {
        observer.server(c);
        // This chunk is written to the client by the relay's listener, which runs after this
        // one; the notice goes right after it.
        if (noticeWanted && observer.serverAtBoundary) {
          noticeWanted = false;
          process.nextTick(sendNotice);
        }
      };
      client.on('data', onClient);
      server.on('data', onServer);
      detachers.push(() => {
        client.off('data', onClient);
        server.off('data', onServer);
      });
    } else {
      state.protocol = 'opaque';
      state.drain = () => {};
    }
    buffered = undefined;
    if (pendingDrain !== undefined) state.drain(pendingDrain);
  };
  detachers.push(() => client.off('data', first));
  if (sent !== undefined) first(sent.bytes, sent.at);
  if (state.protocol === 'unknown') client.on('data', first);
  return state;
}

/** The Observed of a connection that is never looked at. */
export function opaque(): Observed {
  return { protocol: 'opaque', idle: () => false, onIdle: undefined, reusable: () => false, detach: () => {}, drain: () => {} };
}
