import { isRecord } from '../kube/types.ts';
import type { Findings } from './collector.ts';
import { field, item, quote } from './collector.ts';
import { checkIstioDuration } from './istio.ts';
import type { Obj } from './json.ts';
import { has, INT32_MAX, INT32_MIN, jsonType, readArray, readBool, readInteger, readNumber, readObject, readString, readStringList, UINT32_MAX } from './json.ts';
import { isHeaderToken } from './names.ts';
import { re2Problem } from './regex.ts';
import { STRING_MATCH_KEYS, checkPort, checkRegex } from './vs-scope.ts';

// Per-route policies of VirtualService HTTP routes: redirect, direct response, rewrite, fault
// injection, retries and CORS.

const MAX_DIRECT_RESPONSE = 1024 * 1024;
const WARN_DIRECT_RESPONSE = 100 * 1024;

export function checkRedirect(fi: Findings, redirect: Obj, path: string): void {
  const uri = readString(fi, redirect, 'uri', path) ?? '';
  const authority = readString(fi, redirect, 'authority', path) ?? '';
  const scheme = readString(fi, redirect, 'scheme', path) ?? '';
  const hasPort = has(redirect, 'port');
  const hasDerive = has(redirect, 'derivePort');
  if (hasPort && hasDerive) fi.error(path, 'set only one of port or derivePort');
  if (uri === '' && authority === '' && scheme === '' && !hasPort && !hasDerive) {
    fi.error(path, 'a redirect must change something: set uri, authority, scheme, port or derivePort');
  }
  const code = readInteger(fi, redirect, 'redirectCode', path, 0, UINT32_MAX, 'uint32');
  if (code !== undefined && code !== 0 && (code < 300 || code > 399)) fi.error(field(path, 'redirectCode'), `${code} is not a redirect status; expected 300 to 399`);
  if (scheme !== '' && scheme !== 'http' && scheme !== 'https') fi.error(field(path, 'scheme'), `${quote(scheme)} is not a redirect scheme; expected "http" or "https"`);
  const port = readInteger(fi, redirect, 'port', path, 0, UINT32_MAX, 'uint32');
  if (port !== undefined && port > 0) checkPort(fi, port, field(path, 'port'));
  const derive = readString(fi, redirect, 'derivePort', path);
  if (derive !== undefined && derive !== 'FROM_PROTOCOL_DEFAULT' && derive !== 'FROM_REQUEST_PORT') {
    fi.error(field(path, 'derivePort'), `${quote(derive)} is not one of FROM_PROTOCOL_DEFAULT, FROM_REQUEST_PORT`);
  }
}

function checkHTTPStatus(fi: Findings, status: number, path: string): void {
  // Istio's own check accepts 600 although its message says 200-599.
  if (status < 200 || status > 600) fi.error(path, `${status} is not an HTTP status weft can answer with; expected 200 to 599`);
}

export function checkDirectResponse(fi: Findings, response: Obj, path: string): void {
  const status = readInteger(fi, response, 'status', path, 0, UINT32_MAX, 'uint32');
  if (status === undefined) fi.error(field(path, 'status'), 'required: the HTTP status to answer with');
  else checkHTTPStatus(fi, status, field(path, 'status'));
  const body = readObject(fi, response, 'body', path);
  if (!body) return;
  const bp = field(path, 'body');
  if (has(body, 'string') && has(body, 'bytes')) fi.error(bp, 'set only one of string or bytes');
  let size = 0;
  const text = readString(fi, body, 'string', bp);
  if (text !== undefined) size = Buffer.byteLength(text, 'utf8');
  const bytes = readString(fi, body, 'bytes', bp);
  if (bytes !== undefined) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(bytes) || bytes.length % 4 === 1) fi.error(field(bp, 'bytes'), 'not valid base64');
    else size = Math.floor((bytes.length * 3) / 4);
  }
  if (size > MAX_DIRECT_RESPONSE) fi.error(bp, `body is ${size} bytes; direct responses must be under 1 MiB (large bodies slow down every proxy's configuration)`);
  else if (size > WARN_DIRECT_RESPONSE) fi.warn(bp, `body is ${size} bytes; direct responses over 100 KiB slow down configuration pushes`);
}

