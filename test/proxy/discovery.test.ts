import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pollDiscovery } from '../../src/proxy/discovery-source.ts';
import { silent } from './harness.ts';

const doc = (ip: string, identity: string): string => JSON.stringify({ endpoints: [{ ip, identity }] });

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check());
}

test('file discovery follows changes and keeps the last good table through a broken update', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-disc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'd.json');
  writeFileSync(file, doc('10.0.0.1', 'a.ns.serviceaccount.identity.weft.cluster.local'));
  const source = pollDiscovery({ file, intervalMs: 10, log: silent });
  t.after(() => source.stop());
  await source.loaded;
  assert.equal(source.lookup('10.0.0.1'), 'a.ns.serviceaccount.identity.weft.cluster.local');
  writeFileSync(file, '{"endpoints": [ {"ip": "not an ip"');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(source.lookup('10.0.0.1'), 'a.ns.serviceaccount.identity.weft.cluster.local', 'a broken document changes nothing');
  writeFileSync(file, doc('10.0.0.2', 'b.ns.serviceaccount.identity.weft.cluster.local'));
  await until(() => source.lookup('10.0.0.2') !== undefined);
  assert.equal(source.lookup('10.0.0.1'), undefined);
});

test('URL discovery polls the document over HTTP', async (t) => {
  let body = doc('10.0.0.3', 'c.ns.serviceaccount.identity.weft.cluster.local');
  let status = 200;
  const server = http.createServer((_req, res) => res.writeHead(status, { 'content-type': 'application/json' }).end(body));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.after(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/discovery`;
  const source = pollDiscovery({ url, intervalMs: 10, log: silent });
  t.after(() => source.stop());
  await source.loaded;
  assert.equal(source.lookup('10.0.0.3'), 'c.ns.serviceaccount.identity.weft.cluster.local');
  status = 503;
  body = 'down';
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(source.lookup('10.0.0.3'), 'c.ns.serviceaccount.identity.weft.cluster.local', 'an error answer keeps the table');
  status = 200;
  body = doc('10.0.0.4', 'd.ns.serviceaccount.identity.weft.cluster.local');
  await until(() => source.lookup('10.0.0.4') !== undefined);
});
