import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import type { TLSSocket } from 'node:tls';
import { MeshTls } from '../../src/proxy/tls.ts';
import { mutableCredentials } from '../../src/proxy/credentials.ts';
import { identityOf, parseMeshAlpn } from '../../src/proxy/mesh.ts';
import { createTestCa, mintCredentials } from './certs.ts';

// The TLS state on its own: repeat connections to a peer resume their session, a resumed
// session still tells the server who the client is, and a rotation takes effect at once.

test('repeat connections resume, keep the client identity, and a rotation is used for the next handshake', async (t) => {
  const ca = await createTestCa('tls');
  const client = mutableCredentials(await mintCredentials(ca, 'client', 'a'));
  const server = mutableCredentials(await mintCredentials(ca, 'web', 'b'));
  const serverTls = new MeshTls({ source: server });
  const clientTls = new MeshTls({ source: client });
  const seen: { identity: string | undefined; reused: boolean; port: number | undefined }[] = [];
  serverTls.server.on('secureConnection', (s: TLSSocket) => {
    seen.push({ identity: identityOf(s.getPeerCertificate().subjectaltname), reused: s.isSessionReused(), port: parseMeshAlpn(s.alpnProtocol)?.port });
    s.end('hi');
  });
  const listener = net.createServer((raw) => serverTls.accept(raw));
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', () => r()));
  t.after(() => listener.close());
  const port = (listener.address() as net.AddressInfo).port;
  const once = (): Promise<boolean> =>
    new Promise((resolve, reject) => {
      const s = clientTls.connect({ host: '127.0.0.1', port }, 'web.b.serviceaccount.identity.weft.cluster.local', 8080);
      let reused = false;
      s.on('secureConnect', () => (reused = s.isSessionReused()));
      s.on('data', () => {});
      s.on('end', () => {
        s.end();
        resolve(reused);
      });
      s.on('error', reject);
    });
  assert.equal(await once(), false);
  // The session ticket arrives after the handshake; give it a turn before reconnecting.
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(await once(), true, 'the second connection resumes');
  assert.deepEqual(seen[1], { identity: 'client.a.serviceaccount.identity.weft.cluster.local', reused: true, port: 8080 });

  client.set(await mintCredentials(ca, 'rotated', 'a'));
  assert.equal(await once(), false, 'a rotation drops the cached sessions');
  assert.equal(seen[2].identity, 'rotated.a.serviceaccount.identity.weft.cluster.local');
});

test('a rotation to a key that does not match its certificate is rejected and the old one kept', async () => {
  const ca = await createTestCa('tls2');
  const good = await mintCredentials(ca, 'web', 'b');
  const other = await mintCredentials(ca, 'web', 'b');
  const source = mutableCredentials(good);
  const errors: string[] = [];
  const meshTls = new MeshTls({ source, onInstallError: (e) => errors.push(e.message) });
  await new Promise((r) => setImmediate(r));
  source.set({ ...other, keyPem: good.keyPem });
  assert.equal(errors.length, 1);
  assert.ok(meshTls.ready());
  assert.equal(meshTls.identity, good.identity);
});
