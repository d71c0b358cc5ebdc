// Admission benchmark: throughput and latency of /inject over HTTPS with keep-alive against a
// no-op handler on the same stack, the cost of pathological pods, and the controller's memory
// with 10,000 namespaces in its informer cache. Prints tables; asserts nothing.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { Registry } from 'prom-client';
import { pino } from 'pino';
import { createWebhookCertificates } from '../src/identity/ca.ts';
import { buildAdmissionApp } from '../src/controller/server.ts';
import { createAdmissionMetrics } from '../src/controller/metrics.ts';
import { defaultInjectorConfig } from '../src/inject/config.ts';
import { FileClusterState } from '../src/kube/file-state.ts';
import { buildWeft, SOURCE_WEFT } from './lib/build-weft.ts';

const here = new URL('.', import.meta.url).pathname;
const root = new URL('..', import.meta.url).pathname;
const seconds = process.env.BENCH_SECONDS ?? '5';
const dir = await mkdtemp(join(tmpdir(), 'weft-bench-'));
const certs = await createWebhookCertificates({ service: 'weft-controller', namespace: 'weft', ipAddresses: ['127.0.0.1'] });
await writeFile(join(dir, 'ca.crt'), certs.ca.certPem);
await writeFile(join(dir, 'tls.crt'), certs.serving.certPem);
await writeFile(join(dir, 'tls.key'), certs.serving.keyPem);
const review = JSON.parse(await readFile(join(root, 'examples/admission/pod-create.json'), 'utf8'));
await writeFile(join(dir, 'review.json'), JSON.stringify(review));

const server = spawn(process.execPath, [join(here, 'admission-server.ts'), join(dir, 'tls.crt'), join(dir, 'tls.key'), join(root, 'examples/cluster')], { stdio: ['ignore', 'pipe', 'inherit'] });
const [portLine] = (await once(server.stdout, 'data')) as [Buffer];
const port = portLine.toString().trim();

interface LoadResult { requests: number; errors: number; rps: number; p50: number; p99: number }
function load(path: string, mode: 'max' | 'rate', param: number, secs = seconds): LoadResult {
  const result = spawnSync(process.execPath, [join(here, 'admission-load.ts'), port, path, join(dir, 'review.json'), join(dir, 'ca.crt'), mode, String(param), secs], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(result.stderr);
  return JSON.parse(result.stdout) as LoadResult;
}

const hasWrk = spawnSync('wrk', ['--version']).error === undefined;

/**
 * Maximum rate with wrk (C, two threads) when installed, so that the load generator is not the
 * bottleneck; a Node generator is the fallback. wrk's "Requests/sec" and latency percentiles.
 */
function wrkLoad(path: string, connections: number, secs = seconds): LoadResult {
  const result = spawnSync('wrk', ['-t', '2', '-c', String(connections), '-d', `${secs}s`, '--latency', '-s', join(here, 'admission-post.lua'), `https://127.0.0.1:${port}${path}`], {
    encoding: 'utf8',
    env: { ...process.env, BODY: join(dir, 'review.json') },
  });
  if (result.status !== 0) throw new Error(result.stderr || result.stdout);
  const out = result.stdout;
  const ms = (label: string): number => {
    const match = new RegExp(`${label}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    if (!match) return NaN;
    const value = Number(match[1]);
    return match[2] === 'us' ? value / 1000 : match[2] === 's' ? value * 1000 : value;
  };
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (socketErrors ? socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0);
  return { requests, errors, rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN), p50: ms('50'), p99: ms('99') };
}
const maxLoad = (path: string): LoadResult => (hasWrk ? wrkLoad(path, 16) : load(path, 'max', 16));

load('/inject', 'max', 16, '2'); // warm-up: JIT, TLS sessions, caches
load('/noop', 'max', 16, '2');
const baseline = maxLoad('/noop');
const sizedBaseline = maxLoad('/noop-sized');
const inject = maxLoad('/inject');
const baselineRate = load('/noop', 'rate', 1000);
const injectRate = load('/inject', 'rate', 1000);
server.kill('SIGTERM');

const f = (n: number, d = 2) => n.toFixed(d);
console.log(`\nAdmission over HTTPS (TLS 1.3, HTTP/1.1 keep-alive; maximum rate from ${hasWrk ? 'wrk' : 'a Node load process'}, fixed rate from an open-loop Node load process; 2 cores shared by server and load)`);
console.log('| handler | mode | requests | errors | req/s | p50 ms | p99 ms |');
console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
for (const [name, mode, r] of [['no-op baseline', 'max, 16 conns', baseline], ['no-op, /inject-sized answer', 'max, 16 conns', sizedBaseline], ['/inject (Deployment pod)', 'max, 16 conns', inject], ['no-op baseline', '1,000 req/s', baselineRate], ['/inject (Deployment pod)', '1,000 req/s', injectRate]] as const) {
  console.log(`| ${name} | ${mode} | ${r.requests} | ${r.errors} | ${f(r.rps, 0)} | ${f(r.p50)} | ${f(r.p99)} |`);
}
console.log(`\n/inject throughput is ${f((inject.rps / baseline.rps) * 100, 1)}% of the no-op baseline (goal >= 80%), ${f((inject.rps / sizedBaseline.rps) * 100, 1)}% of a no-op sending an answer of the same size; p99 at 1,000/s: ${f(injectRate.p99)} ms (goal < 5 ms)`);

// Pathological pods through the whole handler (JSON parse, decision, patch, base64, serialise).
const clusterState = await FileClusterState.fromDirectory(join(root, 'examples/cluster'));
const app = buildAdmissionApp({
  log: pino({ level: 'silent' }),
  metrics: createAdmissionMetrics(new Registry()),
  inject: { config: defaultInjectorConfig('bench'), clusterState, onError: 'allow' },
  validate: { clusterState, clusterDomain: 'cluster.local' },
});
const manyEnv = structuredClone(review);
manyEnv.request.object.spec.containers[0].env = Array.from({ length: 1500 }, (_, i) => ({ name: `VAR_${i}`, value: `value-${i}-${'x'.repeat(16)}` }));
const big = structuredClone(review);
big.request.object.metadata.annotations = { blob: 'y'.repeat(64 * 1024 - JSON.stringify(review.request.object).length) };
console.log('\nPathological pods through the /inject handler (in process, 200 runs each)');
console.log('| pod | object size | p50 ms | p99 ms | max ms |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const [name, body] of [['typical Deployment pod', review], ['1,500 env vars', manyEnv], ['64 KB pod', big]] as const) {
  const payload = JSON.stringify(body);
  const times: number[] = [];
  for (let i = 0; i < 220; i++) {
    const t0 = performance.now();
    const response = await app.inject({ method: 'POST', url: '/inject', headers: { 'content-type': 'application/json' }, payload });
    if (response.statusCode !== 200 || !response.json().response.patch) throw new Error(`${name}: ${response.body.slice(0, 200)}`);
    if (i >= 20) times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  console.log(`| ${name} | ${(JSON.stringify(body.request.object).length / 1024).toFixed(1)} KiB | ${f(times[100]!)} | ${f(times[197]!)} | ${f(times[199]!)} |`);
}
await app.close();

// The controller's memory with 10,000 namespaces is measured in controller-memory.bench.ts.
await rm(dir, { recursive: true, force: true });
