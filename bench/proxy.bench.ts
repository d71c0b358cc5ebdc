// Proxy overhead, all in one run on the same network namespaces: HTTP load at a fixed
// 1,000 requests/s and at maximum rate (wrk), through
//   direct   client -> app
//   weft     client -> iptables -> weft outbound -> mTLS -> iptables -> weft inbound -> app
//   haproxy  client -> haproxy (client pod) -> mTLS -> haproxy (server pod) -> app
// once with the proxies treating the traffic as opaque TCP and once as HTTP/1.1 (1 KiB
// responses). The app is HAProxy answering from memory, so it is never the bottleneck.
// Every HAProxy runs one thread, as a weft proxy runs one event loop.
//
// The fixed rate is measured twice. The goals are judged on open-loop Poisson arrivals
// (wrk with lib/poisson.lua): requests come as independent events, as they do from many
// clients. hey -q (20 workers at 50/s each) is reported beside it: its workers' tickers start
// together, so it sends bursts of 20 simultaneous requests every 20 ms, and what it measures
// is mostly how long the 20th request of a burst queues behind the other 19.
//
// Needs root, iproute2, iptables, setpriv, hey, wrk and haproxy (Debian packages). Prints a
// skip line and exits 0 without them. WEFT_BENCH_SECONDS sets the length of each run.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestNet, netnsSkipReason, type Pod, type Spawned, type TestNet } from '../test/helpers/netns.ts';
import { nativeAvailable, nativeUnavailableReason } from '../src/proxy-init/original-dst.ts';
import { createTestCa, mintCredentials } from '../test/proxy/certs.ts';
import { buildWeft, SOURCE_WEFT } from './lib/build-weft.ts';


const PROXY_UID = 2102;
const SECONDS = Number(process.env.WEFT_BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = Math.max(2, Math.round(SECONDS / 3));
const RATE = 1000;
const REPS = Math.max(1, Number(process.env.WEFT_BENCH_REPS ?? 3));
const CONNECTIONS = 20; // connections at the fixed rate (wrk and hey), twice as many at max rate
const POISSON_SCRIPT = new URL('./lib/poisson.lua', import.meta.url).pathname;

// App ports on the server pod: one per path and mode so each path is configured once.
const PORT = { direct: 8080, weftHttp: 8081, weftTcp: 8082, haproxyHttp: 9443, haproxyTcp: 9444 };
const HAPROXY_LOCAL = { http: 10000, tcp: 10001 };

type Mode = 'tcp' | 'http';
type Path = 'direct' | 'weft' | 'haproxy';

interface LoadResult {
  p50Ms: number;
  p99Ms: number;
  rps: number;
  errors: number;
}

interface ProcSample {
  cpuSeconds: number;
  rssMb: number;
  /** The anonymous part of RSS: what is the process's own, without the mapped binary. */
  anonMb: number;
}

const skip =
  netnsSkipReason({ iptables: 'any', tools: ['setpriv', 'hey', 'wrk', 'haproxy', 'curl'] }) ??
  (nativeAvailable() ? undefined : `SO_ORIGINAL_DST addon missing: ${nativeUnavailableReason()}`);

function procSample(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, in clock ticks (USER_HZ = 100).
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / 100;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) / 1024;
  return { cpuSeconds, rssMb: kb('VmRSS'), anonMb: kb('RssAnon') };
}

function seconds(text: string, unit: string): number {
  const n = Number(text);
  return unit === 'us' ? n / 1000 : unit === 'ms' ? n : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : NaN;
}

/** hey's summary: "50% in 0.0005 secs", "Requests/sec: 999.8", status and error distributions. */
export function parseHey(out: string): LoadResult {
  const pct = (p: number): number => {
    const m = new RegExp(`\\b${p}% in ([0-9.]+) secs`).exec(out);
    return m ? Number(m[1]) * 1000 : NaN;
  };
  const rps = Number(/Requests\/sec:\s+([0-9.]+)/.exec(out)?.[1] ?? NaN);
  let errors = 0;
  for (const m of out.matchAll(/\[(\d+)\]\s+(\d+) responses/g)) if (m[1] !== '200') errors += Number(m[2]);
  const errorBlock = /Error distribution:\n([\s\S]*)$/.exec(out);
  if (errorBlock) for (const m of errorBlock[1].matchAll(/\[(\d+)\]/g)) errors += Number(m[1]);
  return { p50Ms: pct(50), p99Ms: pct(99), rps, errors };
}

