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

/** Splits a byte stream into HTTP/2 frames, calling back with each frame's header and payload. */
class FrameReader {
  #pending: Buffer | undefined;
  #skipPreface: number;
  readonly #onFrame: (type: number, flags: number, stream: number, payload: Buffer) => void;

  constructor(preface: boolean, onFrame: (type: number, flags: number, stream: number, payload: Buffer) => void) {
    this.#skipPreface = preface ? H2_PREFACE.length : 0;
    this.#onFrame = onFrame;
  }

  push(chunk: Buffer): void {
    let buf = this.#pending === undefined ? chunk : Buffer.concat([this.#pending, chunk]);
    this.#pending = undefined;
    if (this.#skipPreface > 0) {
      const n = Math.min(this.#skipPreface, buf.length);
      this.#skipPreface -= n;
      buf = buf.subarray(n);
    }
    let p = 0;
    while (buf.length - p >= 9) {
      const length = buf.readUIntBE(p, 3);
      if (buf.length - p < 9 + length) break;
      const type = buf[p + 3];
      // Only HEADERS payloads are looked at; other frames are skipped by their length.
      if (type === HEADERS) this.#onFrame(type, buf[p + 4], buf.readUInt32BE(p + 5) & 0x7fffffff, buf.subarray(p + 9, p + 9 + length));
      p += 9 + length;
    }
    // Keep only what a frame still needs; a large DATA frame's bytes are not worth copying,
    // so at most its header is held and the rest is counted off.
    if (p < buf.length) this.#hold(buf.subarray(p));
  }

  #skip = 0;

  #hold(rest: Buffer): void {
    if (rest.length >= 9 && rest[3] !== HEADERS) {
      // A non-HEADERS frame split across reads: drop its payload as it arrives.
      const length = rest.readUIntBE(0, 3);
      this.#skip = 9 + length - rest.length;
      return;
    }
    this.#pending = Buffer.from(rest);
  }

  /** Bytes still to drop before the next frame starts; the observer strips them first. */
  take(chunk: Buffer): Buffer {
    if (this.#skip === 0) return chunk;
    const n = Math.min(this.#skip, chunk.length);
    this.#skip -= n;
    return chunk.subarray(n);
  }
}

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
  readonly #client: FrameReader;
  readonly #server: FrameReader;
  readonly #now: () => number;

  constructor(events: Http2Events, now: () => number = () => performance.now()) {
    this.#now = now;
    this.#client = new FrameReader(true, (_type, _flags, stream) => {
      // Client streams are odd; a second HEADERS on a stream carries trailers, not a request.
      if (stream % 2 === 1 && !this.#started.has(stream)) {
        this.#started.set(stream, this.#now());
        events.request();
      }
    });
    this.#server = new FrameReader(false, (_type, flags, stream, payload) => {
      const start = this.#started.get(stream);
      if (start === undefined) return;
      const status = statusOfBlock(headerBlock(flags, payload));
      if (status >= 100 && status < 200) return; // informational: the final head is still to come
      this.#started.delete(stream);
      events.response(status, this.#now() - start);
    });
  }

  client(chunk: Buffer): void {
    const rest = this.#client.take(chunk);
    if (rest.length > 0) this.#client.push(rest);
  }

  server(chunk: Buffer): void {
    const rest = this.#server.take(chunk);
    if (rest.length > 0) this.#server.push(rest);
  }
}
