// Validation cost per object: typical objects of each kind, and the hostile inputs the property
// tests bound at 1 s. Prints validations/s, median and p99 per case.
import { validateObject } from '../src/validate/index.ts';

type Case = { name: string; object: unknown; iterations: number };

const typicalVS = {
  apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'reviews', namespace: 'bookinfo' },
  spec: {
    hosts: ['reviews'],
    http: [
      { match: [{ headers: { 'end-user': { exact: 'jason' } } }], route: [{ destination: { host: 'reviews', subset: 'v2' } }], retries: { attempts: 3, perTryTimeout: '2s', retryOn: '5xx,connect-failure' } },
      { route: [{ destination: { host: 'reviews', subset: 'v1' }, weight: 75 }, { destination: { host: 'reviews', subset: 'v3' }, weight: 25 }], timeout: '10s' },
    ],
  },
};

const typicalSP = {
  apiVersion: 'linkerd.io/v1alpha2', kind: 'ServiceProfile', metadata: { name: 'web.booksapp.svc.cluster.local', namespace: 'booksapp' },
  spec: {
    routes: [
      { name: 'GET /books', condition: { method: 'GET', pathRegex: '/books' }, responseClasses: [{ condition: { status: { min: 500, max: 599 } }, isFailure: true }], timeout: '250ms' },
      { name: 'POST /books/{id}', condition: { method: 'POST', pathRegex: '/books/\\d+' }, isRetryable: true },
      { name: 'GET /authors', condition: { all: [{ method: 'GET' }, { not: { pathRegex: '/authors/admin.*' } }] } },
    ],
    retryBudget: { retryRatio: 0.2, minRetriesPerSecond: 10, ttl: '10s' },
  },
};

const typicalAP = {
  apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'httpbin', namespace: 'foo' },
  spec: {
    selector: { matchLabels: { app: 'httpbin' } },
    rules: [{ from: [{ source: { principals: ['cluster.local/ns/default/sa/sleep'] } }], to: [{ operation: { methods: ['GET'], paths: ['/info*'], ports: ['8000'] } }], when: [{ key: 'request.auth.claims[iss]', values: ['https://accounts.google.com'] }] }],
  },
};

let deep: Record<string, unknown> = { method: 'GET' };
for (let i = 0; i < 20_000; i++) deep = { all: [deep] };
const huge = 'a'.repeat(5_000_000);

const cases: Case[] = [
  { name: 'VirtualService (typical)', object: typicalVS, iterations: 20_000 },
  { name: 'ServiceProfile (typical)', object: typicalSP, iterations: 20_000 },
  { name: 'AuthorizationPolicy (typical)', object: typicalAP, iterations: 20_000 },
  { name: 'not validated (Deployment)', object: { apiVersion: 'apps/v1', kind: 'Deployment' }, iterations: 50_000 },
  { name: 'hostile: all nested 20000 deep', object: { ...typicalSP, spec: { routes: [{ name: 'x', condition: deep }] } }, iterations: 50 },
  { name: 'hostile: 5 MB host', object: { ...typicalVS, spec: { ...typicalVS.spec, hosts: [huge] } }, iterations: 20 },
  { name: 'hostile: 5 MB regex', object: { ...typicalVS, spec: { hosts: ['r'], http: [{ match: [{ uri: { regex: huge } }], route: [{ destination: { host: 'r' } }] }] } }, iterations: 20 },
  { name: 'hostile: (a+)+$ and friends', object: { ...typicalVS, spec: { hosts: ['r'], http: [{ match: [{ uri: { regex: '^(a+)+$' } }, { headers: { x: { regex: '(x+x+)+y' } } }, { uri: { regex: '((((a{1,100}){1,100}){1,100}){1,100})' } }], route: [{ destination: { host: 'r' } }] }] } }, iterations: 50 },
  { name: 'hostile: 20000 wildcard hosts', object: { ...typicalVS, spec: { ...typicalVS.spec, gateways: ['ns/gw'], hosts: Array.from({ length: 20_000 }, (_, i) => `*.h${i}.example.com`) } }, iterations: 5 },
  { name: 'hostile: 50000 bad AP rules', object: { ...typicalAP, spec: { rules: Array.from({ length: 50_000 }, () => ({ to: [{ operation: { ports: ['x'] } }] })) } }, iterations: 5 },
];

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const rows: string[][] = [];
for (const c of cases) {
  for (let i = 0; i < Math.min(50, c.iterations); i++) validateObject(c.object); // warm up
  const times: number[] = [];
  const start = performance.now();
  for (let i = 0; i < c.iterations; i++) {
    const t = performance.now();
    validateObject(c.object);
    times.push(performance.now() - t);
  }
  const total = performance.now() - start;
  times.sort((a, b) => a - b);
  const fmt = (ms: number) => (ms < 1 ? `${(ms * 1000).toFixed(1)} µs` : `${ms.toFixed(2)} ms`);
  rows.push([c.name, String(c.iterations), Math.round((c.iterations / total) * 1000).toLocaleString('en-US'), fmt(percentile(times, 50)), fmt(percentile(times, 99))]);
}

const header = ['case', 'runs', 'validations/s', 'p50', 'p99'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells: string[]) => '| ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ') + ' |';
console.log(line(header));
console.log('| ' + widths.map((w, i) => (i === 0 ? '-'.repeat(w) : '-'.repeat(w - 1) + ':')).join(' | ') + ' |');
for (const r of rows) console.log(line(r));
