import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { ValidationOutcome } from '../../src/validate/index.ts';
import { validateObject } from '../../src/validate/index.ts';
import { apRule, httpRoute, spRoute } from './helpers.ts';

// Whatever arrives, validation answers: never a throw, always a well-formed outcome, and
// hostile inputs answer within a generous bound (1 s, so this is not a flaky timing test).

const HEADS = [
  { apiVersion: 'linkerd.io/v1alpha2', kind: 'ServiceProfile' },
  { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService' },
  { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy' },
] as const;

const SEEDS: Record<string, unknown>[] = [
  spRoute({ condition: { all: [{ method: 'GET' }, { not: { pathRegex: '/x' } }] }, responseClasses: [{ condition: { status: { min: 500 } }, isFailure: true }], timeout: '1s' }, { retryBudget: { retryRatio: 0.2, minRetriesPerSecond: 10, ttl: '10s' }, dstOverrides: [{ authority: 'a:80', weight: '1' }] }),
  httpRoute({
    match: [{ uri: { prefix: '/a' }, headers: { x: { exact: 'y' } }, sourceLabels: { app: 'a' } }],
    route: [{ destination: { host: 'a', subset: 'v1', port: { number: 80 } }, weight: 50 }, { destination: { host: 'b' }, weight: 50, headers: { request: { set: { 'x-a': 'b' } } } }],
    retries: { attempts: 3, perTryTimeout: '1s', retryOn: '5xx' }, fault: { abort: { httpStatus: 500, percentage: { value: 1 } } },
    corsPolicy: { allowOrigins: [{ exact: 'https://x' }], allowMethods: ['GET'], maxAge: '1h' }, mirror: { host: 'm' }, mirrorPercentage: { value: 5 }, timeout: '2s',
  }, { gateways: ['mesh', 'ns/gw'], exportTo: ['.'], tcp: [{ match: [{ port: 1 }], route: [{ destination: { host: 'db' } }] }] }),
  apRule({ from: [{ source: { principals: ['a'], ipBlocks: ['10.0.0.0/8'] } }], to: [{ operation: { ports: ['80'], paths: ['/{*}/x'] } }], when: [{ key: 'request.headers[x]', values: ['y'] }] }, { selector: { matchLabels: { app: 'a' } }, action: 'DENY' }),
];

function wellFormed(outcome: ValidationOutcome): void {
  assert.ok(Array.isArray(outcome.violations) && Array.isArray(outcome.warnings));
  for (const v of outcome.violations) assert.ok(typeof v.path === 'string' && typeof v.message === 'string' && v.message.length > 0);
  for (const w of outcome.warnings) assert.equal(typeof w, 'string');
}

test('arbitrary JSON never throws, as a whole object or as the spec of each kind', () => {
  fc.assert(
    fc.property(fc.jsonValue(), fc.constantFrom(...HEADS), fc.jsonValue(), (any, head, spec) => {
      wellFormed(validateObject(any));
      const outcome = validateObject({ ...head, metadata: { name: 'x', namespace: 'y' }, spec });
      assert.equal(outcome.kind, head.kind);
      wellFormed(outcome);
    }),
    { numRuns: 600 },
  );
});

type Path = (string | number)[];

function paths(value: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...prefix, i], out));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  return out;
}

function mutate(value: unknown, path: Path, replacement: unknown, mode: 'replace' | 'delete' | 'add'): unknown {
  if (path.length === 0) return mode === 'replace' ? replacement : value;
  const [head, ...rest] = path;
  if (Array.isArray(value)) {
    const copy = [...value];
    if (rest.length === 0 && mode === 'delete') copy.splice(Number(head), 1);
    else copy[Number(head)] = mutate(copy[Number(head)], rest, replacement, mode);
    return copy;
  }
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    if (rest.length === 0 && mode === 'delete') delete copy[String(head)];
    else if (rest.length === 0 && mode === 'add') copy[`${String(head)}x`] = replacement;
    else copy[String(head)] = mutate(copy[String(head)], rest, replacement, mode);
    return copy;
  }
  return value;
}

test('the seed objects are valid, so mutations start from a real object', () => {
  for (const seed of SEEDS) assert.deepEqual(validateObject(seed).violations, []);
});

test('arbitrary mutations of valid objects never throw and keep the kind', () => {
  fc.assert(
    fc.property(
      fc.nat(SEEDS.length - 1),
      fc.array(fc.tuple(fc.nat(), fc.oneof(fc.jsonValue(), fc.constantFrom(null, '', '*', -1, 0, 1e300, '10', '(a+)+$', [], {}))), { minLength: 1, maxLength: 4 }),
      fc.constantFrom('replace', 'delete', 'add') as fc.Arbitrary<'replace' | 'delete' | 'add'>,
      (seedIndex, edits, mode) => {
        let object: unknown = SEEDS[seedIndex];
        for (const [pick, replacement] of edits) {
          const all = paths(object).filter((p) => p.length > 0);
          if (all.length === 0) break;
          object = mutate(object, all[pick % all.length], replacement, mode);
        }
        wellFormed(validateObject(object));
      },
    ),
    { numRuns: 800 },
  );
});

