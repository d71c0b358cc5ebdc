// Watches an HTTP/2 connection go by without changing a byte: counts each request (a client
// HEADERS frame opening a stream) and its response's status and latency (the first server
// HEADERS frame on that stream). Only the frame headers are read, plus the first field of a
// response header block, where servers put :status. HPACK is not decoded in general: a status
// the server sends as a reference into its dynamic table is reported as status 0 ("unknown"),
// which keeps this small and its cost per frame constant.

import { H2_PREFACE } from './sniff.ts';

export interface Http2Events {
  request(): void;
  response(status: number, latencyMs: number): void;
}

const HEADERS = 0x1;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;
// HPACK static table entries 8-14 are ":status" with these values (RFC 7541 appendix A).
const STATIC_STATUS = [200, 204, 206, 304, 400, 404, 500];
// Huffman codes of the digits (RFC 7541 appendix B): '0'-'2' are 5 bits, '3'-'9' 6 bits.
const DIGIT_CODES: [number, number][] = [
  [0x0, 5], [0x1, 5], [0x2, 5], [0x19, 6], [0x1a, 6], [0x1b, 6], [0x1c, 6], [0x1d, 6], [0x1e, 6], [0x1f, 6],
];

/** Three Huffman-coded digits, or undefined when the bytes are anything else. */
function huffmanDigits(bytes: Buffer): string | undefined {
  let bits = 0;
  let n = 0;
  for (const b of bytes) {
    bits = (bits << 8) | b;
    n += 8;
  }
  let out = '';
  while (out.length < 3) {
    let found = false;
    for (let d = 0; d < 10; d++) {
      const [code, len] = DIGIT_CODES[d];
      if (n >= len && ((bits >>> (n - len)) & ((1 << len) - 1)) === code) {
        out += String(d);
        n -= len;
        found = true;
        break;
      }
    }
    if (!found) return undefined;
  }
  return out;
}

/** The :status of a response header block's first field, 0 when it cannot be read cheaply. */
export function statusOfBlock(block: Buffer): number {
  if (block.length === 0) return 0;
  const first = block[0];
  if (first >= 0x88 && first <= 0x8e) return STATIC_STATUS[first - 0x88];
  // Literal field with a static ":status" name (index 8-14): with indexing (01xxxxxx),
  // without indexing (0000xxxx) or never indexed (0001xxxx).
  let nameIndex = -1;
  if ((first & 0xc0) === 0x40) nameIndex = first & 0x3f;
  else if ((first & 0xe0) === 0x00 || (first & 0xf0) === 0x10) nameIndex = first & 0x0f;
  if (nameIndex < 8 || nameIndex > 14 || block.length < 2) return 0;
  const huffman = (block[1] & 0x80) !== 0;
  const len = block[1] & 0x7f;
  if (block.length < 2 + len) return 0;
  const value = block.subarray(2, 2 + len);
  const text = huffman ? huffmanDigits(value) : value.toString('latin1');
  const status = Number(text);
  return text !== undefined && /^\d{3}$/.test(text) && status >= 100 && status <= 599 ? status : 0;
}

type FrameCallback = (type: number, flags: number, stream: number, payload: Buffer | undefined) => void;

/**
 * Splits a byte stream into HTTP/2 frames, calling back once each frame has passed in full with
 * its header, and with its payload for HEADERS frames (other payloads are never kept).
 */
class FrameReader {
  #pending: Buffer | undefined;
  #skipPreface: number;
  #skip = 0;
  // The header of a frame whose payload is being counted off, reported when it is all past.
  #skipped: [number, number, number] | undefined;
  #frames = 0;
  readonly #onFrame: FrameCallback;

  constructor(preface: boolean, onFrame: FrameCallback) {
    this.#skipPreface = preface ? H2_PREFACE.length : 0;
    this.#onFrame = onFrame;
  }

