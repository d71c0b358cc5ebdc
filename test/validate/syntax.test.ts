import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDuration } from '../../src/validate/durations.ts';
import { isHeaderToken, isK8sSubdomain, isLabelKey, isLabelValue, wildcardDomainProblem } from '../../src/validate/names.ts';
import { cidrProblem, isIPAddress } from '../../src/validate/net.ts';
import { re2Problem } from '../../src/validate/regex.ts';

test('wildcard domains as Istio reads them', () => {
  for (const ok of ['a', 'reviews.ns.svc.cluster.local', '*', '*.a.com', '*foo.a.com', '*-foo.a.com', 'A-1.b', 'x.io.', 'x.99999999999999999999']) {
    assert.equal(wildcardDomainProblem(ok), undefined, ok);
  }
  for (const bad of ['', 'a..b', 'foo.*.com', 'foo*.com', 'a_b', '-a', 'a-', 'a.1', 'a.-1', 'a:80', 'a'.repeat(64), `${'a.'.repeat(128)}a`]) {
    assert.notEqual(wildcardDomainProblem(bad), undefined, bad);
  }
});

test('IP addresses and CIDRs as Go netip reads them', () => {
  for (const ok of ['1.2.3.4', '0.0.0.0', '::', '::1', '2001:db8::1', 'fe80::1%eth0', '::ffff:1.2.3.4']) assert.ok(isIPAddress(ok), ok);
  for (const bad of ['1.2.3', '1.2.3.4.5', '01.2.3.4', '256.1.1.1', '1.2.3.4%eth0', 'a.b.c.d', '', ':::', '::ffff:01.2.3.4']) assert.ok(!isIPAddress(bad), bad);
  for (const ok of ['10.0.0.0/8', '192.168.1.10/24', '0.0.0.0/0', '2001:db8::/32', '::/128']) assert.equal(cidrProblem(ok), undefined, ok);
  for (const bad of ['10.0.0.0/33', '10.0.0.0/', '10.0.0.0/08', '::/129', 'fe80::1%eth0/64', 'x/8', '10.0.0.0']) assert.notEqual(cidrProblem(bad), undefined, bad);
});

test('names, labels and header tokens', () => {
  assert.ok(isK8sSubdomain('web.shop.svc.cluster.local'));
  for (const bad of ['Web', '^.^', '', 'a..b', '-a', 'a'.repeat(254)]) assert.ok(!isK8sSubdomain(bad), bad);
  assert.ok(isLabelKey('app.kubernetes.io/name') && isLabelKey('app') && !isLabelKey('app!') && !isLabelKey('/x') && !isLabelKey('a/b/c'));
  assert.ok(isLabelValue('') && isLabelValue('v1.2_3') && !isLabelValue('-v') && !isLabelValue('a'.repeat(64)));
  assert.ok(isHeaderToken('x-b3-traceid') && !isHeaderToken('end user') && !isHeaderToken(':path') && !isHeaderToken(''));
});

test('durations: Go syntax with messages that say what is expected', () => {
  assert.deepEqual(parseDuration('1m30s'), { ok: true, nanos: 90_000_000_000n });
  assert.deepEqual(parseDuration('0.5s'), { ok: true, nanos: 500_000_000n });
  assert.deepEqual(parseDuration('-1s'), { ok: true, nanos: -1_000_000_000n });
  const noUnit = parseDuration('10');
  assert.ok(!noUnit.ok && /"10" has no unit/.test(noUnit.message));
  const unit = parseDuration('1d');
  assert.ok(!unit.ok && /unknown unit "d"/.test(unit.message));
  assert.ok(!parseDuration('').ok);
  assert.ok(!parseDuration('1'.repeat(100) + 's').ok);
});

test('RE2 syntax check with a length cap; answers are cached but identical', () => {
  assert.equal(re2Problem('^/books/[0-9]+$'), undefined);
  assert.match(re2Problem('*.html') ?? '', /missing argument to repetition operator/);
  assert.match(re2Problem('*.html') ?? '', /missing argument to repetition operator/);
  assert.match(re2Problem('(?=lookahead)') ?? '', /RE2/);
  assert.match(re2Problem('a'.repeat(2000)) ?? '', /at most 1024/);
  assert.equal(re2Problem('a'.repeat(2000), 4096), undefined);
});