function timed(object: unknown): { ms: number; outcome: ValidationOutcome } {
  const start = performance.now();
  const outcome = validateObject(object);
  return { ms: performance.now() - start, outcome };
}

const BOUND_MS = 1000;

test('hostile inputs answer within the bound', () => {
  let deep: Record<string, unknown> = { method: 'GET' };
  for (let i = 0; i < 20_000; i++) deep = { all: [deep] };
  let deepJson: unknown = 'x';
  for (let i = 0; i < 20_000; i++) deepJson = { a: [deepJson] };
  const huge = 'a'.repeat(5_000_000);
  const evil = '(a+)+$';
  const cases: [string, unknown][] = [
    ['deeply nested all', spRoute({ condition: deep })],
    ['deeply nested JSON in a match', httpRoute({ match: [{ uri: { exact: '/' }, extra: deepJson }] })],
    ['huge host', httpRoute({}, { hosts: [huge] })],
    ['huge timeout', httpRoute({ timeout: '1'.repeat(1_000_000) + 's' })],
    ['huge header name', httpRoute({ match: [{ headers: { [huge]: { exact: 'x' } } }] })],
    ['huge label value', httpRoute({ match: [{ sourceLabels: { a: huge } }] })],
    ['huge regex', httpRoute({ match: [{ uri: { regex: huge } }] })],
    ['huge pathRegex', spRoute({ condition: { pathRegex: huge } })],
    ['catastrophic regex', httpRoute({ match: [{ uri: { regex: `^${evil}` } }, { headers: { x: { regex: '(x+x+)+y' } } }] })],
    ['catastrophic pathRegex', spRoute({ condition: { pathRegex: '^(([a-z])+.)+[A-Z]([a-z])+$' } })],
    ['nested repetition regex', httpRoute({ match: [{ uri: { regex: '((((a{1,100}){1,100}){1,100}){1,100})' } }] })],
    ['many overlapping hosts', httpRoute({}, { gateways: ['ns/gw'], hosts: Array.from({ length: 20_000 }, (_, i) => `*.h${i}.example.com`) })],
    ['many identical matches', httpRoute({}, { http: Array.from({ length: 2_000 }, () => ({ match: Array.from({ length: 20 }, () => ({ uri: { exact: '/a' } })), route: [{ destination: { host: 'a' } }] })) })],
    ['many rules', apRule({}, { rules: Array.from({ length: 50_000 }, () => ({ to: [{ operation: { ports: ['x'] } }] })) })],
    ['a path of a million slashes', apRule({ to: [{ operation: { paths: [`/a${'/'.repeat(1_000_000)}b{`] } }] })],
    ['a when key of a million brackets', apRule({ when: [{ key: `request.headers${'['.repeat(1_000_000)}`, values: ['x'] }] })],
    ['huge header value with percent signs', httpRoute({ headers: { request: { set: { x: '%'.repeat(1_000_001) } } } })],
  ];
  for (const [name, object] of cases) {
    const { ms, outcome } = timed(object);
    wellFormed(outcome);
    assert.ok(ms < BOUND_MS, `${name}: ${ms.toFixed(0)} ms`);
  }
});

test('hostile regexes are refused or accepted by syntax, never run', () => {
  // RE2 accepts these (they are linear there); what matters is that nothing backtracks.
  assert.deepEqual(validateObject(httpRoute({ match: [{ uri: { regex: '(a+)+$' } }] })).violations, []);
  assert.ok(validateObject(httpRoute({ match: [{ uri: { regex: '(a)\\1' } }] })).violations.some((v) => /RE2/.test(v.message)));
});

test('weft validate on arbitrary text never throws and gives one status per object', async () => {
  const { validateManifests, exitCode } = await import('../../src/validate/manifests.ts');
  const { stringify } = await import('yaml');
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 400 }), fc.jsonValue().map((v) => stringify(v)), fc.constantFrom(...SEEDS).map((s) => `${stringify(s)}---\n{{{`)), (text) => {
      const results = validateManifests([{ name: 'x.yaml', text }]);
      for (const r of results) assert.ok(['valid', 'invalid', 'skipped', 'error'].includes(r.status));
      assert.ok(exitCode(results) === 0 || exitCode(results) === 1);
    }),
    { numRuns: 300 },
  );
});
