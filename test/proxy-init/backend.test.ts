import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseBackend, resolveBackend, type BackendProbe } from '../../src/proxy-init/backend.ts';
import { capabilityAdvice, effectiveCapabilities, isPermissionError, missingCapabilities } from '../../src/proxy-init/capabilities.ts';
import type { Runner } from '../../src/proxy-init/exec.ts';

function backendOf(choice: ReturnType<typeof chooseBackend>): string {
  return 'backend' in choice ? choice.backend : `problem: ${choice.problem}`;
}

const empty: BackendProbe = { works: true, ruleCount: 0, ours: false };
const broken = (problem: string): BackendProbe => ({ works: false, ruleCount: 0, ours: false, problem });

test('auto: nft when both tables are empty', () => {
  assert.deepEqual(chooseBackend(empty, empty), { backend: 'nft', reason: 'both tables empty; nft is the default' });
});

test('auto: the backend that already has rules, ours first', () => {
  assert.equal(backendOf(chooseBackend(empty, { ...empty, ruleCount: 3 })), 'legacy');
  assert.equal(backendOf(chooseBackend({ ...empty, ruleCount: 3 }, empty)), 'nft');
  assert.equal(backendOf(chooseBackend({ ...empty, ruleCount: 9 }, { ...empty, ruleCount: 1, ours: true })), 'legacy');
  assert.equal(backendOf(chooseBackend({ ...empty, ruleCount: 2 }, { ...empty, ruleCount: 2 })), 'nft');
});

test('auto: the working backend when only one works, a clear problem when none does', () => {
  assert.equal(backendOf(chooseBackend(broken('no kernel support'), empty)), 'legacy');
  assert.equal(backendOf(chooseBackend(empty, broken('x'))), 'nft');
  assert.deepEqual(chooseBackend(broken('A'), broken('B')), { problem: 'no iptables backend works: nft: A; legacy: B' });
});

test('resolveBackend probes the save programs and explains a missing one', async () => {
  const calls: string[] = [];
  const run: Runner = async (file) => {
    calls.push(file);
    if (file === 'iptables-nft-save') return { code: null, stdout: '', stderr: '', error: Object.assign(new Error('spawn ENOENT'), { code: 'ENOENT' }) };
    return { code: 0, stdout: '*nat\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n', stderr: '' };
  };
  const choice = await resolveBackend(run, 'auto');
  assert.deepEqual(calls.sort(), ['iptables-legacy-save', 'iptables-nft-save']);
  assert.deepEqual(choice, { backend: 'legacy', reason: 'nft unusable (iptables-nft-save is not installed (Debian/Alpine package "iptables"))' });
  assert.deepEqual(await resolveBackend(run, 'nft'), { backend: 'nft', reason: '--iptables-mode=nft' });
});

test('capabilities from /proc/self/status', () => {
  const status = 'Name:\tnode\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n';
  assert.equal(effectiveCapabilities(status), 0x1ffffffffffn);
  assert.deepEqual(missingCapabilities(0x1ffffffffffn), []);
  assert.deepEqual(missingCapabilities(0x1ffffffffffn & ~(1n << 12n)), ['NET_ADMIN']);
  assert.deepEqual(missingCapabilities(0n), ['NET_ADMIN', 'NET_RAW']);
  assert.equal(effectiveCapabilities('Name: x\n'), undefined);
  assert.match(capabilityAdvice(['NET_ADMIN']), /needs the NET_ADMIN capability .*securityContext\.capabilities\.add/);
  assert.ok(isPermissionError("iptables-restore v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)"));
  assert.ok(!isPermissionError('iptables-restore: line 3 failed'));
});
