import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { ProxyInitSettings } from '../../src/proxy-init/config.ts';
import { checkApplied, chainRules, multiportGroups, MULTIPORT_LIMIT, natRulesOf, restoreScript } from '../../src/proxy-init/rules.ts';

const base: ProxyInitSettings = {
  incomingProxyPort: 4143,
  outgoingProxyPort: 4140,
  proxyUid: 2102,
  inboundPortsToIgnore: [{ from: 4190, to: 4191 }],
  outboundPortsToIgnore: [{ from: 443, to: 443 }],
  subnetsToIgnore: [{ cidr: '10.96.0.0/12', family: 4 }, { cidr: 'fd00::/8', family: 6 }],
  iptablesMode: 'auto',
  ipv6: false,
};

const EMPTY_SAVE = '*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n';

test('the rules for an empty table', () => {
  assert.equal(
    restoreScript(base, 4, EMPTY_SAVE),
    [
      '*nat',
      ':PROXY_INIT_REDIRECT - [0:0]',
      ':PROXY_INIT_OUTPUT - [0:0]',
      '-A PROXY_INIT_REDIRECT -p tcp -m multiport --dports 4190:4191 -m comment --comment "proxy-init/ignore-port-4190:4191" -j RETURN',
      '-A PROXY_INIT_REDIRECT -s 10.96.0.0/12 -m comment --comment "proxy-init/ignore-subnet-10.96.0.0/12" -j RETURN',
      '-A PROXY_INIT_REDIRECT -p tcp -m comment --comment "proxy-init/redirect-all-incoming-to-proxy-port" -j REDIRECT --to-ports 4143',
      '-A PROXY_INIT_OUTPUT -m owner --uid-owner 2102 -m comment --comment "proxy-init/ignore-proxy-user-id" -j RETURN',
      '-A PROXY_INIT_OUTPUT -o lo -m comment --comment "proxy-init/ignore-loopback" -j RETURN',
      '-A PROXY_INIT_OUTPUT -p tcp -m multiport --dports 443 -m comment --comment "proxy-init/ignore-port-443" -j RETURN',
      '-A PROXY_INIT_OUTPUT -d 10.96.0.0/12 -m comment --comment "proxy-init/ignore-subnet-10.96.0.0/12" -j RETURN',
      '-A PROXY_INIT_OUTPUT -p tcp -m comment --comment "proxy-init/redirect-all-outgoing-to-proxy-port" -j REDIRECT --to-ports 4140',
      '-A PREROUTING -m comment --comment "proxy-init/install-proxy-init-prerouting" -j PROXY_INIT_REDIRECT',
      '-A OUTPUT -m comment --comment "proxy-init/install-proxy-init-output" -j PROXY_INIT_OUTPUT',
      'COMMIT',
      '',
    ].join('\n'),
  );
});

test('each family gets only its own subnets', () => {
  const v6 = chainRules(base, 6).join('\n');
  assert.match(v6, /-s fd00::\/8 /);
  assert.match(v6, /-d fd00::\/8 /);
  assert.doesNotMatch(v6, /10\.96/);
  assert.doesNotMatch(chainRules(base, 4).join('\n'), /fd00/);
});

test('the order within each chain: bypasses before the REDIRECT', () => {
  for (const chain of ['PROXY_INIT_REDIRECT', 'PROXY_INIT_OUTPUT']) {
    const rules = chainRules(base, 4).filter((r) => r.startsWith(`-A ${chain} `));
    assert.match(rules.at(-1) ?? '', /-j REDIRECT --to-ports/);
    assert.ok(rules.slice(0, -1).every((r) => r.endsWith('-j RETURN')));
  }
});

test('a table already holding the rules: the jumps stay, the chains are refilled', () => {
  const applied = restoreScript(base, 4, EMPTY_SAVE);
  // What iptables-save prints after applying (chain declarations plus our -A lines).
  const save = `*nat\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:PROXY_INIT_OUTPUT - [0:0]\n:PROXY_INIT_REDIRECT - [0:0]\n${applied
    .split('\n')
    .filter((l) => l.startsWith('-A '))
    .join('\n')}\nCOMMIT\n`;
  const again = restoreScript(base, 4, save);
  assert.doesNotMatch(again, /^-D /m);
  assert.doesNotMatch(again, /^-A (PREROUTING|OUTPUT) /m);
  assert.deepEqual(again.split('\n').filter((l) => l.startsWith('-A ')), chainRules(base, 4));
  assert.deepEqual(checkApplied(save), { ok: true, problems: [] });
});

