// Every command answers --help the same way: usage and flags on stdout, exit 0, nothing on
// stderr, and no side effect (the controller must not start, proxy-init must not touch
// iptables).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const WEFT = new URL('../../bin/weft.js', import.meta.url).pathname;
const COMMANDS = ['controller', 'inject', 'uninject', 'validate', 'check', 'certs trust-anchor', 'certs issuer', 'certs webhook', 'proxy', 'proxy-init', 'await'];

for (const command of COMMANDS) {
  test(`weft ${command} --help prints its usage and flags`, async () => {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [WEFT, ...command.split(' '), '--help'], { timeout: 20_000 });
    assert.equal(stderr, '');
    assert.match(stdout, new RegExp(`^Usage: weft ${command}\\b`));
    assert.match(stdout, /\nFlags:\n {2}--[a-z]/);
  });
}

test('weft certs --help lists its subcommands', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [WEFT, 'certs', '--help'], { timeout: 20_000 });
  for (const sub of ['trust-anchor', 'issuer', 'webhook']) assert.match(stdout, new RegExp(sub));
});
