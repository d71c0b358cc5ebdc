// Idle memory of one `weft proxy` as the image runs it (a tsc build), in production mode: it
// generated its key, sent its CSR to a real identity service on loopback (dev trust anchor,
// issuer and service-account token, as test/identity's fixture makes them) and holds the issued
// certificate; beside it the same proxy with static certificate files. Each is sampled after
// it has been ready and idle for a few seconds; the median of a few runs is printed. Asserts
// nothing. BENCH_PROXY_MEMORY_RUNS sets the number of runs.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFixtureServer } from '../test/identity/fixture.ts';
import { buildWeft, SOURCE_WEFT } from './lib/build-weft.ts';

const RUNS = Number(process.env.BENCH_PROXY_MEMORY_RUNS ?? 3);
const IDLE_MS = 5_000;

const dir = await mkdtemp(join(tmpdir(), 'weft-bench-proxy-memory-'));
const weft = buildWeft(dir);
const identity = await startFixtureServer();
const { fx, server } = identity;
const anchors = join(dir, 'ca.pem');
await writeFile(anchors, fx.anchor.certPem);
const token = fx.writeToken('proxy.token', fx.token({ namespace: 'shop', serviceAccount: 'cart' }));
const identityDir = join(dir, 'identity');

async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as net.AddressInfo;
  s.close();
  await once(s, 'close');
  return port;
}

interface Sample { ready: boolean; rss: number; anon: number; fileBacked: number }

async function measure(identityFlags: string[]): Promise<Sample> {
  const [inbound, outbound, admin] = [await freePort(), await freePort(), await freePort()];
  const args = [weft, 'proxy', ...identityFlags, `--trust-anchors=${anchors}`, '--pod-namespace=shop', '--service-account=cart', `--inbound-port=${inbound}`, `--outbound-port=${outbound}`, `--admin-port=${admin}`, '--log-level=info'];
  const proxy = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let logs = '';
  proxy.stderr.on('data', (chunk: Buffer) => (logs += chunk.toString()));
  let ready = false;
  for (let i = 0; i < 200 && !ready && proxy.exitCode === null; i++) {
    ready = (await fetch(`http://127.0.0.1:${admin}/ready`).then((r) => r.status, () => 0)) === 200;
    if (!ready) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (!ready) console.error(logs.split('\n').slice(-8).join('\n'));
  await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
  // VmRSS counts the touched pages of Node's binary too (file-backed, shared by every Node
  // process on the node); RssAnon is the proxy's own memory.
  const status = await readFile(`/proc/${proxy.pid}/status`, 'utf8').catch(() => '');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) / 1024;
  proxy.kill('SIGTERM');
  if (proxy.exitCode === null) await once(proxy, 'exit');
  return { ready, rss: kb('VmRSS'), anon: kb('RssAnon'), fileBacked: kb('RssFile') };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const production = [`--identity-url=https://127.0.0.1:${server.port}`, `--identity-token-file=${token}`, `--identity-dir=${identityDir}`];
// The static files are the ones the production proxy wrote into its identity directory.
const fixed = [`--identity-cert=${join(identityDir, 'cert.pem')}`, `--identity-key=${join(identityDir, 'key.pem')}`];
const rows: [string, Sample[]][] = [
  ['--identity-url (certificate from the identity service)', []],
  ['--identity-cert/--identity-key (static files)', []],
];
for (let run = 0; run < RUNS; run++) {
  // Interleaved, so a drift in the machine's state touches both rows alike.
  rows[0]![1].push(await measure(production));
  rows[1]![1].push(await measure(fixed));
}
await identity.close();
await rm(dir, { recursive: true, force: true });

const f = (n: number) => n.toFixed(1);
console.log(`\nweft proxy idle memory, median of ${RUNS} runs, ${IDLE_MS / 1000} s after ready`);
console.log('| identity | ready | RSS MB | of which anonymous | of which file-backed (Node binary) | RSS MB per run |');
console.log('| --- | --- | ---: | ---: | ---: | --- |');
for (const [name, samples] of rows) {
  console.log(`| ${name} | ${samples.every((s) => s.ready) ? 'yes' : 'NO'} | ${f(median(samples.map((s) => s.rss)))} | ${f(median(samples.map((s) => s.anon)))} | ${f(median(samples.map((s) => s.fileBacked)))} | ${samples.map((s) => f(s.rss)).join(', ')} |`);
}
console.log(`(goal: RSS at most 64 MB idle; proxy run from ${weft === SOURCE_WEFT ? 'the TypeScript sources' : 'a tsc build, as in the image'})`);
