// Watches an HTTP/1.x exchange go by without changing a byte: finds message boundaries in
// both directions (Content-Length, chunked, no-body responses, 1xx), so that each request and
// its response's status and latency can be counted, and so that a draining proxy knows when a
// connection sits idle between messages. It never buffers bodies: a body is skipped by count.
// Anything it cannot follow (a head over 64 KiB, an upgrade, CONNECT, a body read to the end of
// the connection) switches it to "raw", after which it only watches bytes go by.

export interface Http1Events {
  request(method: string): void;
  /** A final response head (status >= 200) to the oldest outstanding request. */
  response(status: number, latencyMs: number): void;
  /** Every request so far has been answered in full: a safe point to close the connection. */
  idle(): void;
}

const MAX_HEAD = 64 * 1024;
const MAX_LINE = 4096;
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');

type State = 'head' | 'body' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailer' | 'raw';

interface Head {
  firstLine: string;
  contentLength: number | undefined;
  chunked: boolean;
  upgrade: boolean;
  invalid: boolean;
  /** A "Connection: close" token: the sender will not (or must not) go on after this message. */
  close: boolean;
}

// Only four header fields matter here, and a head is parsed per message on both proxies (for
// every request and every response), so the head is walked line by line and only a line whose
// first letter could start one of the four names is looked at more closely.
function parseHead(text: string): Head {
  const eol = text.indexOf('\r\n');
  const result: Head = { firstLine: eol === -1 ? text : text.slice(0, eol), contentLength: undefined, chunked: false, upgrade: false, invalid: false, close: false };
  if (eol === -1) return result;
  for (let at = eol + 2; at < text.length; ) {
    let stop = text.indexOf('\r\n', at);
    if (stop === -1) stop = text.length;
    const first = text.charCodeAt(at) | 0x20;
    if (first === 0x63 /* c */ || first === 0x74 /* t */ || first === 0x75 /* u */) field(result, text, at, stop);
    at = stop + 2;
  }
  return result;
}

/** One header line, text[at, stop): acts on it when its name is one of the four. */
function field(result: Head, text: string, at: number, stop: number): void {
  const colon = text.indexOf(':', at);
  if (colon === -1 || colon > stop) return;
  // Names are compared by length first: most lines are not one of the four.
  const length = colon - at;
  if (length !== 14 && length !== 10 && length !== 17 && length !== 7) return;
  const name = text.slice(at, colon).toLowerCase();
  if (name !== 'content-length' && name !== 'connection' && name !== 'transfer-encoding' && name !== 'upgrade') return;
  const value = text.slice(colon + 1, stop).trim().toLowerCase();
  if (name === 'content-length') contentLength(result, value);
  else if (name === 'transfer-encoding') transferEncoding(result, value);
  else if (name === 'upgrade') result.upgrade = true;
  else connection(result, value);
}

const DIGIT_0 = 0x30;

/** The status code of an "HTTP/1.0 " or "HTTP/1.1 " status line followed by three digits. */
export function statusOf(line: string): number | undefined {
  if (line.length < 12 || !line.startsWith('HTTP/1.') || (line[7] !== '0' && line[7] !== '1') || line[8] !== ' ') return undefined;
  let status = 0;
  for (let i = 9; i < 12; i++) {
    const d = line.charCodeAt(i) - DIGIT_0;
    if (d < 0 || d > 9) return undefined;
    status = status * 10 + d;
  }
  return status;
}

/** 1 to 16 capital letters, as every registered method is. */
function isMethod(name: string): boolean {
  if (name.length === 0 || name.length > 16) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x41 || c > 0x5a) return false;
  }
  return true;
}

/** 1 to 15 decimal digits as a number, else undefined. */
function digits(value: string): number | undefined {
  if (value.length === 0 || value.length > 15) return undefined;
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const d = value.charCodeAt(i) - DIGIT_0;
    if (d < 0 || d > 9) return undefined;
    n = n * 10 + d;
  }
  return n;
}