/** wrk --latency: "50%  1.23ms", "Requests/sec: 12345.67", socket errors and non-2xx. */
export function parseWrk(out: string): LoadResult {
  const pct = (p: number): number => {
    const m = new RegExp(`\\s${p}%\\s+([0-9.]+)(us|ms|s|m)\\b`).exec(out);
    return m ? seconds(m[1], m[2]) : NaN;
  };
  const rps = Number(/Requests\/sec:\s+([0-9.]+)/.exec(out)?.[1] ?? NaN);
  let errors = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  if (sock) errors += sock.slice(1).reduce((a, b) => a + Number(b), 0);
  return { p50Ms: pct(50), p99Ms: pct(99), rps, errors };
}

async function waitFor(what: string, check: () => Promise<boolean>, tries = 100): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} never became ready`);
}

// Every HAProxy in the comparison runs one thread with the same limits and timeouts.
function haproxyPreamble(extraGlobal = ''): string {
  return `global
  nbthread 1
  maxconn 4000
${extraGlobal}defaults
  timeout connect 5s
  timeout client 60s
  timeout server 60s
`;
}

function haproxyServerConfig(dir: string): string {
  return `${haproxyPreamble()}frontend app
  bind :${PORT.direct}
  bind :${PORT.weftHttp}
  bind :${PORT.weftTcp}
  mode http
  http-request return status 200 content-type text/plain file ${dir}/1k.txt
`;
}

function haproxyMeshServer(dir: string): string {
  return `${haproxyPreamble('  ssl-default-bind-options ssl-min-ver TLSv1.3\n')}frontend mesh_http
  mode http
  bind :${PORT.haproxyHttp} ssl crt ${dir}/b.pem ca-file ${dir}/ca.pem verify required
  default_backend app_http
frontend mesh_tcp
  mode tcp
  bind :${PORT.haproxyTcp} ssl crt ${dir}/b.pem ca-file ${dir}/ca.pem verify required
  default_backend app_tcp
backend app_http
  mode http
  server app 127.0.0.1:${PORT.direct}
backend app_tcp
  mode tcp
  server app 127.0.0.1:${PORT.direct}
`;
}

function haproxyMeshClient(dir: string, peer: string, identity: string): string {
  const tls = `ssl crt ${dir}/a.pem ca-file ${dir}/ca.pem verify required verifyhost ${identity} sni str(${identity}) ssl-min-ver TLSv1.3`;
  return `${haproxyPreamble()}frontend out_http
  mode http
  bind 127.0.0.1:${HAPROXY_LOCAL.http}
  default_backend peer_http
frontend out_tcp
  mode tcp
  bind 127.0.0.1:${HAPROXY_LOCAL.tcp}
  default_backend peer_tcp
backend peer_http
  mode http
  http-reuse always
  server b ${peer}:${PORT.haproxyHttp} ${tls}
backend peer_tcp
  mode tcp
  server b ${peer}:${PORT.haproxyTcp} ${tls}
`;
}

function url(path: Path, mode: Mode, server: Pod): string {
  if (path === 'direct') return `http://${server.address}:${PORT.direct}/`;
  if (path === 'weft') return `http://${server.address}:${mode === 'http' ? PORT.weftHttp : PORT.weftTcp}/`;
  return `http://127.0.0.1:${HAPROXY_LOCAL[mode]}/`;
}

// One connection, one request at a time: the latency a proxy pair adds with nothing queued.
const PINGPONG_CODE = `
import { connect } from 'node:net';
const [host, port, count] = process.argv.slice(1);
const socket = connect({ host, port: Number(port), noDelay: true });
await new Promise((r) => socket.once('connect', r));
const times = [];
let buf = Buffer.alloc(0);
for (let i = 0; i < Number(count); i++) {
  const t0 = performance.now();
  socket.write('GET / HTTP/1.1\\r\\nHost: bench\\r\\n\\r\\n');
  await new Promise((resolve) => {
    const on = (c) => {
      buf = Buffer.concat([buf, c]);
      const end = buf.indexOf('\\r\\n\\r\\n');
      if (end === -1) return;
      const m = /content-length: *(\\d+)/i.exec(buf.subarray(0, end).toString('latin1'));
      const total = end + 4 + Number(m ? m[1] : 0);
      if (buf.length < total) return;
      buf = buf.subarray(total);
      socket.off('data', on);
      resolve();
    };
    socket.on('data', on);
  });
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
process.stdout.write(JSON.stringify({ p50: times[Math.floor(times.length / 2)], p99: times[Math.floor(times.length * 0.99)] }));
socket.destroy();
`;

