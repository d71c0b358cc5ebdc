import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import * as tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { createServingCertificate, createWebhookCertificates } from '../../src/identity/ca.ts';
import { controllerConfigFromFlags, controllerFlagSpecs } from '../../src/controller/config.ts';
import { startController } from '../../src/controller/run.ts';
import { parseFlags } from '../../src/util/flags.ts';
import { loadReview, silentLog } from '../helpers/admission.ts';

const examples = new URL('../../examples/cluster/', import.meta.url).pathname;

/** Lays out certificates the way the kubelet mounts a Secret: files behind a `..data` symlink. */
async function secretDir(root: string, version: string, cert: string, key: string): Promise<void> {
  const dir = join(root, `..${version}`);
  await mkdir(dir);
  await writeFile(join(dir, 'tls.crt'), cert);
  await writeFile(join(dir, 'tls.key'), key);
  const tmp = join(root, '..data_tmp');
  await symlink(`..${version}`, tmp);
  await rename(tmp, join(root, '..data'));
}

async function start(t: import('node:test').TestContext, extra: string[] = []) {
  const root = await mkdtemp(join(tmpdir(), 'weft-tls-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const made = await createWebhookCertificates({ service: 'weft-controller', namespace: 'weft', ipAddresses: ['127.0.0.1'], extraDnsNames: ['localhost'] });
  await secretDir(root, 'v1', made.serving.certPem, made.serving.keyPem);
  await symlink('..data/tls.crt', join(root, 'tls.crt'));
  await symlink('..data/tls.key', join(root, 'tls.key'));
  const flags = parseFlags(controllerFlagSpecs, [
    '--address=127.0.0.1', '--port=0', '--admin-address=127.0.0.1', '--admin-port=0',
    `--tls-cert=${join(root, 'tls.crt')}`, `--tls-key=${join(root, 'tls.key')}`,
    `--cluster-state=${examples}`, '--drain-delay=200ms', '--identity-disabled', ...extra,
  ]).flags;
  const config = await controllerConfigFromFlags(flags, '0.1.0-test');
  const controller = await startController(config, silentLog);
  t.after(() => controller.shutdown('test over'));
  return { root, made, controller };
}

const body = JSON.stringify(loadReview('replicaset-pod'));

function postHttp1(port: number, ca: string): Promise<{ status: number; serial: string; json: { response: { patchType?: string } } }> {
  return new Promise((resolve, reject) => {
    const request = https.request({ host: '127.0.0.1', port, path: '/inject', method: 'POST', ca, agent: false, headers: { 'content-type': 'application/json' } }, (response) => {
      const socket = response.socket as tls.TLSSocket;
      const serial = socket.getPeerCertificate().serialNumber;
      let data = '';
      response.on('data', (chunk) => (data += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, serial, json: JSON.parse(data) }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

function postHttp2(port: number, ca: string): Promise<{ status: number; protocol: string; json: { response: { uid: string } } }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`https://127.0.0.1:${port}`, { ca });
    session.on('error', reject);
    const stream = session.request({ ':method': 'POST', ':path': '/inject', 'content-type': 'application/json' });
    let status = 0;
    let data = '';
    stream.on('response', (headers) => (status = Number(headers[':status'])));
    stream.on('data', (chunk) => (data += chunk));
    stream.on('end', () => {
      const protocol = (session.socket as tls.TLSSocket).alpnProtocol || '';
      session.close();
      resolve({ status, protocol, json: JSON.parse(data) });
    });
    stream.on('error', reject);
    stream.end(body);
  });
}

test('real HTTPS on loopback: HTTP/2 and HTTP/1.1, TLS 1.3 by default, readiness and metrics on the admin port', async (t) => {
  const { made, controller } = await start(t);
  const h2 = await postHttp2(controller.admissionPort, made.ca.certPem);
  assert.equal(h2.status, 200);
  assert.equal(h2.protocol, 'h2');
  assert.equal(h2.json.response.uid, loadReview('replicaset-pod').request.uid);
  const h1 = await postHttp1(controller.admissionPort, made.ca.certPem);
  assert.equal(h1.status, 200);
  assert.equal(h1.json.response.patchType, 'JSONPatch');

  await assert.rejects(
    new Promise((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: controller.admissionPort, ca: made.ca.certPem, maxVersion: 'TLSv1.2' }, () => resolve(socket));
      socket.on('error', reject);
    }),
    /protocol version|alert/i,
    'TLS 1.2 is refused by default',
  );

  const ready = await fetch(`http://127.0.0.1:${controller.adminPort}/readyz`);
  assert.equal(ready.status, 200);
  const metrics = await (await fetch(`http://127.0.0.1:${controller.adminPort}/metrics`)).text();
  assert.match(metrics, /weft_admission_requests_total\{webhook="inject",kind="Pod",operation="CREATE",dry_run="false",result="injected",role="controller"\} 2/);
  assert.match(metrics, /process_resident_memory_bytes/);
  assert.match(metrics, /weft_serving_certificate_expiration_timestamp_seconds/);
});

test('the serving certificate is reloaded when the Secret is swapped, and no request fails during the swap', async (t) => {
  const { root, made, controller } = await start(t);
  const before = await postHttp1(controller.admissionPort, made.ca.certPem);
  const next = await createServingCertificate(made.ca, { dnsNames: ['weft-controller.weft.svc'], ipAddresses: ['127.0.0.1'] });
  const nextSerial = new X509Certificate(next.certPem).serialNumber;
  assert.notEqual(before.serial, nextSerial);

  let stop = false;
  const failures: string[] = [];
  let completed = 0;
  const load = Array.from({ length: 4 }, async (_, i) => {
    while (!stop) {
      try {
        const result = i % 2 === 0 ? await postHttp1(controller.admissionPort, made.ca.certPem) : await postHttp2(controller.admissionPort, made.ca.certPem);
        if (result.status !== 200) failures.push(`status ${result.status}`);
        completed++;
      } catch (error) {
        failures.push((error as Error).message);
      }
    }
  });
  await new Promise((resolve) => setTimeout(resolve, 200));
  await secretDir(root, 'v2', next.certPem, next.keyPem);
  let serial = before.serial;
  for (let i = 0; i < 100 && serial !== nextSerial; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    serial = (await postHttp1(controller.admissionPort, made.ca.certPem)).serial;
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
  stop = true;
  await Promise.all(load);
  assert.equal(serial, nextSerial, 'new connections see the new certificate');
  assert.deepEqual(failures, []);
  assert.ok(completed > 10, `load ran during the swap (${completed} requests)`);
});

test('a broken certificate on disk is not loaded; the old one keeps serving', async (t) => {
  const { root, made, controller } = await start(t);
  const before = await postHttp1(controller.admissionPort, made.ca.certPem);
  const other = await createWebhookCertificates({ service: 'x', namespace: 'y', ipAddresses: ['127.0.0.1'] });
  // A certificate with somebody else's key: must be refused, not half-applied.
  await secretDir(root, 'v3', made.serving.certPem.replace(/.{8}\n-----END/, 'AAAAAAAA\n-----END'), other.serving.keyPem);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const after = await postHttp1(controller.admissionPort, made.ca.certPem);
  assert.equal(after.serial, before.serial);
  assert.equal(after.status, 200);
});