export function checkRewrite(fi: Findings, rewrite: Obj, path: string): void {
  const uri = readString(fi, rewrite, 'uri', path) ?? '';
  const authority = readString(fi, rewrite, 'authority', path) ?? '';
  const regexRewrite = readObject(fi, rewrite, 'uriRegexRewrite', path);
  if (uri !== '' && regexRewrite) fi.error(path, 'set only one of uri or uriRegexRewrite');
  if (uri === '' && !regexRewrite && authority === '') fi.error(path, 'a rewrite must set uri, uriRegexRewrite or authority');
  if (regexRewrite) {
    const rp = field(path, 'uriRegexRewrite');
    const match = readString(fi, regexRewrite, 'match', rp) ?? '';
    const replacement = readString(fi, regexRewrite, 'rewrite', rp) ?? '';
    if (match === '' || replacement === '') fi.error(rp, 'uriRegexRewrite needs both match and rewrite');
    if (match !== '') {
      const problem = re2Problem(match);
      if (problem) fi.error(field(rp, 'match'), `${problem}; Istio matches with RE2 syntax`);
    }
  }
}

const GRPC_CODES = new Set([
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
]);

function checkFaultPercentage(fi: Findings, parent: Obj, path: string): void {
  const percentage = readObject(fi, parent, 'percentage', path);
  if (!percentage) return;
  const value = readNumber(fi, percentage, 'value', field(path, 'percentage'));
  if (value === undefined) return;
  if (value < 0 || value > 100 || (value > 0 && value < 0.0001)) {
    fi.error(field(field(path, 'percentage'), 'value'), `${value} is not a usable percentage; expected 0, or from 0.0001 to 100`);
  }
}

export function checkFault(fi: Findings, fault: Obj, path: string): void {
  const abort = readObject(fi, fault, 'abort', path);
  const delay = readObject(fi, fault, 'delay', path);
  if (!abort && !delay) fi.error(path, 'fault injection needs an abort, a delay, or both');
  if (abort) {
    const ap = field(path, 'abort');
    checkFaultPercentage(fi, abort, ap);
    const kinds = ['httpStatus', 'grpcStatus', 'http2Error'].filter((k) => has(abort, k));
    if (kinds.length > 1) fi.error(ap, `set only one of httpStatus, grpcStatus or http2Error, not ${kinds.join(' and ')}`);
    if (kinds.length === 0) fi.warn(ap, 'abort configured without httpStatus or grpcStatus, so it does nothing');
    const status = readInteger(fi, abort, 'httpStatus', ap, INT32_MIN, INT32_MAX, 'int32');
    if (status !== undefined) checkHTTPStatus(fi, status, field(ap, 'httpStatus'));
    const grpc = readString(fi, abort, 'grpcStatus', ap);
    if (grpc !== undefined && !GRPC_CODES.has(grpc)) fi.error(field(ap, 'grpcStatus'), `${quote(grpc)} is not a gRPC status name; expected one of ${[...GRPC_CODES].join(', ')}`);
    if (has(abort, 'http2Error')) fi.error(field(ap, 'http2Error'), 'HTTP/2 error aborts are not supported; use httpStatus or grpcStatus');
  }
  if (delay) {
    const dp = field(path, 'delay');
    checkFaultPercentage(fi, delay, dp);
    if (has(delay, 'fixedDelay') && has(delay, 'exponentialDelay')) fi.error(dp, 'set only one of fixedDelay or exponentialDelay');
    checkIstioDuration(fi, delay, 'fixedDelay', dp);
    if (has(delay, 'exponentialDelay')) {
      checkIstioDuration(fi, delay, 'exponentialDelay', dp);
      fi.error(field(dp, 'exponentialDelay'), 'exponential delays are not supported; use fixedDelay');
    }
    readInteger(fi, delay, 'percent', dp, INT32_MIN, INT32_MAX, 'int32');
  }
}

const RETRY_ON = new Set([
  '5xx', 'gateway-error', 'reset', 'reset-before-request', 'connect-failure', 'retriable-4xx', 'refused-stream', 'retriable-status-codes',
  'retriable-headers', 'envoy-ratelimited', 'http3-post-connect-failure', 'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable',
]);

