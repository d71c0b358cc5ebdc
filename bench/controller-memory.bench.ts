// Controller memory with 10,000 namespaces: a stand-in API server serves the list and idle
// watches; the real controller (namespace cache included) runs in a child process started as the
// image starts it (bin/weft.js, which caps V8's semi-spaces for the controller), with the identity
// service off and on (TokenReview, discovery's pod cache), and again with V8's own young-generation
// sizing for comparison. Prints a table; asserts nothing. BENCH_CONTROLLER_NODE_OPTIONS replaces
// the V8 flags of the first two rows.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { createIssuer, createTrustAnchor, createWebhookCertificates } from '../src/identity/ca.ts';
import { buildWeft, SOURCE_WEFT } from './lib/build-weft.ts';

const NAMESPACES = 10_000;
const dir = await mkdtemp(join(tmpdir(), 'weft-bench-memory-'));
const certs = await createWebhookCertificates({ service: 'weft-controller', namespace: 'weft', ipAddresses: ['127.0.0.1'] });
await writeFile(join(dir, 'tls.crt'), certs.serving.certPem);
await writeFile(join(dir, 'tls.key'), certs.serving.keyPem);
const issuerDir = join(dir, 'issuer');
await mkdir(issuerDir);
const anchor = await createTrustAnchor({ commonName: 'root.bench.cluster.local' });
const issuer = await createIssuer(anchor, { commonName: 'identity.weft.cluster.local' });
await writeFile(join(issuerDir, 'ca.crt'), anchor.certPem);
await writeFile(join(issuerDir, 'tls.crt'), issuer.certPem);
await writeFile(join(issuerDir, 'tls.key'), issuer.keyPem);

const namespaces = Array.from({ length: NAMESPACES }, (_, i) => ({
  metadata: { name: `team-${i}`, uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, resourceVersion: String(1000 + i), labels: { 'kubernetes.io/metadata.name': `team-${i}`, team: `t${i % 50}` }, annotations: i % 2 === 0 ? { 'linkerd.io/inject': 'enabled' } : {}, creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: { finalizers: ['kubernetes'] },
  status: { phase: 'Active' },
}));
const emptyList = (kind: string) => JSON.stringify({ kind, apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: [] });
const fake = createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://x');
  // An idle watch: stays open.
  if (url.searchParams.get('watch') === 'true') return void response.writeHead(200, { 'content-type': 'application/json' });
  if (url.pathname === '/api/v1/namespaces') {
    // Pages as the API server does: `limit` items, then a `continue` token for the rest.
    const limit = Number(url.searchParams.get('limit') ?? namespaces.length);
    const offset = Number(url.searchParams.get('continue') ?? 0);
    const next = offset + limit < namespaces.length ? String(offset + limit) : undefined;
    const page = { kind: 'NamespaceList', apiVersion: 'v1', metadata: { resourceVersion: '20000', ...(next ? { continue: next } : {}) }, items: namespaces.slice(offset, offset + limit) };
    return void response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(page));
  }
  if (url.pathname === '/version') return void response.writeHead(200, { 'content-type': 'application/json' }).end('{"major":"1","minor":"30","gitVersion":"v1.30.0"}');
  if (url.pathname === '/api/v1/services') return void response.writeHead(200, { 'content-type': 'application/json' }).end(emptyList('ServiceList'));
  if (url.pathname === '/api/v1/pods') return void response.writeHead(200, { 'content-type': 'application/json' }).end(emptyList('PodList'));
  response.writeHead(404, { 'content-type': 'application/json' }).end('{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}');
});
fake.listen(0, '127.0.0.1');
await once(fake, 'listening');
const fakePort = (fake.address() as { port: number }).port;
await writeFile(join(dir, 'kubeconfig'), `apiVersion: v1\nkind: Config\nclusters: [{name: fake, cluster: {server: "http://127.0.0.1:${fakePort}", insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: x}}]\ncontexts: [{name: c, context: {cluster: fake, user: u}}]\ncurrent-context: c\n`);
const weft = buildWeft(dir);