function contentLength(result: Head, value: string): void {
  const n = digits(value);
  if (n === undefined || (result.contentLength !== undefined && result.contentLength !== n)) result.invalid = true;
  else result.contentLength = n;
}

function transferEncoding(result: Head, value: string): void {
  const codings = value.split(',');
  result.chunked = codings[codings.length - 1].trim() === 'chunked';
  if (!result.chunked) result.invalid = true; // a body that only ends at close
}

function connection(result: Head, value: string): void {
  if (value.split(',').some((token) => token.trim() === 'close')) result.close = true;
}

class Reader {
  state: State = 'head';
  remaining = 0;
  pending: Buffer | undefined;
  readonly #onHead: (head: string) => void;
  readonly #onEnd: () => void;

  constructor(onHead: (head: string) => void, onEnd: () => void) {
    this.#onHead = onHead;
    this.#onEnd = onEnd;
  }

  push(chunk: Buffer): void {
    let p = 0;
    while (p < chunk.length && this.state !== 'raw') {
      switch (this.state) {
        case 'head': {
          // Blank lines before a message are allowed (RFC 9112 §2.2) and skipped.
          if (this.pending === undefined) {
            while (p < chunk.length && (chunk[p] === 0x0d || chunk[p] === 0x0a)) p++;
            if (p === chunk.length) return;
            // The common case, a whole head inside one chunk: no copy, no view.
            const end = chunk.indexOf(CRLFCRLF, p);
            if (end !== -1) {
              const head = chunk.toString('latin1', p, end);
              p = end + 4;
              this.#onHead(head);
              break;
            }
          }
          const before = this.pending?.length ?? 0;
          const buf = this.pending === undefined ? chunk.subarray(p) : Buffer.concat([this.pending, chunk.subarray(p)]);
          const end = buf.indexOf(CRLFCRLF, Math.max(0, before - 3));
          if (end === -1) {
            if (buf.length > MAX_HEAD) this.state = 'raw';
            else this.pending = Buffer.from(buf);
            return;
          }
          p += end + 4 - before;
          this.pending = undefined;
          this.#onHead(buf.toString('latin1', 0, end));
          break;
        }
        case 'body':
        case 'chunk-data': {
          const n = Math.min(this.remaining, chunk.length - p);
          p += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            if (this.state === 'body') this.#end();
            else {
              this.state = 'chunk-crlf';
              this.remaining = 2;
            }
          }
          break;
        }
        case 'chunk-crlf': {
          const n = Math.min(this.remaining, chunk.length - p);
          p += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = 'chunk-size';
          break;
        }
        case 'chunk-size':
        case 'trailer': {
          const nl = chunk.indexOf(0x0a, p);
          if (nl === -1) {
            const rest = chunk.subarray(p);
            this.pending = this.pending === undefined ? Buffer.from(rest) : Buffer.concat([this.pending, rest]);
            if (this.pending.length > MAX_LINE) this.state = 'raw';
            return;
          }
          const piece = chunk.subarray(p, nl);
          const line = (this.pending === undefined ? piece : Buffer.concat([this.pending, piece])).toString('latin1').replace(/\r$/, '');
          this.pending = undefined;
          p = nl + 1;
          if (this.state === 'trailer') {
            if (line === '') this.#end();
          } else {
            const m = /^([0-9a-fA-F]{1,12})(;.*)?\s*$/.exec(line);
            if (m === null) this.state = 'raw';
            else {
              const size = parseInt(m[1], 16);
              if (size === 0) this.state = 'trailer';
              else {
                this.state = 'chunk-data';
                this.remaining = size;
              }
            }
          }
          break;
        }
      }
    }
  }

  /** Sets up the body that follows a head: a length, chunks, or nothing. */
  body(head: Head, hasBody: boolean): void {
    if (!hasBody) return this.#end();
    if (head.invalid) {
      this.state = 'raw';
    } else if (head.chunked) {
      this.state = 'chunk-size';
    } else if (head.contentLength !== undefined && head.contentLength > 0) {
      this.state = 'body';
      this.remaining = head.contentLength;
    } else if (head.contentLength === 0) {
      this.#end();
    } else {
      return; // caller decides: no body (request) or read to close (response)
    }
  }

  #end(): void {
    this.state = 'head';
    this.#onEnd();
  }
}

