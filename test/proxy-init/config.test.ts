import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCidr, parsePortRanges, parseSubnets, settingsFromFlags, type RawProxyInitFlags } from '../../src/proxy-init/config.ts';
import { proxyInitFlags } from '../../src/commands/proxy-init.ts';
import { parseFlags, UsageError } from '../../src/util/flags.ts';

function settings(argv: string[]) {
  return settingsFromFlags(parseFlags(proxyInitFlags, argv).flags as RawProxyInitFlags);
}

test('defaults are Linkerd\'s', () => {
  assert.deepEqual(settings([]), {
    incomingProxyPort: 4143,
    outgoingProxyPort: 4140,
    proxyUid: 2102,
    inboundPortsToIgnore: [],
    outboundPortsToIgnore: [],
    subnetsToIgnore: [],
    iptablesMode: 'auto',
    ipv6: false,
  });
});

test('the injector\'s command line parses', () => {
  const s = settings([
    '--incoming-proxy-port', '4143', '--outgoing-proxy-port', '4140', '--proxy-uid', '2102',
    '--inbound-ports-to-ignore', '4190,4191,25000-26000', '--outbound-ports-to-ignore', '443,8443',
    '--subnets-to-ignore', '10.96.0.0/12, 192.168.1.7', '--iptables-mode', 'legacy',
  ]);
  assert.deepEqual(s.inboundPortsToIgnore, [{ from: 4190, to: 4191 }, { from: 25000, to: 26000 }]);
  assert.deepEqual(s.outboundPortsToIgnore, [{ from: 443, to: 443 }, { from: 8443, to: 8443 }]);
  assert.deepEqual(s.subnetsToIgnore, [{ cidr: '10.96.0.0/12', family: 4 }, { cidr: '192.168.1.7/32', family: 4 }]);
  assert.equal(s.iptablesMode, 'legacy');
});

test('port lists merge overlaps and repeated flags', () => {
  assert.deepEqual(parsePortRanges(['80', '81', '79', '100-200', '150-250', '80'], 'x'), [{ from: 79, to: 81 }, { from: 100, to: 250 }]);
  assert.deepEqual(settings(['--outbound-ports-to-ignore', '1', '--outbound-ports-to-ignore', '3']).outboundPortsToIgnore, [{ from: 1, to: 1 }, { from: 3, to: 3 }]);
});

const bad: [string[], RegExp][] = [
  [['--incoming-proxy-port', '0'], /^--incoming-proxy-port: expected a port from 1 to 65535, got "0"$/],
  [['--outgoing-proxy-port', '65536'], /^--outgoing-proxy-port: .*"65536"/],
  [['--outgoing-proxy-port', '4140x'], /^--outgoing-proxy-port: /],
  [['--outgoing-proxy-port', ''], /^--outgoing-proxy-port: .*got nothing/],
  [['--incoming-proxy-port', '4140'], /must differ/],
  [['--proxy-uid=-1'], /^--proxy-uid: expected a numeric user id/],
  [['--proxy-uid', '0'], /^--proxy-uid: /],
  [['--proxy-uid', 'proxy'], /^--proxy-uid: /],
  [['--inbound-ports-to-ignore', '4190,http'], /^--inbound-ports-to-ignore: .*"http"/],
  [['--inbound-ports-to-ignore', '26000-25000'], /^--inbound-ports-to-ignore: range "26000-25000" ends before it starts$/],
  [['--outbound-ports-to-ignore', '1-2-3'], /^--outbound-ports-to-ignore: /],
  [['--outbound-ports-to-ignore', '0-10'], /^--outbound-ports-to-ignore: /],
  [['--subnets-to-ignore', '10.0.0.0/33'], /^--subnets-to-ignore: expected CIDRs .*"10.0.0.0\/33"/],
  [['--subnets-to-ignore', '10.0.0/8'], /^--subnets-to-ignore: /],
  [['--subnets-to-ignore', 'example.com/8'], /^--subnets-to-ignore: /],
  [['--iptables-mode', 'nftables'], /^--iptables-mode: expected auto, nft or legacy, got "nftables"$/],
];

for (const [argv, message] of bad) {
  test(`rejects ${argv.join(' ')}`, () => {
    assert.throws(() => settings(argv), (error: unknown) => error instanceof UsageError && message.test(error.message));
  });
}

test('CIDRs are normalised to their network', () => {
  assert.deepEqual(parseCidr('10.1.2.3/8'), { cidr: '10.0.0.0/8', family: 4 });
  assert.deepEqual(parseCidr('0.0.0.0/0'), { cidr: '0.0.0.0/0', family: 4 });
  assert.deepEqual(parseCidr('FD00:0:0:0:1::7/64'), { cidr: 'fd00::/64', family: 6 });
  assert.deepEqual(parseCidr('2001:db8:0:1:0:0:0:1'), { cidr: '2001:db8:0:1::1/128', family: 6 });
  assert.deepEqual(parseCidr('::ffff:10.0.0.1/128'), { cidr: '::ffff:a00:1/128', family: 6 });
  assert.deepEqual(parseSubnets(['10.0.0.1/8', '10.2.0.0/8'], 'x'), [{ cidr: '10.0.0.0/8', family: 4 }]);
});