interface Sample { synced: boolean; rss: number; anon: number; fileBacked: number; heap: number }

async function measure(identity: boolean, nodeOptions: string): Promise<Sample> {
  const args = [weft, 'controller', '--address=127.0.0.1', '--port=0', '--admin-address=127.0.0.1', '--admin-port=0', `--tls-cert=${join(dir, 'tls.crt')}`, `--tls-key=${join(dir, 'tls.key')}`, `--kubeconfig=${join(dir, 'kubeconfig')}`, '--log-level=info'];
  args.push(...(identity ? ['--identity-address=127.0.0.1', '--identity-port=0', `--identity-issuer-dir=${issuerDir}`] : ['--identity-disabled']));
  const controller = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_OPTIONS: nodeOptions } });
  let adminPort = 0;
  let synced = false;
  let logs = '';
  controller.stderr.on('data', (chunk: Buffer) => {
    logs += chunk.toString();
    const ports = /"adminPort":(\d+)/.exec(logs);
    if (ports) adminPort = Number(ports[1]);
    if (new RegExp(`"kind":"Namespace","count":${NAMESPACES}`).test(logs)) synced = true;
  });
  const deadline = Date.now() + 60_000;
  while (!(synced && adminPort) && Date.now() < deadline && controller.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 200));
  // Let the list's garbage be collected as it would be in a long-running process.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const metrics = adminPort ? await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text() : '';
  const rss = Number(/process_resident_memory_bytes\{[^}]*\} (\d+)/.exec(metrics)?.[1] ?? NaN) / 1024 / 1024;
  // RSS counts the pages of Node's ~120 MB binary that were touched (file-backed, shared with
  // every Node process on the node); RssAnon is the controller's own memory.
  const status = await readFile(`/proc/${controller.pid}/status`, 'utf8').catch(() => '');
  const anon = Number(/RssAnon:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
  const fileBacked = Number(/RssFile:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
  const heap = Number(/nodejs_heap_size_used_bytes\{[^}]*\} (\d+)/.exec(metrics)?.[1] ?? NaN) / 1024 / 1024;
  if (!synced) console.error(logs.split('\n').slice(-8).join('\n'));
  controller.kill('SIGTERM');
  if (controller.exitCode === null) await once(controller, 'exit');
  return { synced, rss, anon, fileBacked, heap };
}

const f = (n: number, d = 1) => n.toFixed(d);
const given = process.env.BENCH_CONTROLLER_NODE_OPTIONS ?? '';
const flags = given === '' ? 'as bin/weft.js starts it' : `NODE_OPTIONS=${given}`;
// A semi-space size of 0 is V8's default (it grows with the heap) and stops bin/weft.js from setting one.
const v8Defaults = '--max-semi-space-size=0';
const rows: [string, string, Sample][] = [
  ['off', flags, await measure(false, given)],
  ['on (TokenReview, pod cache)', flags, await measure(true, given)],
  ['off', "V8's default semi-spaces", await measure(false, v8Defaults)],
  ['on (TokenReview, pod cache)', "V8's default semi-spaces", await measure(true, v8Defaults)],
];
fake.close();
fake.closeAllConnections();
console.log(`\nController memory with ${NAMESPACES.toLocaleString('en')} namespaces cached`);
console.log('| identity service | V8 flags | synced | RSS MiB | of which anonymous | of which file-backed (Node binary) | heap used MiB |');
console.log('| --- | --- | --- | ---: | ---: | ---: | ---: |');
for (const [name, how, s] of rows) console.log(`| ${name} | ${how} | ${s.synced ? 'yes' : 'NO'} | ${f(s.rss)} | ${f(s.anon)} | ${f(s.fileBacked)} | ${f(s.heap)} |`);
console.log(`(goal: RSS under 120 MB; controller run from ${weft === SOURCE_WEFT ? 'the TypeScript sources' : 'a tsc build, as in the image'})`);
await rm(dir, { recursive: true, force: true });