/** Codes Go's net/http has a status text for: what Istio accepts as a numeric retryOn item. */
const HTTP_STATUS_CODES = new Set([
  100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 307, 308, 400, 401, 402, 403, 404,
  405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 418, 421, 422, 423, 424, 425, 426, 428, 429, 431, 451, 500, 501, 502,
  503, 504, 505, 506, 507, 508, 510, 511,
]);

export function checkRetries(fi: Findings, retries: Obj, path: string): void {
  const attempts = readInteger(fi, retries, 'attempts', path, INT32_MIN, INT32_MAX, 'int32') ?? 0;
  if (attempts < 0) fi.error(field(path, 'attempts'), `${attempts} is negative; expected 0 (no retries) or more`);
  const retryOn = readString(fi, retries, 'retryOn', path) ?? '';
  const configured = ['perTryTimeout', 'retryRemoteLocalities'].filter((k) => has(retries, k));
  if (retryOn !== '') configured.push('retryOn');
  if (attempts === 0 && configured.length > 0) {
    fi.error(field(path, 'attempts'), `${has(retries, 'attempts') ? '0 disables retries' : 'not set, so retries are disabled'}, yet ${configured.join(', ')} ${configured.length > 1 ? 'are' : 'is'} configured; set attempts to 1 or more, or remove them`);
  }
  checkIstioDuration(fi, retries, 'perTryTimeout', path);
  checkIstioDuration(fi, retries, 'backoff', path);
  readBool(fi, retries, 'retryRemoteLocalities', path);
  if (retryOn !== '') {
    // Split on "," without trimming, as Envoy reads it: " 503" is not a policy.
    for (const policy of retryOn.split(',')) {
      const numeric = /^[+-]?[0-9]+$/.test(policy) ? Number(policy) : 0;
      if (!HTTP_STATUS_CODES.has(numeric) && !RETRY_ON.has(policy)) {
        fi.error(field(path, 'retryOn'), `${quote(policy)} is not a retryOn policy; expected comma-separated items without spaces, each an HTTP status code or one of ${[...RETRY_ON].join(', ')}`);
      }
    }
  }
}

const CORS_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', '*']);

export function checkCors(fi: Findings, cors: Obj, path: string): void {
  const origins = readArray(fi, cors, 'allowOrigins', path);
  origins?.forEach((origin, i) => {
    const p = item(field(path, 'allowOrigins'), i);
    if (!isRecord(origin)) {
      fi.error(p, `expected a string match object with exact, prefix or regex, got ${jsonType(origin)}`);
      return;
    }
    const set = STRING_MATCH_KEYS.filter((k) => has(origin, k));
    if (set.length > 1) fi.error(p, `set only one of exact, prefix or regex, not ${set.join(' and ')}`);
    const key = set[set.length - 1];
    const value = key ? readString(fi, origin, key, p) : undefined;
    if (value === undefined || value === '') {
      fi.error(p, 'an allowed origin needs a non-empty exact, prefix or regex');
    } else if (key === 'regex') {
      checkRegex(fi, value, field(p, 'regex'));
    }
  });
  const methods = readStringList(fi, cors, 'allowMethods', path);
  methods?.forEach(([i, method]) => {
    if (!CORS_METHODS.has(method)) fi.error(item(field(path, 'allowMethods'), i), `${quote(method)} is not a supported HTTP method; expected one of GET, HEAD, POST, PUT, PATCH, DELETE, CONNECT, OPTIONS, TRACE (uppercase)`);
  });
  for (const key of ['allowHeaders', 'exposeHeaders']) {
    const list = readStringList(fi, cors, key, path);
    list?.forEach(([i, name]) => {
      const p = item(field(path, key), i);
      if (name === '*') return;
      if (name === '') fi.error(p, 'header name must not be empty');
      else if (!isHeaderToken(name)) fi.error(p, `${quote(name)} is not a valid header name (RFC 7230 token characters only)`);
    });
  }
  checkIstioDuration(fi, cors, 'maxAge', path, 'seconds');
  readBool(fi, cors, 'allowCredentials', path);
}
