import assert from 'node:assert/strict';
import { once } from 'node:events';
import { openSync, closeSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { nativeAvailable, nativeUnavailableReason, originalDestination, originalDestinationOfFd, socketFd } from '../../native/index.ts';
import { createTestNet, netnsSkipReason, parseTag, tagServerCode, which } from '../helpers/netns.ts';

const addonSkip = process.platform !== 'linux' ? 'SO_ORIGINAL_DST is Linux-only' : undefined;

test('the addon loads (npm test builds it first)', { skip: addonSkip }, () => {
  assert.equal(nativeAvailable(), true, nativeUnavailableReason());
});

test('bad descriptors give clear errors', { skip: addonSkip }, () => {
  assert.throws(() => originalDestinationOfFd(-1), { name: 'TypeError', message: /file descriptor/ });
  assert.throws(() => originalDestinationOfFd('3' as unknown as number), { name: 'TypeError' });
  const fd = openSync(new URL(import.meta.url), 'r');
  try {
    assert.throws(() => originalDestinationOfFd(fd), { code: 'ENOTSOCK', message: /getsockname/ });
  } finally {
    closeSync(fd);
  }
});

test('a connection nobody redirected has no original destination', { skip: addonSkip }, async (t) => {
  const accepted: Socket[] = [];
  const server = createServer((socket) => accepted.push(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = connect((server.address() as { port: number }).port, '127.0.0.1');
  t.after(() => {
    client.destroy();
    for (const s of accepted) s.destroy();
    server.close();
  });
  await once(client, 'connect');
  while (accepted.length === 0) await new Promise((resolve) => setImmediate(resolve));
  const socket = accepted[0];
  assert.equal(typeof socketFd(socket), 'number');
  // Either conntrack has no entry (ENOENT) or its original tuple is the listener itself.
  assert.equal(originalDestination(socket), undefined);
});

const netSkip = addonSkip ?? netnsSkipReason({ iptables: 'any' });
const iptables = which('iptables-nft') && !netnsSkipReason({ iptables: 'nft' }) ? 'iptables-nft' : 'iptables-legacy';
const ip6tables = iptables.replace('iptables', 'ip6tables');

test('redirected connections report where the client meant to go', { skip: netSkip }, async (t) => {
  const net = await createTestNet({ pods: 2, subnet: 7 });
  t.after(() => net.cleanup());
  const [pod, peer] = net.pods;

  // Outbound from the pod to a made-up address, and inbound from the peer to the pod's port
  // 8080, both land on the pod's listener at 15001.
  await net.run(pod, [iptables, '-w', '5', '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-d', '10.209.7.50', '--dport', '8080', '-j', 'REDIRECT', '--to-ports', '15001']);
  await net.run(pod, [iptables, '-w', '5', '-t', 'nat', '-A', 'PREROUTING', '-p', 'tcp', '--dport', '8080', '-j', 'REDIRECT', '--to-ports', '15001']);
  const server = net.spawnNode(pod, tagServerCode([15001], 'listener', '0.0.0.0'));
  await server.waitForLine(/^listening$/);

  const outbound = parseTag(await net.connect(pod, '10.209.7.50', 8080));
  assert.deepEqual(outbound, { name: 'listener', port: 15001, remote: pod.address, original: '10.209.7.50:8080' });

  const inbound = parseTag(await net.connect(peer, pod.address, 8080));
  assert.deepEqual(inbound, { name: 'listener', port: 15001, remote: peer.address, original: `${pod.address}:8080` });

  const direct = parseTag(await net.connect(peer, pod.address, 15001));
  assert.equal(direct.original, null, 'a connection made straight to the listener was not redirected');
});

test('a dual-stack listener reports IPv4 (mapped) and IPv6 original destinations', { skip: netSkip }, async (t) => {
  const net = await createTestNet({ pods: 1, subnet: 8 });
  t.after(() => net.cleanup());
  const [pod] = net.pods;
  await net.run(pod, [iptables, '-w', '5', '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-d', '10.209.8.60', '--dport', '80', '-j', 'REDIRECT', '--to-ports', '15002']);
  await net.run(pod, ['ip', 'addr', 'add', 'fd00:209:8::2/64', 'dev', 'eth0', 'nodad']);
  await net.run(pod, [ip6tables, '-w', '5', '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-d', 'fd00:209:8::99', '--dport', '443', '-j', 'REDIRECT', '--to-ports', '15002']);
  const server = net.spawnNode(pod, tagServerCode([15002], 'dual', '::'));
  await server.waitForLine(/^listening$/);

  const v4 = parseTag(await net.connect(pod, '10.209.8.60', 80));
  assert.equal(v4.original, '10.209.8.60:80');
  const v6 = parseTag(await net.connect(pod, 'fd00:209:8::99', 443));
  assert.equal(v6.original, 'fd00:209:8::99:443');
});
