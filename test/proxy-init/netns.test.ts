import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkApplied } from '../../src/proxy-init/rules.ts';
import { createTestNet, iptablesBackendSkipReason, netnsSkipReason, parseTag, tagServerCode, type Pod, type TestNet } from '../helpers/netns.ts';

// `weft proxy-init` for real: inside a pod namespace, then real connections from the pod, from
// a peer pod, as the proxy's uid, to ignored ports and subnets, for each iptables backend.

const WEFT = fileURLToPath(new URL('../../bin/weft.js', import.meta.url));
const PROXY_UID = 2102;

const baseSkip = netnsSkipReason({ tools: ['setpriv'] });

interface Pods {
  net: TestNet;
  pod: Pod;
  peer: Pod;
}

async function startPods(subnet: number): Promise<Pods> {
  const net = await createTestNet({ pods: 2, subnet });
  const [pod, peer] = net.pods;
  try {
    // In the pod: stand-ins for the proxy's two listeners and for the app (8080, and the
    // admin-like 4191 that is ignored inbound). In the peer: a server on 8080 and 9999.
    const inPod = net.spawnNode(pod, tagServerCode([4140, 4143, 8080, 4191], 'pod'));
    const inPeer = net.spawnNode(peer, tagServerCode([8080, 9999], 'peer'));
    await Promise.all([inPod.waitForLine(/^listening$/), inPeer.waitForLine(/^listening$/)]);
  } catch (error) {
    await net.cleanup();
    throw error;
  }
  return { net, pod, peer };
}

async function proxyInit(net: TestNet, pod: Pod, args: string[], options: { bounding?: string } = {}) {
  const argv = [process.execPath, WEFT, 'proxy-init', '--log-level', 'warn', ...args];
  // Dropping capabilities from the bounding set strips them from root on exec.
  const wrapped = options.bounding ? ['setpriv', `--bounding-set=${options.bounding}`, '--', ...argv] : argv;
  return net.exec(pod, wrapped, { timeoutMs: 30_000 });
}

/**
 * The nat table as iptables-save prints it, without comments and with the chains' packet
 * counters zeroed: a stray packet in the namespace (an IPv6 router solicitation, say) moves the
 * counters between two dumps without any rule changing.
 */
async function natSave(net: TestNet, pod: Pod, mode: string): Promise<string> {
  const out = await net.run(pod, [`iptables-${mode}-save`, '-t', 'nat']);
  return out
    .split('\n')
    .filter((line) => !line.startsWith('#'))
    .map((line) => (line.startsWith(':') ? line.replace(/\[\d+:\d+\]$/, '[0:0]') : line))
    .join('\n');
}

async function tag(net: TestNet, from: Pod, host: string, port: number, uid?: number) {
  return parseTag(await net.connect(from, host, port, uid === undefined ? {} : { uid }));
}

