import assert from 'node:assert/strict';
import { test } from 'node:test';
import { proxyInitFlags, runProxyInit } from '../../src/commands/proxy-init.ts';
import { ProxyInitError } from '../../src/proxy-init/apply.ts';
import type { RunResult, Runner } from '../../src/proxy-init/exec.ts';
import { restoreScript } from '../../src/proxy-init/rules.ts';
import { UsageError } from '../../src/util/flags.ts';

// The command's shell around the pure parts, with a scripted stand-in for the iptables
// programs (the real ones run in netns.test.ts).

const EMPTY = '*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n';
const notInstalled = (): RunResult => ({ code: null, stdout: '', stderr: '', error: Object.assign(new Error('spawn ENOENT'), { code: 'ENOENT' }) });

interface Call {
  file: string;
  args: readonly string[];
  input?: string;
}

/** A fake iptables: *-save prints `table`, *-restore "applies" by keeping only our rules. */
function fakeIptables(options: { restore?: (input: string) => RunResult; saveAfter?: string } = {}) {
  const calls: Call[] = [];
  let applied = false;
  const run: Runner = async (file, args, input) => {
    calls.push({ file, args, input });
    if (file.endsWith('-save')) {
      if (applied && options.saveAfter !== undefined) return { code: 0, stdout: options.saveAfter, stderr: '' };
      if (applied) {
        const rules = (calls.findLast((c) => c.file.endsWith('-restore'))?.input ?? '').split('\n').filter((l) => l.startsWith('-A '));
        return { code: 0, stdout: `*nat\n:PROXY_INIT_REDIRECT - [0:0]\n:PROXY_INIT_OUTPUT - [0:0]\n${rules.join('\n')}\nCOMMIT\n`, stderr: '' };
      }
      return { code: 0, stdout: EMPTY, stderr: '' };
    }
    if (file.endsWith('-restore')) {
      const result = options.restore?.(input ?? '') ?? { code: 0, stdout: '', stderr: '' };
      if (result.code === 0) applied = true;
      return result;
    }
    return notInstalled();
  };
  return { run, calls };
}

async function cli(argv: string[], run: Runner, missing: string[] = []) {
  let out = '';
  const code = await runProxyInit(['--log-level', 'silent', ...argv], { env: {}, run, out: (text) => (out += text), missingCapabilities: async () => missing });
  return { code, out };
}

test('--help lists every flag the injector writes', async () => {
  const { code, out } = await cli(['--help'], fakeIptables().run);
  assert.equal(code, 0);
  for (const flag of ['incoming-proxy-port', 'outgoing-proxy-port', 'proxy-uid', 'inbound-ports-to-ignore', 'outbound-ports-to-ignore', 'subnets-to-ignore', 'iptables-mode', 'dry-run', 'log-level']) {
    assert.ok(flag in proxyInitFlags, flag);
    assert.match(out, new RegExp(`--${flag}\\b`));
  }
});

test('--dry-run prints the restore input and changes nothing', async () => {
  const fake = fakeIptables();
  const { code, out } = await cli(['--dry-run', '--iptables-mode', 'legacy', '--outbound-ports-to-ignore', '443'], fake.run);
  assert.equal(code, 0);
  assert.ok(out.startsWith('# iptables-legacy-restore --noflush (backend legacy: --iptables-mode=legacy)\n'));
  assert.ok(out.endsWith('COMMIT\n'));
  assert.match(out, /--dports 443 /);
  assert.deepEqual(fake.calls.map((c) => c.file), ['iptables-legacy-save']);
});

test('--dry-run works where no iptables can even be run', async () => {
  const { code, out } = await cli(['--dry-run'], async () => notInstalled());
  assert.equal(code, 0);
  assert.match(out, /^# iptables-nft-restore --noflush \(backend nft: auto could not probe \(no iptables backend works: nft: iptables-nft-save is not installed/m);
  assert.match(out, /^# current table unreadable \(iptables-nft-save is not installed/m);
  assert.match(out, /^-A OUTPUT -m comment --comment "proxy-init\/install-proxy-init-output" -j PROXY_INIT_OUTPUT$/m);
});

test('a real run feeds iptables-restore --noflush and checks the result', async () => {
  const fake = fakeIptables();
  const { code } = await cli(['--iptables-mode', 'nft', '--ipv6'], fake.run);
  assert.equal(code, 0);
  const restores = fake.calls.filter((c) => c.file.endsWith('-restore'));
  assert.deepEqual(restores.map((c) => [c.file, c.args]), [
    ['iptables-nft-restore', ['--noflush', '-w', '5']],
    ['ip6tables-nft-restore', ['--noflush', '-w', '5']],
  ]);
  assert.equal(restores[0].input, restoreScript({ incomingProxyPort: 4143, outgoingProxyPort: 4140, proxyUid: 2102, inboundPortsToIgnore: [], outboundPortsToIgnore: [], subnetsToIgnore: [], iptablesMode: 'nft', ipv6: true }, 4, EMPTY));
});

test('missing capabilities stop the run before iptables is touched', async () => {
  const fake = fakeIptables();
  await assert.rejects(cli(['--iptables-mode', 'nft'], fake.run, ['NET_ADMIN']), (error: unknown) => {
    assert.ok(error instanceof ProxyInitError);
    assert.equal(error.message, "proxy-init needs the NET_ADMIN capability to write iptables rules (missing: NET_ADMIN); add them to the init container's securityContext.capabilities.add");
    return true;
  });
  assert.deepEqual(fake.calls, []);
});

test('a permission error from iptables-restore explains the capabilities', async () => {
  const fake = fakeIptables({ restore: () => ({ code: 4, stdout: '', stderr: 'iptables-restore v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)\n' }) });
  await assert.rejects(cli(['--iptables-mode', 'nft'], fake.run), /applying the rules failed: iptables-nft-restore exited 4: .*Permission denied.*; proxy-init needs the NET_ADMIN and NET_RAW capabilities/);
});

test('a bad rule is reported with iptables-restore\'s own words', async () => {
  const fake = fakeIptables({ restore: () => ({ code: 2, stdout: '', stderr: "iptables-restore: line 5 failed\n" }) });
  await assert.rejects(cli(['--iptables-mode', 'legacy'], fake.run), /^ProxyInitError: applying the rules failed: iptables-legacy-restore exited 2: iptables-restore: line 5 failed$/);
});

test('a table that does not read back right fails the run', async () => {
  const fake = fakeIptables({ saveAfter: `${EMPTY}` });
  await assert.rejects(cli(['--iptables-mode', 'nft'], fake.run), /not as expected after applying: chain PROXY_INIT_REDIRECT is missing/);
});

test('usage errors', async () => {
  const run = fakeIptables().run;
  await assert.rejects(cli(['extra'], run), (e: unknown) => e instanceof UsageError && /unexpected argument "extra"/.test(e.message));
  await assert.rejects(runProxyInit(['--log-level', 'loud'], { env: {}, run, out: () => {} }), (e: unknown) => e instanceof UsageError && /^--log-level: /.test(e.message));
  await assert.rejects(cli(['--no-such-flag'], run), UsageError);
});