async function pingPong(net: TestNet, client: Pod, target: string): Promise<{ p50: number; p99: number }> {
  const u = new URL(target);
  const r = await net.exec(client, [process.execPath, '--input-type=module', '-e', PINGPONG_CODE, '--', u.hostname, u.port, '3000'], { timeoutMs: 60_000 });
  try {
    return JSON.parse(r.stdout) as { p50: number; p99: number };
  } catch {
    return { p50: NaN, p99: NaN };
  }
}

async function hey(net: TestNet, client: Pod, target: string, secs: number): Promise<LoadResult> {
  const perWorker = RATE / CONNECTIONS;
  const r = await net.exec(client, ['hey', '-z', `${secs}s`, '-c', String(CONNECTIONS), '-q', String(perWorker), target], { timeoutMs: (secs + 30) * 1000 });
  return parseHey(r.stdout);
}

/** Poisson arrivals at RATE over CONNECTIONS keep-alive connections (see lib/poisson.lua). */
async function paced(net: TestNet, client: Pod, target: string, secs: number, seed: number): Promise<LoadResult> {
  const r = await net.exec(client, ['wrk', '-t', '1', '-c', String(CONNECTIONS), '-d', `${secs}s`, '--latency', '-s', POISSON_SCRIPT, target, '--', String(RATE), String(seed)], { timeoutMs: (secs + 30) * 1000 });
  return parseWrk(r.stdout);
}

async function wrk(net: TestNet, client: Pod, target: string, secs: number): Promise<LoadResult> {
  const r = await net.exec(client, ['wrk', '-t', '1', '-c', String(CONNECTIONS * 2), '-d', `${secs}s`, '--latency', target], { timeoutMs: (secs + 30) * 1000 });
  return parseWrk(r.stdout);
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor(sorted.length / 2)];
}

function medianResult(runs: LoadResult[]): LoadResult {
  return {
    p50Ms: median(runs.map((x) => x.p50Ms)),
    p99Ms: median(runs.map((x) => x.p99Ms)),
    rps: median(runs.map((x) => x.rps)),
    errors: runs.reduce((n, x) => n + x.errors, 0),
  };
}

function fmt(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}

