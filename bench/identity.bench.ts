// Identity costs: what a workload key type costs per mTLS handshake, and how fast the CA issues.
// Handshakes are TLS 1.3, mutual, on loopback, a fresh connection each (no resumption), with both
// ends in this process, so a number is the CPU of one client plus one server handshake.
import { connect, createServer, type Server } from 'node:tls';
import { sign as cryptoSign, verify as cryptoVerify, constants, type KeyObject } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createTrustAnchor, createIssuer, mintWorkloadIdentity, issueWorkloadCertificate, type MintedIdentity } from '../src/identity/ca.ts';
import { createCsr } from '../src/identity/csr.ts';
import { generateKey, type KeyType } from '../src/identity/keys.ts';
import { makeFixture, silentLog, newRegistry } from '../test/identity/fixture.ts';
import { startIdentityServer } from '../src/identity/server.ts';
import { post } from '../test/identity/https.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONCURRENCY = 4;

// The machine is shared, so wall-clock rates wobble with the neighbours' load. Each case runs
// ROUNDS times and keeps its best round; the CPU column (this process, all threads) is steadier.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

interface Row {
  name: string;
  opsPerSecond: number;
  cpuMicrosPerOp: number;
}
const rows: Row[] = [];

async function round(op: () => Promise<unknown>, concurrency: number, seconds: number): Promise<{ rate: number; cpu: number }> {
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  let ops = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        await op();
        ops++;
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  return { rate: ops / ((performance.now() - started) / 1000), cpu: (cpu.user + cpu.system) / ops };
}

async function measure(name: string, op: () => Promise<unknown>, concurrency = 1): Promise<void> {
  for (let i = 0; i < 20; i++) await op(); // warm-up: JIT, session caches, lazy loads
  let best = { rate: 0, cpu: Infinity };
  for (let i = 0; i < ROUNDS; i++) {
    const r = await round(op, concurrency, SECONDS / ROUNDS);
    best = { rate: Math.max(best.rate, r.rate), cpu: Math.min(best.cpu, r.cpu) };
  }
  rows.push({ name, opsPerSecond: best.rate, cpuMicrosPerOp: best.cpu });
}

const anchor = await createTrustAnchor();
const issuer = await createIssuer(anchor);
const identity = (sa: string) => ({ trustDomain: 'cluster.local', namespace: 'bench', serviceAccount: sa, controllerNamespace: 'weft' });

async function handshakeServer(cert: MintedIdentity): Promise<Server> {
  const server = createServer({ key: cert.keyPem, cert: cert.chainPem, ca: anchor.certPem, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' }, (socket) => socket.end());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

for (const keyType of ['ecdsa-p256', 'rsa-2048'] as KeyType[]) {
  const serverCert = await mintWorkloadIdentity(issuer, identity('server'), { keyType });
  const clientCert = await mintWorkloadIdentity(issuer, identity('client'), { keyType });
  const server = await handshakeServer(serverCert);
  const { port } = server.address() as AddressInfo;
  const servername = 'server.bench.serviceaccount.identity.weft.cluster.local';
  await measure(
    `mTLS handshake, ${keyType} workload certs`,
    () =>
      new Promise<void>((resolve, reject) => {
        const socket = connect({ host: '127.0.0.1', port, key: clientCert.keyPem, cert: clientCert.chainPem, ca: anchor.certPem, servername, minVersion: 'TLSv1.3' }, () => {
          socket.destroy();
          resolve();
        });
        socket.on('error', reject);
      }),
    CONCURRENCY,
  );
  server.close();
}

// The part of a handshake the key type decides: each side signs its CertificateVerify and checks the peer's.
for (const keyType of ['ecdsa-p256', 'rsa-2048'] as KeyType[]) {
  const a = await generateKey(keyType);
  const b = await generateKey(keyType);
  const transcript = Buffer.alloc(64, 7);
  const opts = (key: KeyObject) => (keyType === 'rsa-2048' ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } : key);
  await measure(`leaf-key crypto per handshake pair, ${keyType}`, async () => {
    const sa = cryptoSign('sha256', transcript, opts(a.privateKey));
    const sb = cryptoSign('sha256', transcript, opts(b.privateKey));
    if (!cryptoVerify('sha256', transcript, opts(a.publicKey), sa) || !cryptoVerify('sha256', transcript, opts(b.publicKey), sb)) throw new Error('verify failed');
  });
}
await measure('generate key, ecdsa-p256', () => generateKey('ecdsa-p256'));
await measure('generate key, rsa-2048', () => generateKey('rsa-2048'));

const ecKey = await generateKey('ecdsa-p256');
await measure('issue from a public key (sign only)', () => issueWorkloadCertificate(issuer, { publicKey: ecKey.publicKey, identity: identity('x') }));
const csrPem = await createCsr(ecKey);
await measure('issue from a CSR (parse + verify + sign)', () => issueWorkloadCertificate(issuer, { csrPem, identity: identity('x') }));
await measure('generate P-256 key + CSR (proxy side)', async () => createCsr(await generateKey('ecdsa-p256')));

const fx = await makeFixture({ rateLimitPerSecond: 100_000 });
const service = await startIdentityServer(fx.options, { log: silentLog, registry: newRegistry(), controllerNamespace: 'weft' });
const token = fx.token({ namespace: 'bench', serviceAccount: 'x' });
const body = JSON.stringify({ csr: csrPem });
await measure(
  'POST /v1/certify (new TLS conn, JWKS token check)',
  async () => {
    const res = await post({ port: service.port, ca: fx.anchor.certPem, servername: service.serverName, headers: { authorization: `Bearer ${token}` }, body });
    if (res.status !== 200) throw new Error(`certify answered ${res.status}: ${res.body.message}`);
  },
  CONCURRENCY,
);
await service.close();
fx.cleanup();

const width = Math.max(...rows.map((r) => r.name.length));
process.stdout.write(`\n${'case'.padEnd(width)}  ${'ops/s'.padStart(9)}  ${'CPU µs/op'.padStart(10)}\n${'-'.repeat(width)}  ${'-'.repeat(9)}  ${'-'.repeat(10)}\n`);
for (const row of rows) {
  process.stdout.write(`${row.name.padEnd(width)}  ${row.opsPerSecond.toFixed(0).padStart(9)}  ${row.cpuMicrosPerOp.toFixed(0).padStart(10)}\n`);
}
const [ec, rsa] = rows;
if (ec && rsa) {
  process.stdout.write(`\nOne mTLS handshake pair costs ${(rsa.cpuMicrosPerOp / ec.cpuMicrosPerOp).toFixed(1)}x the CPU with RSA-2048 workload keys as with ECDSA P-256 (rate ${(ec.opsPerSecond / rsa.opsPerSecond).toFixed(1)}x).\n`);
}