for (const mode of ['nft', 'legacy'] as const) {
  const skip = baseSkip ?? iptablesBackendSkipReason(mode);
  describe(`proxy-init with iptables-${mode}`, { skip }, () => {
    const subnet = mode === 'nft' ? 21 : 22;

    test('redirects outbound to 4140 and inbound to 4143, with every bypass', async (t) => {
      const { net, pod, peer } = await startPods(subnet);
      t.after(() => net.cleanup());

      // Before: everything goes where it was sent.
      assert.equal((await tag(net, pod, peer.address, 8080)).name, 'peer');

      const result = await proxyInit(net, pod, ['--iptables-mode', mode, '--inbound-ports-to-ignore', '4190,4191', '--outbound-ports-to-ignore', '9999']);
      assert.equal(result.code, 0, result.stderr);

      const outbound = await tag(net, pod, peer.address, 8080);
      assert.deepEqual(outbound, { name: 'pod', port: 4140, remote: pod.address, original: `${peer.address}:8080` }, 'outbound TCP reaches the outbound listener');

      const inbound = await tag(net, peer, pod.address, 8080);
      assert.deepEqual(inbound, { name: 'pod', port: 4143, remote: peer.address, original: `${pod.address}:8080` }, 'inbound TCP reaches the inbound listener');

      const asProxy = await tag(net, pod, peer.address, 8080, PROXY_UID);
      assert.deepEqual([asProxy.name, asProxy.port], ['peer', 8080], "the proxy uid's traffic is not redirected");

      const asOtherUser = await tag(net, pod, peer.address, 8080, PROXY_UID + 1);
      assert.equal(asOtherUser.port, 4140, 'only the proxy uid bypasses');

      const ignoredOut = await tag(net, pod, peer.address, 9999);
      assert.deepEqual([ignoredOut.name, ignoredOut.port], ['peer', 9999], 'ignored outbound port bypasses');

      const ignoredIn = await tag(net, peer, pod.address, 4191);
      assert.deepEqual([ignoredIn.name, ignoredIn.port, ignoredIn.original], ['pod', 4191, null], 'ignored inbound port bypasses');

      const loopback = await tag(net, pod, '127.0.0.1', 8080);
      assert.deepEqual([loopback.port, loopback.original], [8080, null], 'loopback is not redirected');

      const ownAddress = await tag(net, pod, pod.address, 8080);
      assert.equal(ownAddress.port, 8080, "the pod's own address goes over lo and is not redirected");
    });

    test('a second run changes nothing; new settings replace old ones; stray jumps are collapsed', async (t) => {
      const { net, pod, peer } = await startPods(subnet);
      t.after(() => net.cleanup());
      const args = ['--iptables-mode', mode, '--outbound-ports-to-ignore', '9999'];

      assert.equal((await proxyInit(net, pod, args)).code, 0);
      const first = await natSave(net, pod, mode);
      assert.deepEqual(checkApplied(first), { ok: true, problems: [] });
      const second = await proxyInit(net, pod, args);
      assert.equal(second.code, 0, second.stderr);
      assert.equal(await natSave(net, pod, mode), first, 'the nat table is byte-identical after a second run');

      // The dry run reads the table too, so it plans no jump changes.
      const dry = await proxyInit(net, pod, [...args, '--dry-run']);
      assert.equal(dry.code, 0, dry.stderr);
      assert.doesNotMatch(dry.stdout, /^-[AD] (PREROUTING|OUTPUT) /m);
      assert.match(dry.stdout, /--dports 9999 /);

      // Someone else added a second jump and a rule of their own.
      await net.run(pod, [`iptables-${mode}`, '-w', '5', '-t', 'nat', '-A', 'OUTPUT', '-j', 'PROXY_INIT_OUTPUT']);
      await net.run(pod, [`iptables-${mode}`, '-w', '5', '-t', 'nat', '-I', 'OUTPUT', '1', '-p', 'udp', '-j', 'RETURN']);
      assert.equal(checkApplied(await natSave(net, pod, mode)).ok, false);

      // Re-run with other settings: the peer's address is now an ignored subnet.
      const third = await proxyInit(net, pod, ['--iptables-mode', mode, '--subnets-to-ignore', `${peer.address}/32`]);
      assert.equal(third.code, 0, third.stderr);
      const after = await natSave(net, pod, mode);
      assert.deepEqual(checkApplied(after), { ok: true, problems: [] });
      assert.doesNotMatch(after, /9999/, 'the old ignore rule is gone');
      assert.match(after, /-A OUTPUT -p udp -j RETURN/, "other rules are left alone");

      assert.deepEqual((await tag(net, pod, peer.address, 8080)).port, 8080, 'outbound to an ignored subnet bypasses');
      const fromIgnored = await tag(net, peer, pod.address, 8080);
      assert.deepEqual([fromIgnored.port, fromIgnored.original], [8080, null], 'inbound from an ignored subnet bypasses');
      // Still redirected: another destination outside the subnet.
      assert.equal((await tag(net, pod, `${net.prefix}.99`, 8080)).port, 4140);
    });

    test('missing capabilities give a clear error and change nothing', async (t) => {
      const { net, pod } = await startPods(subnet);
      t.after(() => net.cleanup());
      const result = await proxyInit(net, pod, ['--iptables-mode', mode], { bounding: '-net_admin,-net_raw' });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /needs the NET_ADMIN and NET_RAW capabilities .*securityContext\.capabilities\.add/);
      assert.doesNotMatch(await natSave(net, pod, mode), /PROXY_INIT/);

      // A dry run needs no privileges at all.
      const dry = await proxyInit(net, pod, ['--iptables-mode', mode, '--dry-run'], { bounding: '-net_admin,-net_raw' });
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, new RegExp(`^# iptables-${mode}-restore --noflush`, 'm'));
      assert.match(dry.stdout, /-j REDIRECT --to-ports 4140$/m);
    });
  });
}

describe('proxy-init --iptables-mode=auto', { skip: baseSkip ?? iptablesBackendSkipReason('nft') ?? iptablesBackendSkipReason('legacy') }, () => {
  test('follows the backend that already holds rules', async (t) => {
    const { net, pod, peer } = await startPods(23);
    t.after(() => net.cleanup());
    // A legacy rule (as an old CNI plugin might leave) makes auto pick legacy.
    await net.run(pod, ['iptables-legacy', '-w', '5', '-t', 'nat', '-A', 'POSTROUTING', '-p', 'udp', '-j', 'RETURN']);
    const result = await proxyInit(net, pod, ['--log-level', 'info']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /"backend":"legacy"/);
    assert.match(await natSave(net, pod, 'legacy'), /PROXY_INIT_OUTPUT/);
    assert.doesNotMatch(await natSave(net, pod, 'nft'), /PROXY_INIT_OUTPUT/);
    assert.equal((await tag(net, pod, peer.address, 8080)).port, 4140);
  });

  test('uses nft in an empty namespace', async (t) => {
    const { net, pod } = await startPods(24);
    t.after(() => net.cleanup());
    const result = await proxyInit(net, pod, ['--log-level', 'info']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /"backend":"nft"/);
    assert.match(await natSave(net, pod, 'nft'), /PROXY_INIT_OUTPUT/);
  });
});

describe('proxy-init --ipv6', { skip: baseSkip ?? iptablesBackendSkipReason('nft') }, () => {
  test('writes the same chains with ip6tables and redirects IPv6 TCP', async (t) => {
    const net = await createTestNet({ pods: 1, subnet: 25 });
    t.after(() => net.cleanup());
    const [pod] = net.pods;
    await net.run(pod, ['ip', 'addr', 'add', 'fd00:209:25::2/64', 'dev', 'eth0', 'nodad']);
    const server = net.spawnNode(pod, tagServerCode([4140], 'proxy', '::'));
    await server.waitForLine(/^listening$/);
    const result = await proxyInit(net, pod, ['--iptables-mode', 'nft', '--ipv6', '--subnets-to-ignore', '10.0.0.0/8,fd00:209:26::/48']);
    assert.equal(result.code, 0, result.stderr);
    const v6 = await net.run(pod, ['ip6tables-nft-save', '-t', 'nat']);
    assert.deepEqual(checkApplied(v6), { ok: true, problems: [] });
    assert.match(v6, /-d fd00:209:26::\/48 /);
    assert.doesNotMatch(v6, /10\.0\.0\.0/);
    const redirected = parseTag(await net.connect(pod, 'fd00:209:25::77', 80));
    assert.deepEqual([redirected.port, redirected.original], [4140, 'fd00:209:25::77:80']);
  });
});
