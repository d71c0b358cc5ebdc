import { isRecord } from '../kube/types.ts';
import type { Findings } from './collector.ts';
import { field, item, quote } from './collector.ts';
import type { Obj } from './json.ts';
import { jsonType, readObject, readStringList } from './json.ts';
import { isHeaderToken } from './names.ts';

// Header manipulation in VirtualService routes, as Istio checks it: names, Envoy %VAR% values,
// and the authority that may be set only once.

export function checkHeaderOperations(fi: Findings, headers: Obj, path: string): void {
  for (const side of ['request', 'response'] as const) {
    const ops = readObject(fi, headers, side, path);
    if (!ops) continue;
    const p = field(path, side);
    for (const op of ['set', 'add'] as const) {
      const map = readObject(fi, ops, op, p);
      if (!map) continue;
      for (const [name, value] of Object.entries(map)) {
        const hp = field(field(p, op), name);
        checkHeaderName(fi, name, hp, side === 'request');
        if (typeof value !== 'string') fi.error(hp, `expected a string header value, got ${jsonType(value)}`);
        else checkHeaderValue(fi, value, hp);
      }
    }
    const remove = readStringList(fi, ops, 'remove', p);
    remove?.forEach(([i, name]) => checkHeaderName(fi, name, item(field(p, 'remove'), i), false));
  }
}

function checkHeaderName(fi: Findings, name: string, path: string, requestSet: boolean): void {
  if (name === '') {
    fi.error(path, 'header name must not be empty');
    return;
  }
  const lower = name.toLowerCase();
  if (requestSet && (lower === ':authority' || lower === 'host')) return;
  if (lower === 'host' || lower === ':authority') {
    fi.error(path, `${quote(name)}: the Host header can only be set on requests (headers.request.set/add, or rewrite.authority)`);
    return;
  }
  if (name.startsWith(':')) {
    fi.error(path, `${quote(name)}: pseudo-headers (starting with ":") cannot be changed here; only :authority may be set on requests`);
    return;
  }
  if (!isHeaderToken(name)) fi.error(path, `${quote(name)} is not a valid header name (RFC 7230 token characters only)`);
}

function checkHeaderValue(fi: Findings, value: string, path: string): void {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) {
      fi.error(path, 'header value contains a control character');
      return;
    }
  }
  // Envoy formats %VARIABLE% in header values; "%%" is a literal percent sign.
  let i = 0;
  while (i < value.length) {
    const start = value.indexOf('%', i);
    if (start < 0) break;
    if (value[start + 1] === '%') {
      i = start + 2;
      continue;
    }
    const end = value.indexOf('%', start + 1);
    if (end < 0) {
      fi.error(path, `unterminated %VARIABLE% expression starting at ${quote(value.slice(start, start + 40))}; write "%%" for a literal percent sign`);
      return;
    }
    i = end + 1;
  }
}

/** rewrite.authority and request set/add of :authority or Host all set the same header. */
export function checkAuthorityOnce(fi: Findings, rewrite: Obj | undefined, headers: Obj | undefined, path: string): void {
  const sources: [string, string][] = [];
  if (rewrite && typeof rewrite.authority === 'string' && rewrite.authority !== '') sources.push([field(field(path, 'rewrite'), 'authority'), rewrite.authority]);
  const request = headers && isRecord(headers.request) ? headers.request : undefined;
  for (const op of ['set', 'add']) {
    const map = request && isRecord(request[op]) ? (request[op] as Obj) : undefined;
    if (!map) continue;
    for (const [name, value] of Object.entries(map)) {
      const lower = name.toLowerCase();
      if ((lower === ':authority' || lower === 'host') && typeof value === 'string') {
        sources.push([field(field(field(field(path, 'headers'), 'request'), op), name), value]);
      }
    }
  }
  for (let i = 1; i < sources.length; i++) {
    fi.error(sources[i][0], `sets the authority to ${quote(sources[i][1])}, but ${sources[0][0]} already sets it to ${quote(sources[0][1])}; set it only once`);
  }
}