async function main(): Promise<void> {
  if (skip) {
    process.stdout.write(`proxy bench skipped: ${skip}\n`);
    return;
  }
  const net = await createTestNet({ pods: 2, subnet: 41 });
  const dir = mkdtempSync(join(tmpdir(), 'weft-bench-'));
  chmodSync(dir, 0o755);
  const stopAll: Spawned[] = [];
  try {
    const WEFT = buildWeft(dir);
    const [client, server] = net.pods;
    const ca = await createTestCa('bench');
    const a = await mintCredentials(ca, 'client', 'bench');
    const b = await mintCredentials(ca, 'web', 'bench');
    const write = (name: string, text: string): string => {
      const file = join(dir, name);
      writeFileSync(file, text, { mode: 0o644 });
      return file;
    };
    write('1k.txt', 'x'.repeat(1023) + '\n');
    write('ca.pem', ca.anchorPem);
    write('a.pem', a.certChainPem + a.keyPem);
    write('b.pem', b.certChainPem + b.keyPem);
    const discovery = write('discovery.json', JSON.stringify({ endpoints: [{ ip: client.address, identity: a.identity }, { ip: server.address, identity: b.identity }] }));

    // iptables sends everything through weft except the direct and HAProxy paths' ports.
    const ignore = `${PORT.direct},${PORT.haproxyHttp},${PORT.haproxyTcp},4190,4191`;
    for (const pod of [client, server]) {
      await net.run(pod, [process.execPath, WEFT, 'proxy-init', '--log-level', 'warn', '--inbound-ports-to-ignore', ignore, '--outbound-ports-to-ignore', ignore], { timeoutMs: 30_000 });
    }

    const app = net.spawn(server, ['haproxy', '-db', '-f', write('app.cfg', haproxyServerConfig(dir))]);
    stopAll.push(app);
    const hapB = net.spawn(server, ['haproxy', '-db', '-f', write('hap-b.cfg', haproxyMeshServer(dir))]);
    const hapA = net.spawn(client, ['haproxy', '-db', '-f', write('hap-a.cfg', haproxyMeshClient(dir, server.address, b.identity))]);
    stopAll.push(hapA, hapB);

    const weft: Record<'a' | 'b', Spawned> = {} as Record<'a' | 'b', Spawned>;
    for (const [name, pod, creds] of [['a', client, a], ['b', server, b]] as const) {
      weft[name] = net.spawn(
        pod,
        [
          process.execPath,
          ...(process.env.WEFT_BENCH_NODE_FLAGS ?? '').split(' ').filter((f) => f !== ''),
          WEFT, 'proxy',
          '--identity-cert', write(`${name}-cert.pem`, creds.certChainPem),
          '--identity-key', write(`${name}-key.pem`, creds.keyPem),
          '--trust-anchors', join(dir, 'ca.pem'),
          '--discovery-file', discovery,
          '--opaque-ports', String(PORT.weftTcp),
        ],
        { uid: PROXY_UID, env: { ...process.env, WEFT_PROXY_LOG_LEVEL: 'warn' } },
      );
      stopAll.push(weft[name]);
    }
    for (const [pod, proxy] of [[client, weft.a], [server, weft.b]] as const) {
      await waitFor(`weft proxy in ${pod.ns}`, async () => {
        const r = await net.exec(pod, ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', 'http://127.0.0.1:4191/ready'], { uid: PROXY_UID });
        if (proxy.child.exitCode !== null) throw new Error(`weft proxy exited: ${proxy.stderr}`);
        return r.stdout === '200';
      });
    }
    for (const [path, mode] of [['direct', 'http'], ['weft', 'http'], ['weft', 'tcp'], ['haproxy', 'http'], ['haproxy', 'tcp']] as const) {
      await waitFor(`${path} ${mode}`, async () => (await net.exec(client, ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', url(path, mode, server)])).stdout === '200');
    }

    const pids = {
      weftA: weft.a.child.pid as number,
      weftB: weft.b.child.pid as number,
      hapA: hapA.child.pid as number,
      hapB: hapB.child.pid as number,
    };
    const idle = { weftA: procSample(pids.weftA).rssMb, weftB: procSample(pids.weftB).rssMb, hapA: procSample(pids.hapA).rssMb, hapB: procSample(pids.hapB).rssMb };
    const idleAnon = Math.max(procSample(pids.weftA).anonMb, procSample(pids.weftB).anonMb);

    interface Row {
      mode: Mode;
      path: Path;
      /** Poisson arrivals at RATE: what the goals are judged on. */
      fixed: LoadResult;
      /** hey at RATE: synchronised bursts of CONNECTIONS requests. */
      burst: LoadResult;
      cpuBurst: [number, number];
      max: LoadResult;
      cpuAt1k: [number, number];
      rssLoad: [number, number];
      sequential: { p50: number; p99: number };
    }
    const rows: Row[] = [];
    // WEFT_BENCH_ONLY=weft,direct / WEFT_BENCH_MODES=http narrow a run while tuning; the table
    // and goals need all of them.
    const only = (process.env.WEFT_BENCH_ONLY ?? 'direct,weft,haproxy').split(',');
    const modes = (process.env.WEFT_BENCH_MODES ?? 'tcp,http').split(',');
    // The machine is shared, so other work comes and goes during a run: paths take turns,
    // each measurement is repeated (REPS, default 3), and the median of the fixed-rate runs and
    // the best of the max-rate runs are reported, the same rule for every path.
    const paths = (['direct', 'weft', 'haproxy'] as const).filter((p) => only.includes(p));
    for (const mode of (['tcp', 'http'] as const).filter((m) => modes.includes(m))) {
      const fixedRuns = new Map<Path, { result: LoadResult; cpu: number[]; rss: number[] }[]>(paths.map((p) => [p, []]));
      const burstRuns = new Map<Path, { result: LoadResult; cpu: number[] }[]>(paths.map((p) => [p, []]));
      const maxRuns = new Map<Path, { result: LoadResult; rss: number[] }[]>(paths.map((p) => [p, []]));
      const procsOf = (path: Path): number[] => (path === 'weft' ? [pids.weftA, pids.weftB] : path === 'haproxy' ? [pids.hapA, pids.hapB] : []);
      for (const path of paths) await wrk(net, client, url(path, mode, server), WARMUP_SECONDS);
      const sequential = new Map<Path, { p50: number; p99: number }>();
      for (const path of paths) sequential.set(path, await pingPong(net, client, url(path, mode, server)));
      for (let rep = 0; rep < REPS; rep++) {
        for (const path of paths) {
          const procs = procsOf(path);
          const before = procs.map(procSample);
          const result = await paced(net, client, url(path, mode, server), SECONDS, rep + 1);
          const after = procs.map(procSample);
          const cpu = procs.map((_, i) => (after[i].cpuSeconds - before[i].cpuSeconds) / SECONDS / (result.rps / 1000));
          fixedRuns.get(path)?.push({ result, cpu, rss: after.map((x) => x.rssMb) });
          const beforeBurst = procs.map(procSample);
          const burst = await hey(net, client, url(path, mode, server), SECONDS);
          const afterBurst = procs.map(procSample);
          burstRuns.get(path)?.push({ result: burst, cpu: procs.map((_, i) => (afterBurst[i].cpuSeconds - beforeBurst[i].cpuSeconds) / SECONDS / (burst.rps / 1000)) });
        }
      }
      for (let rep = 0; rep < Math.max(1, REPS - 1); rep++) {
        for (const path of paths) {
          const result = await wrk(net, client, url(path, mode, server), SECONDS);
          maxRuns.get(path)?.push({ result, rss: procsOf(path).map((pid) => procSample(pid).rssMb) });
        }
      }
      for (const path of paths) {
        const fixedAll = fixedRuns.get(path) ?? [];
        const maxAll = maxRuns.get(path) ?? [];
        const best = maxAll.reduce((a, b) => (b.result.rps > a.result.rps ? b : a));
        const cpuMedian = (i: number): number => median(fixedAll.map((x) => x.cpu[i] ?? NaN));
        rows.push({
          mode,
          path,
          fixed: medianResult(fixedAll.map((x) => x.result)),
          burst: medianResult((burstRuns.get(path) ?? []).map((x) => x.result)),
          cpuBurst: [0, 1].map((i) => median((burstRuns.get(path) ?? []).map((x) => x.cpu[i] ?? NaN))) as [number, number],
          max: { ...best.result, errors: maxAll.reduce((n, x) => n + x.result.errors, 0) },
          cpuAt1k: [cpuMedian(0), cpuMedian(1)],
          sequential: sequential.get(path) ?? { p50: NaN, p99: NaN },
          rssLoad: [0, 1].map((i) => Math.max(...fixedAll.map((x) => x.rss[i] ?? NaN), ...maxAll.map((x) => x.rss[i] ?? NaN))) as [number, number],
        });
      }
    }

    const out: string[] = [];
    out.push(`weft from ${WEFT === SOURCE_WEFT ? 'the TypeScript sources' : 'a tsc build, as in the image'}; idle weft RSS of which anonymous: ${fmt(idleAnon, 0)} MB`);
    out.push(`proxy overhead: ${RATE} req/s fixed, Poisson arrivals (wrk + lib/poisson.lua, ${CONNECTIONS} connections) and in bursts (hey, ${CONNECTIONS} workers); max rate (wrk, 1 thread, ${CONNECTIONS * 2} connections); ${SECONDS}s each after a ${WARMUP_SECONDS}s warm-up; fixed rate: median of ${REPS}, max rate: best of ${Math.max(1, REPS - 1)}`);
    out.push('');
    out.push('| mode | path | achieved req/s, Poisson / hey | p50 ms @1k | p99 ms @1k | +p50 ms | +p99 ms | hey bursts p50 / p99 ms (+p50 / +p99) | sequential p50 / p99 ms | max req/s | max p99 ms | errors | CPU cores per 1k req/s (client, server), Poisson / hey | RSS MB idle -> load (client, server) |');
    out.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |');
    for (const r of rows) {
      const direct = rows.find((x) => x.mode === r.mode && x.path === 'direct') ?? r;
      const idleRss = r.path === 'weft' ? [idle.weftA, idle.weftB] : r.path === 'haproxy' ? [idle.hapA, idle.hapB] : [NaN, NaN];
      out.push(
        `| ${r.mode} | ${r.path} | ${fmt(r.fixed.rps, 0)} / ${fmt(r.burst.rps, 0)} | ${fmt(r.fixed.p50Ms)} | ${fmt(r.fixed.p99Ms)} | ${r.path === 'direct' ? '' : fmt(r.fixed.p50Ms - direct.fixed.p50Ms)} | ${r.path === 'direct' ? '' : fmt(r.fixed.p99Ms - direct.fixed.p99Ms)} | ${fmt(r.burst.p50Ms)} / ${fmt(r.burst.p99Ms)}${r.path === 'direct' ? '' : ` (${fmt(r.burst.p50Ms - direct.burst.p50Ms)} / ${fmt(r.burst.p99Ms - direct.burst.p99Ms)})`} | ${fmt(r.sequential.p50, 3)} / ${fmt(r.sequential.p99, 3)} | ${fmt(r.max.rps, 0)} | ${fmt(r.max.p99Ms)} | ${r.fixed.errors + r.burst.errors + r.max.errors} | ${r.path === 'direct' ? '' : `${fmt(r.cpuAt1k[0], 3)}, ${fmt(r.cpuAt1k[1], 3)} / ${fmt(r.cpuBurst[0], 3)}, ${fmt(r.cpuBurst[1], 3)}`} | ${r.path === 'direct' ? '' : `${fmt(idleRss[0], 0)} -> ${fmt(r.rssLoad[0], 0)}, ${fmt(idleRss[1], 0)} -> ${fmt(r.rssLoad[1], 0)}`} |`,
      );
    }
    out.push('');
    out.push('goals (weft):');
    for (const mode of ['tcp', 'http'] as const) {
      const d = rows.find((x) => x.mode === mode && x.path === 'direct');
      const w = rows.find((x) => x.mode === mode && x.path === 'weft');
      const h = rows.find((x) => x.mode === mode && x.path === 'haproxy');
      if (!d || !w || !h) continue;
      const share = mode === 'tcp' ? 0.8 : 0.6;
      const idleRss = Math.max(idle.weftA, idle.weftB);
      const line = (checks: [string, boolean][]): string => checks.map(([text, ok]) => `${ok ? 'ok' : 'MISS'} ${text}`).join('; ');
      // The fixed-rate goals under each arrival pattern: they pull in opposite directions, since
      // bursts batch work into fewer wakeups (less CPU per request) but queue requests.
      const atFixedRate = (wr: LoadResult, dr: LoadResult, hr: LoadResult, cpu: [number, number]): [string, boolean][] => [
        [`+p50 ${fmt(wr.p50Ms - dr.p50Ms)} ms <= 1`, wr.p50Ms - dr.p50Ms <= 1],
        [`+p99 ${fmt(wr.p99Ms - dr.p99Ms)} ms <= 3`, wr.p99Ms - dr.p99Ms <= 3],
        [`p99 ${fmt(wr.p99Ms)} <= 1.5 x haproxy ${fmt(hr.p99Ms)}`, wr.p99Ms <= 1.5 * hr.p99Ms],
        [`CPU ${fmt(Math.max(...cpu), 3)} cores per 1k req/s <= 0.1`, Math.max(...cpu) <= 0.1],
      ];
      out.push(`  ${mode} @${RATE}/s, Poisson: ${line(atFixedRate(w.fixed, d.fixed, h.fixed, w.cpuAt1k))}`);
      out.push(`  ${mode} @${RATE}/s, hey bursts: ${line(atFixedRate(w.burst, d.burst, h.burst, w.cpuBurst))}`);
      out.push(
        `  ${mode} max rate and memory: ${line([
          [`max ${fmt(w.max.rps, 0)} req/s >= ${share * 100}% of haproxy ${fmt(h.max.rps, 0)} (${fmt((100 * w.max.rps) / h.max.rps, 0)}%)`, w.max.rps >= share * h.max.rps],
          [`errors ${w.fixed.errors + w.burst.errors + w.max.errors} = 0`, w.fixed.errors + w.burst.errors + w.max.errors === 0],
          [`RSS idle ${fmt(idleRss, 0)} MB <= 64, load ${fmt(Math.max(...w.rssLoad), 0)} MB <= 100`, idleRss <= 64 && Math.max(...w.rssLoad) <= 100],
        ])}`,
      );
    }
    process.stdout.write(out.join('\n') + '\n');
  } catch (error) {
    for (const s of stopAll) process.stderr.write(`--- ${s.child.spawnargs.slice(3).join(' ').slice(0, 120)} (exit ${s.child.exitCode})\n${s.stderr.slice(-1500)}\n`);
    throw error;
  } finally {
    await Promise.all(stopAll.map((s) => s.stop(2000)));
    await net.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
