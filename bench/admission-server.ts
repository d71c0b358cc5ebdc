// The server side of the admission benchmark, in its own process: the real controller
// (HTTPS, HTTP/2 with HTTP/1.1 fallback, TLS 1.3) plus a no-op route on the same stack as the
// baseline. Logs as the controller does at BENCH_LOG_LEVEL (default info) into /dev/null, so
// the per-admission log line is paid for as in production. Prints its port on stdout when
// listening, then the size of /inject's answer.
import { readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { createLogger } from '../src/log.ts';
import { buildAdmissionApp } from '../src/controller/server.ts';
import { createAdmissionMetrics } from '../src/controller/metrics.ts';
import { defaultInjectorConfig } from '../src/inject/config.ts';
import { FileClusterState } from '../src/kube/file-state.ts';

const [certFile, keyFile, clusterDir, reviewFile] = process.argv.slice(2) as [string, string, string, string];
const clusterState = await FileClusterState.fromDirectory(clusterDir);
const app = buildAdmissionApp({
  log: createLogger('controller', process.env.BENCH_LOG_LEVEL ?? 'info', '/dev/null'),
  metrics: createAdmissionMetrics(new Registry()),
  inject: { config: defaultInjectorConfig('bench'), clusterState, onError: 'allow' },
  validate: { clusterState, clusterDomain: 'cluster.local' },
  tls: { cert: readFileSync(certFile), key: readFileSync(keyFile), minVersion: 'TLSv1.3' },
});
app.post('/noop', async () => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'noop', allowed: true } }));
// The same no-op answering with a canned body as large as /inject's answer to the benchmark's
// pod, to tell handler work apart from the cost of sending the patch through TLS.
let sized = {};
app.post('/noop-sized', async () => sized);
const injected = await app.inject({ method: 'POST', url: '/inject', headers: { 'content-type': 'application/json' }, payload: readFileSync(reviewFile) });
const patchLength = (injected.json() as { response: { patch?: string } }).response.patch?.length ?? 0;
sized = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'noop', allowed: true, patchType: 'JSONPatch', patch: 'A'.repeat(patchLength) } };
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
process.stdout.write(`${typeof address === 'object' && address ? address.port : 0} ${injected.rawPayload.length}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
