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
  // Istio does not check the characters of names it sets, but Envoy refuses such a configuration.
  if (!isHeaderToken(name)) fi.warn(path, `${quote(name)} is not a valid header name (RFC 7230 token characters only); Envoy will refuse this route`);
}

function checkHeaderValue(fi: Findings, value: string, path: string): void {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) {
      fi.error(path, 'header value contains a control character');
      return;
    }
  }
  const problem = envoyFormatProblem(value);
  if (problem) fi.error(path, `${problem}; Envoy formats %VARIABLE% and %VARIABLE(args)% in header values, write "%%" for a literal percent sign`);
}

type FormatState = 'literal' | 'name' | 'array' | 'string-start' | 'string' | 'after-string' | 'args-end' | 'var-end';

/**
 * What Envoy's header formatter would refuse in a value, or undefined. The same single pass over
 * the characters as Envoy's parser (and Istio's port of it): literal text, `%%`, `%NAME%` and
 * `%NAME(...)%` with an optional JSON array of strings as arguments.
 */
export function envoyFormatProblem(value: string): string | undefined {
  let state: FormatState = 'literal';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    switch (state) {
      case 'literal':
        if (ch !== '%') break;
        if (i + 1 >= value.length) return 'a single "%" ends the value';
        if (value[i + 1] === '%') i++;
        else state = 'name';
        break;
      case 'name':
        if (ch === '%') state = 'literal';
        else if (ch === '(') state = 'array';
        break;
      case 'array':
        if (ch === '[') state = 'string-start';
        else if (ch !== ' ') state = 'string';
        break;
      case 'after-string':
        if (ch === ',') state = 'string-start';
        else if (ch === ']') state = 'args-end';
        else if (ch !== ' ') return `expected ",", "]" or a space at ${quote(value.slice(i, i + 20))}`;
        break;
      case 'string-start':
        if (ch === '"') state = 'string';
        else if (ch !== ' ') return `expected a quoted string argument at ${quote(value.slice(i, i + 20))}`;
        break;
      case 'string':
        if (ch === '\\') {
          if (i + 1 >= value.length) return 'a backslash ends the value inside a string argument';
          i++;
        } else if (ch === ')') state = 'var-end';
        else if (ch === '"') state = 'after-string';
        break;
      case 'args-end':
        if (ch === ')') state = 'var-end';
        else if (ch !== ' ') return `expected ")" at ${quote(value.slice(i, i + 20))}`;
        break;
      case 'var-end':
        if (ch === '%') state = 'literal';
        else if (ch !== ' ') return `expected the closing "%" at ${quote(value.slice(i, i + 20))}`;
        break;
    }
  }
  return state === 'literal' ? undefined : `unterminated %VARIABLE% expression in ${quote(value)}`;
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
