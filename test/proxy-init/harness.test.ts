import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { createTestNet, netnsSkipReason, parseTag, removeStaleNamespaces, tagServerCode } from '../helpers/netns.ts';

// The netns harness that these tests and the proxy's rely on.

const skip = netnsSkipReason({ tools: ['setpriv'] });

function namespaces(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.split(' ')[0])
    .filter((name) => name !== '');
}

test('pods on one bridge reach each other; cleanup deletes every namespace', { skip }, async () => {
  const net = await createTestNet({ pods: 3, subnet: 31 });
  const names = [net.hub, ...net.pods.map((p) => p.ns)];
  try {
    assert.deepEqual(net.pods.map((p) => p.address), ['10.209.31.2', '10.209.31.3', '10.209.31.4']);
    for (const name of names) assert.ok(namespaces().includes(name), `${name} exists`);
    const server = net.spawnNode(net.pods[2], tagServerCode([7000], 'third'));
    await server.waitForLine(/^listening$/);
    for (const from of net.pods.slice(0, 2)) {
      const reply = parseTag(await net.connect(from, net.pods[2].address, 7000));
      assert.deepEqual([reply.name, reply.remote], ['third', from.address]);
    }
    assert.equal(await net.connect(net.pods[0], net.pods[2].address, 7001), 'error: ECONNREFUSED');
    // Nothing was added to the host's namespace.
    assert.doesNotMatch(execFileSync('ip', ['-o', 'addr'], { encoding: 'utf8' }), /10\.209\.31\./);
  } finally {
    await net.cleanup();
  }
  for (const name of names) assert.ok(!namespaces().includes(name), `${name} was deleted`);
  await net.cleanup();
});

test('exec runs as another uid; spawn captures output and stops', { skip }, async (t) => {
  const net = await createTestNet({ pods: 1, subnet: 32 });
  t.after(() => net.cleanup());
  const [pod] = net.pods;
  assert.equal((await net.run(pod, ['id', '-u'], { uid: 2102 })).trim(), '2102');
  assert.equal((await net.run(pod, ['id', '-g'], { uid: 2102, gid: 2103 })).trim(), '2103');
  assert.equal((await net.run(pod, ['cat'], { input: 'hello' })), 'hello');
  const failed = await net.exec(pod, ['sh', '-c', 'echo oops >&2; exit 3']);
  assert.deepEqual([failed.code, failed.stderr], [3, 'oops\n']);
  await assert.rejects(net.run(pod, ['false']), /exited 1/);

  const sleeper = net.spawnNode(pod, "console.log('ready'); setInterval(() => {}, 1000);");
  assert.equal(await sleeper.waitForLine(/^ready$/), 'ready');
  await assert.rejects(sleeper.waitForLine(/^never$/, 200), /no stdout line matching/);
  const result = await sleeper.stop();
  assert.equal(result.signal ?? result.code, 'SIGTERM');
});

test('namespaces left by a killed run are removed, live ones kept', { skip }, () => {
  // The pid of a process that has certainly exited.
  const dead = `weft-pod0-${spawnSync('true').pid}-1-abcd`;
  const mine = `weft-pod0-${process.pid}-999-abcd`;
  execFileSync('ip', ['netns', 'add', dead]);
  execFileSync('ip', ['netns', 'add', mine]);
  try {
    const removed = removeStaleNamespaces();
    assert.ok(removed.includes(dead));
    assert.ok(!removed.includes(mine));
    assert.ok(namespaces().includes(mine));
  } finally {
    for (const name of [dead, mine]) {
      try {
        execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  }
});