test('duplicate and conditional jumps are deleted and one plain jump appended', () => {
  const save = [
    '*filter',
    '-A OUTPUT -j PROXY_INIT_OUTPUT',
    'COMMIT',
    '*nat',
    ':PROXY_INIT_OUTPUT - [0:0]',
    ':PROXY_INIT_REDIRECT - [0:0]',
    '-A PREROUTING -p tcp -j PROXY_INIT_REDIRECT',
    '-A OUTPUT -m comment --comment "proxy-init/install-proxy-init-output/1690000000" -j PROXY_INIT_OUTPUT',
    '-A OUTPUT -j KUBE-SERVICES',
    '-A OUTPUT -j PROXY_INIT_OUTPUT',
    '-A OUTPUT -j PROXY_INIT_OUTPUT_OTHER',
    'COMMIT',
  ].join('\n');
  const script = restoreScript(base, 4, save);
  assert.deepEqual(
    script.split('\n').filter((l) => /^-[AD] (PREROUTING|OUTPUT) /.test(l)),
    [
      '-D PREROUTING -p tcp -j PROXY_INIT_REDIRECT',
      '-D OUTPUT -m comment --comment "proxy-init/install-proxy-init-output/1690000000" -j PROXY_INIT_OUTPUT',
      '-D OUTPUT -j PROXY_INIT_OUTPUT',
      '-A PREROUTING -m comment --comment "proxy-init/install-proxy-init-prerouting" -j PROXY_INIT_REDIRECT',
      '-A OUTPUT -m comment --comment "proxy-init/install-proxy-init-output" -j PROXY_INIT_OUTPUT',
    ],
  );
  const check = checkApplied(save);
  assert.equal(check.ok, false);
  assert.deepEqual(check.problems, ['OUTPUT jumps to PROXY_INIT_OUTPUT 2 times (expected once)']);
});

test('a single jump from an older linkerd-init (comment with a run id) is kept', () => {
  const save = '*nat\n-A PREROUTING -m comment --comment "proxy-init/install-proxy-init-prerouting/1690000000" -j PROXY_INIT_REDIRECT\n-A OUTPUT -j PROXY_INIT_OUTPUT\nCOMMIT\n';
  assert.doesNotMatch(restoreScript(base, 4, save), /^-[AD] (PREROUTING|OUTPUT) /m);
});

test('natRulesOf reads only the nat table', () => {
  assert.deepEqual(natRulesOf('*filter\n-A INPUT -j DROP\nCOMMIT\n*nat\n-A OUTPUT -j X\nCOMMIT\n'), [{ chain: 'OUTPUT', line: '-A OUTPUT -j X' }]);
});

test('checkApplied reports missing chains and jumps', () => {
  assert.deepEqual(checkApplied(EMPTY_SAVE).problems, [
    'chain PROXY_INIT_REDIRECT is missing',
    'chain PROXY_INIT_OUTPUT is missing',
    'PREROUTING jumps to PROXY_INIT_REDIRECT 0 times (expected once)',
    'OUTPUT jumps to PROXY_INIT_OUTPUT 0 times (expected once)',
  ]);
});

test('many ignored ports are split into multiport rules of at most 15 ports', () => {
  const ranges = Array.from({ length: 20 }, (_, i) => ({ from: 1000 + i * 10, to: 1000 + i * 10 + (i % 2) }));
  const rules = chainRules({ ...base, outboundPortsToIgnore: ranges }, 4).filter((r) => r.includes('PROXY_INIT_OUTPUT -p tcp -m multiport'));
  assert.equal(rules.length, 2);
});

test('multiport groups: never over the limit, nothing lost, order kept', () => {
  const range = fc.tuple(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 0, max: 3 })).map(([from, width]) => ({ from, to: Math.min(65535, from + width) }));
  fc.assert(
    fc.property(fc.array(range, { maxLength: 60 }), (ranges) => {
      const groups = multiportGroups(ranges);
      for (const group of groups) {
        assert.ok(group.length > 0);
        const cost = group.reduce((sum, item) => sum + (item.includes(':') ? 2 : 1), 0);
        assert.ok(cost <= MULTIPORT_LIMIT, `group ${group.join(',')} costs ${cost}`);
      }
      assert.deepEqual(groups.flat(), ranges.map((r) => (r.from === r.to ? String(r.from) : `${r.from}:${r.to}`)));
    }),
  );
});
