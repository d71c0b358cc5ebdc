import { isRecord } from '../kube/types.ts';
import { field, item, quote } from './collector.ts';
import type { Obj } from './json.ts';
import type { Scope } from './vs-scope.ts';

// Rules Istio reports as unreachable or matches it reports as unused: warnings only.

function canonical(value: unknown, depth = 0): string {
  if (depth > 50) return '…';
  if (Array.isArray(value)) return `[${value.map((v) => canonical(v, depth + 1)).join(',')}]`;
  if (isRecord(value)) {
    return `{${Object.keys(value)
      .filter((k) => value[k] !== null && value[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k], depth + 1)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** A prefix match reduced to what decides whether an earlier one covers it. */
interface PrefixMatch {
  rule: number;
  match: number;
  prefix: string;
  port: unknown;
  method: string;
  authority: string;
  headers: Map<string, string>;
  queryParams: Map<string, string>;
  withoutHeaders: Map<string, string>;
}

function exactOrPrefix(m: unknown): string {
  if (!isRecord(m)) return '';
  if (typeof m.exact === 'string' && m.exact !== '') return `exact:${m.exact}`;
  if (typeof m.prefix === 'string' && m.prefix !== '') return `prefix:${m.prefix}`;
  return '';
}

function stringMatchMap(m: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (isRecord(m)) for (const [k, v] of Object.entries(m)) out.set(k, exactOrPrefix(v));
  return out;
}

function toPrefixMatch(m: Obj, rule: number, match: number): PrefixMatch | undefined {
  const uri = isRecord(m.uri) ? m.uri : undefined;
  if (!uri || typeof uri.prefix !== 'string' || uri.prefix === '') return undefined;
  return {
    rule, match, prefix: uri.prefix, port: m.port ?? 0,
    // Istio treats a match without method as GET for this comparison.
    method: exactOrPrefix(m.method) || 'exact:GET',
    authority: exactOrPrefix(m.authority),
    headers: stringMatchMap(m.headers), queryParams: stringMatchMap(m.queryParams), withoutHeaders: stringMatchMap(m.withoutHeaders),
  };
}

function mapCovered(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (w === undefined || (v !== w && !v.startsWith(w))) return false;
  }
  return true;
}

/** Istio's overlap rule: does earlier match a catch every request the later one would? */
function covers(a: PrefixMatch, b: PrefixMatch): boolean {
  if (!b.prefix.startsWith(a.prefix) || a.port !== b.port) return false;
  if (a.method !== b.method && !a.method.startsWith(b.method)) return false;
  if (a.authority !== b.authority && !a.authority.startsWith(b.authority)) return false;
  return mapCovered(a.headers, b.headers) && mapCovered(a.queryParams, b.queryParams) && mapCovered(a.withoutHeaders, b.withoutHeaders);
}

export function warnUnreachable(scope: Scope, routes: unknown[], base: string, http: boolean): void {
  const seen = new Map<string, number>();
  const prefixes: PrefixMatch[] = [];
  let catchAll = -1;
  routes.forEach((route, i) => {
    if (!isRecord(route)) return;
    const path = item(base, i);
    const matches = Array.isArray(route.match) ? route.match : [];
    if (matches.length === 0) {
      if (catchAll >= 0) scope.f.warn(path, `rule is never used: only the last rule can have no matches, and ${item(base, catchAll)} has none`);
      catchAll = i;
      return;
    }
    if (catchAll >= 0) {
      scope.f.warn(path, `rule is never used: ${item(base, catchAll)} has no matches and catches every request first`);
      return;
    }
    let duplicates = 0;
    matches.forEach((m, j) => {
      if (!isRecord(m) || --scope.budget.left < 0) return;
      const { name: _name, ...rest } = m;
      const key = canonical(http ? rest : m);
      const earlier = seen.get(key);
      if (earlier !== undefined) {
        duplicates++;
        scope.f.warn(item(field(path, 'match'), j), `match is never used: ${item(base, earlier)} has the same match and comes first`);
        return;
      }
      seen.set(key, i);
      const prefix = http ? toPrefixMatch(m, i, j) : undefined;
      if (prefix) prefixes.push(prefix);
    });
    if (duplicates === matches.length) scope.f.warn(path, 'rule is never used: all its matches are used by earlier rules');
  });
  for (let a = 0; a < prefixes.length; a++) {
    for (let b = a + 1; b < prefixes.length; b++) {
      if (--scope.budget.left < 0) return;
      const [x, y] = [prefixes[a], prefixes[b]];
      if (x.prefix === y.prefix || !covers(x, y)) continue;
      scope.f.warn(item(field(item(base, y.rule), 'match'), y.match), `match is never used: prefix ${quote(y.prefix)} is already caught by prefix ${quote(x.prefix)} at ${item(field(item(base, x.rule), 'match'), x.match)}`);
    }
  }
}