export class Http1Observer {
  readonly #events: Http1Events;
  readonly #outstanding: { method: string; start: number }[] = [];
  readonly #requests: Reader;
  readonly #responses: Reader;
  #answered = 0; // responses whose head was seen and whose body is still passing
  #now: () => number;
  #at: number | undefined;
  #reusable = true;

  constructor(events: Http1Events, now: () => number = () => performance.now()) {
    this.#events = events;
    this.#now = now;
    this.#requests = new Reader((head) => this.#requestHead(head), () => {});
    this.#responses = new Reader((head) => this.#responseHead(head), () => this.#responseEnd());
  }

  /** Bytes from the client towards the server; `at`: when they were sent, if not now. */
  client(chunk: Buffer, at?: number): void {
    this.#at = at;
    this.#requests.push(chunk);
    this.#at = undefined;
  }

  /** Bytes from the server towards the client. */
  server(chunk: Buffer): void {
    this.#responses.push(chunk);
  }

  /** Whether both directions are still being followed (false after an upgrade or a lost thread). */
  get following(): boolean {
    return this.#requests.state !== 'raw' && this.#responses.state !== 'raw';
  }

  /** No request is waiting for (or receiving) its response. */
  get idle(): boolean {
    return this.following && this.#outstanding.length === 0 && this.#answered === 0 && this.#requests.state === 'head' && this.#requests.pending === undefined;
  }

  /**
   * Whether the connection may carry a request of another client once idle: HTTP/1.1 both ways,
   * no "Connection: close", no upgrade offered, and still followed.
   */
  get reusable(): boolean {
    return this.#reusable && this.following;
  }

  #requestHead(text: string): void {
    const head = parseHead(text);
    if (head.close || head.upgrade || !head.firstLine.endsWith(' HTTP/1.1')) this.#reusable = false;
    const space = head.firstLine.indexOf(' ');
    const method = space > 0 ? head.firstLine.slice(0, space) : '';
    if (!isMethod(method)) {
      this.#requests.state = 'raw';
      return;
    }
    this.#outstanding.push({ method, start: this.#at ?? this.#now() });
    this.#events.request(method);
    if (method === 'CONNECT') {
      this.#requests.state = 'raw';
      return;
    }
    this.#requests.body(head, true);
  }

  #responseHead(text: string): void {
    const head = parseHead(text);
    const status = statusOf(head.firstLine);
    const request = this.#outstanding[0];
    if (status === undefined || request === undefined) {
      this.#responses.state = 'raw';
      return;
    }
    if (head.close || !head.firstLine.startsWith('HTTP/1.1 ')) this.#reusable = false;
    if (status === 101) {
      this.#outstanding.shift();
      this.#events.response(status, this.#now() - request.start);
      this.#requests.state = 'raw';
      this.#responses.state = 'raw';
      return;
    }
    if (status < 200) return; // 100 Continue and friends: the final response is still to come
    this.#outstanding.shift();
    this.#answered++;
    this.#events.response(status, this.#now() - request.start);
    if (request.method === 'CONNECT' && status < 300) {
      this.#responses.state = 'raw';
      return;
    }
    const noBody = request.method === 'HEAD' || status === 204 || status === 304;
    this.#responses.body(head, !noBody);
    if (!noBody && !head.chunked && head.contentLength === undefined) this.#responses.state = 'raw'; // read to close
  }

  #responseEnd(): void {
    if (this.#answered > 0) this.#answered--;
    if (this.idle) this.#events.idle();
  }
}
