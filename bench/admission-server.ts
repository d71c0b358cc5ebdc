// The server side of the admission benchmark, in its own process: the real controller
// (HTTPS, HTTP/2 with HTTP/1.1 fallback, TLS 1.3) plus a no-op route on the same stack as the
// baseline. Prints its port on stdout when listening.
import { readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { pino } from 'pino';
import { buildAdmissionApp } from '../src/controller/server.ts';
import { createAdmissionMetrics } from '../src/controller/metrics.ts';
import { defaultInjectorConfig } from '../src/inject/config.ts';
import { FileClusterState } from '../src/kube/file-state.ts';

const [certFile, keyFile, clusterDir] = process.argv.slice(2) as [string, string, string];
const clusterState = await FileClusterState.fromDirectory(clusterDir);
const app = buildAdmissionApp({
  log: pino({ level: 'silent' }),
  metrics: createAdmissionMetrics(new Registry()),
  inject: { config: defaultInjectorConfig('bench'), clusterState, onError: 'allow' },
  validate: { clusterState, clusterDomain: 'cluster.local' },
  tls: { cert: readFileSync(certFile), key: readFileSync(keyFile), minVersion: 'TLSv1.3' },
});
app.post('/noop', async () => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'noop', allowed: true } }));
// The same no-op answering with a canned body as large as /inject's, to tell handler work
// apart from the cost of sending a 5 KB patch through TLS.
const sized = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'noop', allowed: true, patchType: 'JSONPatch', patch: 'A'.repeat(Number(process.env.BENCH_PATCH_BYTES ?? 5328)) } };
app.post('/noop-sized', async () => sized);
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
