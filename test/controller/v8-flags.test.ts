import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// bin/weft.js starts the controller with capped V8 semi-spaces (its RSS with 10,000 namespaces
// depends on it) by replacing its own process, so the pid a supervisor knows is the controller's.

const WEFT = fileURLToPath(new URL('../../bin/weft.js', import.meta.url));
const skip = typeof process.execve !== 'function' || !existsSync('/proc/self/cmdline') ? 'needs process.execve and /proc' : false;

async function controllerCommandLine(nodeOptions: string): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'weft-v8-flags-'));
  const child = spawn(process.execPath, [WEFT, 'controller', '--standalone', `--state-dir=${dir}`, '--port=0', '--admin-port=0', '--identity-disabled', '--drain-delay=0s'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: nodeOptions },
  });
  try {
    let logs = '';
    child.stderr.on('data', (chunk: Buffer) => (logs += chunk.toString()));
    child.stdout.resume();
    const deadline = Date.now() + 20_000;
    while (!logs.includes('controller listening')) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`controller did not start: ${logs.slice(-500)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0').filter((arg) => arg !== '');
  } finally {
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    rmSync(dir, { recursive: true, force: true });
    assert.equal(code, 0, 'the re-executed controller still stops cleanly on SIGTERM');
  }
}

test('the controller runs with --max-semi-space-size=4, in the process that was started', { skip, timeout: 60_000 }, async () => {
  const args = await controllerCommandLine('');
  assert.equal(args[1], '--max-semi-space-size=4');
  assert.ok(args.includes('controller'));
});

test('a semi-space size given in NODE_OPTIONS wins', { skip, timeout: 60_000 }, async () => {
  const args = await controllerCommandLine('--max-semi-space-size=8');
  assert.ok(!args.some((arg) => arg.startsWith('--max-semi-space-size')), `no flag of weft's own: ${args.join(' ')}`);
});