  /** Whether the bytes so far end exactly where a frame ends, after at least one frame. */
  get atBoundary(): boolean {
    return this.#frames > 0 && this.#pending === undefined && this.#skip === 0 && this.#skipPreface === 0;
  }

  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.#skip > 0) {
      const n = Math.min(this.#skip, buf.length);
      this.#skip -= n;
      buf = buf.subarray(n);
      if (this.#skip > 0) return;
      const [type, flags, stream] = this.#skipped as [number, number, number];
      this.#skipped = undefined;
      this.#frame(type, flags, stream, undefined);
    }
    if (buf.length === 0) return;
    if (this.#pending !== undefined) buf = Buffer.concat([this.#pending, buf]);
    this.#pending = undefined;
    if (this.#skipPreface > 0) {
      const n = Math.min(this.#skipPreface, buf.length);
      this.#skipPreface -= n;
      buf = buf.subarray(n);
    }
    let p = 0;
    while (buf.length - p >= 9) {
      const length = buf.readUIntBE(p, 3);
      const type = buf[p + 3];
      const flags = buf[p + 4];
      const stream = buf.readUInt32BE(p + 5) & 0x7fffffff;
      if (buf.length - p < 9 + length) {
        if (type === HEADERS) break;
        // A non-HEADERS frame split across reads: its payload is counted off as it arrives.
        this.#skip = 9 + length - (buf.length - p);
        this.#skipped = [type, flags, stream];
        return;
      }
      this.#frame(type, flags, stream, type === HEADERS ? buf.subarray(p + 9, p + 9 + length) : undefined);
      p += 9 + length;
    }
    if (p < buf.length) this.#pending = Buffer.from(buf.subarray(p));
  }

  #frame(type: number, flags: number, stream: number, payload: Buffer | undefined): void {
    this.#frames++;
    this.#onFrame(type, flags, stream, payload);
  }
}

const DATA = 0x0;
const RST_STREAM = 0x3;
const FLAG_END_STREAM = 0x1;

/**
 * GOAWAY with the highest stream id and NO_ERROR: RFC 9113 §6.8's notice that a graceful
 * shutdown is under way. The client opens no more streams, and none it already sent is refused,
 * so a proxy that cannot drop frames (HPACK state spans the connection) may send it safely.
 */
export const GOAWAY_NOTICE = Buffer.from([0, 0, 8, 0x7, 0, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0]);

function headerBlock(flags: number, payload: Buffer): Buffer {
  let start = 0;
  let end = payload.length;
  if (flags & FLAG_PADDED) {
    end -= payload[0];
    start += 1;
  }
  if (flags & FLAG_PRIORITY) start += 5;
  return start <= end ? payload.subarray(start, end) : Buffer.alloc(0);
}

export class Http2Observer {
  readonly #started = new Map<number, number>();
  // Streams not yet closed both ways, with which sides have ended them.
  readonly #open = new Map<number, { client: boolean; server: boolean }>();
  readonly #client: FrameReader;
  readonly #server: FrameReader;
  readonly #now: () => number;
  /** Called whenever the last open stream closes. */
  onQuiet: (() => void) | undefined;

  constructor(events: Http2Events, now: () => number = () => performance.now()) {
    this.#now = now;
    this.#client = new FrameReader(true, (type, flags, stream) => {
      // Client streams are odd; a second HEADERS on a stream carries trailers, not a request.
      if (type === HEADERS && stream % 2 === 1 && !this.#started.has(stream) && !this.#open.has(stream)) {
        this.#started.set(stream, this.#now());
        this.#open.set(stream, { client: false, server: false });
        events.request();
      }
      this.#track('client', type, flags, stream);
    });
    this.#server = new FrameReader(false, (type, flags, stream, payload) => {
      // A pushed stream (even, opened by the server) is open until the server ends it.
      if (type === HEADERS && stream % 2 === 0 && stream !== 0 && !this.#open.has(stream)) this.#open.set(stream, { client: true, server: false });
      const start = this.#started.get(stream);
      if (type === HEADERS && start !== undefined && payload !== undefined) {
        const status = statusOfBlock(headerBlock(flags, payload));
        if (status < 100 || status >= 200) {
          this.#started.delete(stream);
          events.response(status, this.#now() - start);
        }
      }
      this.#track('server', type, flags, stream);
    });
  }

  #track(side: 'client' | 'server', type: number, flags: number, stream: number): void {
    const s = this.#open.get(stream);
    if (s === undefined) return;
    if (type === RST_STREAM) {
      s.client = s.server = true;
    } else if ((type === HEADERS || type === DATA) && (flags & FLAG_END_STREAM) !== 0) {
      s[side] = true;
    }
    if (s.client && s.server) {
      this.#open.delete(stream);
      this.#started.delete(stream);
      if (this.#open.size === 0) this.onQuiet?.();
    }
  }

  /** Streams opened and not yet closed in both directions. */
  get openStreams(): number {
    return this.#open.size;
  }

  /** Whether the server's bytes so far end at a frame boundary, so a frame may be put in after them. */
  get serverAtBoundary(): boolean {
    return this.#server.atBoundary;
  }

  client(chunk: Buffer): void {
    this.#client.push(chunk);
  }

  server(chunk: Buffer): void {
    this.#server.push(chunk);
  }
}
