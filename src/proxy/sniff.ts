// Protocol detection from the first bytes a client sends, without consuming them. Pure: the
// caller buffers, asks, and either waits for more or acts on the answer.

export type Detection =
  | { kind: 'need-more' }
  | { kind: 'tls'; sni: string | undefined; alpn: string[] }
  | { kind: 'http1' }
  | { kind: 'http2' }
  | { kind: 'opaque' };

const NEED_MORE: Detection = { kind: 'need-more' };
const OPAQUE: Detection = { kind: 'opaque' };

export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'].map((m) => Buffer.from(`${m} `, 'latin1'));
// A request line longer than this is not worth waiting for: call it opaque.
const MAX_REQUEST_LINE = 8192;
const TLS_RECORD_MAX = 5 + 16384 + 2048;

/** How many bytes detection may need at most; a caller holding this many gets a final answer. */
export const MAX_DETECT_BYTES = Math.max(MAX_REQUEST_LINE, TLS_RECORD_MAX);

function isPrefixOf(buf: Buffer, of: Buffer): boolean {
  const n = Math.min(buf.length, of.length);
  return buf.compare(of, 0, n, 0, n) === 0;
}

export function detect(buf: Buffer): Detection {
  if (buf.length === 0) return NEED_MORE;
  if (buf[0] === 0x16) return detectTls(buf);
  if (buf[0] === 0x50 /* P */ && isPrefixOf(buf, H2_PREFACE)) return buf.length >= H2_PREFACE.length ? { kind: 'http2' } : NEED_MORE;
  return detectHttp1(buf);
}

function detectHttp1(buf: Buffer): Detection {
  let method: Buffer | undefined;
  let maybe = false;
  for (const m of METHODS) {
    if (!isPrefixOf(buf, m)) continue;
    if (buf.length >= m.length) method = m;
    else maybe = true;
  }
  if (method === undefined) return maybe ? NEED_MORE : OPAQUE;
  const eol = buf.indexOf('\r\n', method.length, 'latin1');
  if (eol === -1) return buf.length >= MAX_REQUEST_LINE ? OPAQUE : NEED_MORE;
  // "METHOD SP target SP HTTP/1.x": the line must end with the version and the target has no spaces.
  const line = buf.toString('latin1', method.length, eol);
  return /^\S+ HTTP\/1\.[01]$/.test(line) ? { kind: 'http1' } : OPAQUE;
}

/**
 * A TLS ClientHello: record type 22, version 3.x, handshake type 1. Waits for the whole first
 * record, since that is where SNI and ALPN sit; a ClientHello fragmented across records is
 * still TLS, only with the names it did not reach unknown.
 */
function detectTls(buf: Buffer): Detection {
  if (buf.length >= 2 && buf[1] !== 0x03) return OPAQUE;
  if (buf.length < 6) return NEED_MORE;
  if (buf[5] !== 0x01) return OPAQUE;
  const recordLength = buf.readUInt16BE(3);
  if (buf.length < 5 + recordLength) return NEED_MORE;
  return { kind: 'tls', ...parseClientHello(buf.subarray(5, 5 + recordLength)) };
}

/** SNI host name and ALPN list of a ClientHello handshake message (possibly truncated). */
export function parseClientHello(hs: Buffer): { sni: string | undefined; alpn: string[] } {
  const result: { sni: string | undefined; alpn: string[] } = { sni: undefined, alpn: [] };
  // type(1) length(3) version(2) random(32)
  let p = 4 + 2 + 32;
  if (hs.length < p + 1) return result;
  p += 1 + hs[p]; // session id
  if (hs.length < p + 2) return result;
  p += 2 + hs.readUInt16BE(p); // cipher suites
  if (hs.length < p + 1) return result;
  p += 1 + hs[p]; // compression methods
  if (hs.length < p + 2) return result;
  const end = Math.min(hs.length, p + 2 + hs.readUInt16BE(p));
  p += 2;
  while (p + 4 <= end) {
    const type = hs.readUInt16BE(p);
    const len = hs.readUInt16BE(p + 2);
    const body = p + 4;
    p = body + len;
    if (p > end) break;
    if (type === 0x0000) result.sni = parseSni(hs.subarray(body, p));
    else if (type === 0x0010) result.alpn = parseAlpn(hs.subarray(body, p));
  }
  return result;
}

function parseSni(ext: Buffer): string | undefined {
  if (ext.length < 2) return undefined;
  const end = Math.min(ext.length, 2 + ext.readUInt16BE(0));
  let p = 2;
  while (p + 3 <= end) {
    const type = ext[p];
    const len = ext.readUInt16BE(p + 1);
    p += 3;
    if (p + len > end) return undefined;
    if (type === 0) return ext.toString('latin1', p, p + len).toLowerCase();
    p += len;
  }
  return undefined;
}

function parseAlpn(ext: Buffer): string[] {
  const out: string[] = [];
  if (ext.length < 2) return out;
  const end = Math.min(ext.length, 2 + ext.readUInt16BE(0));
  let p = 2;
  while (p + 1 <= end) {
    const len = ext[p];
    p += 1;
    if (p + len > end) break;
    out.push(ext.toString('latin1', p, p + len));
    p += len;
  }
  return out;
}
