import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import { after, describe, test } from 'node:test';

const weft = fileURLToPath(new URL('../../bin/weft.js', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'weft-check-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [weft, 'check', ...args], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: tmp, ...env }, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('weft check (command line)', () => {
  test('--help lists the flags and exits 0', () => {
    const r = run(['--help']);
    assert.equal(r.code, 0, r.stderr);
    for (const flag of ['--namespace', '--selector', '--output', '--warn-days', '--kubeconfig']) assert.ok(r.stdout.includes(flag), flag);
  });

  test('usage errors exit 2', () => {
    assert.equal(run(['--output', 'yaml']).code, 2);
    assert.equal(run(['--warn-days', 'soon']).code, 2);
    assert.equal(run(['--no-such-flag']).code, 2);
  });

  test('an unreachable API server gives failed checks and exit 1, not a crash', async () => {
    // A port that was just free: nothing listens there.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const kubeconfig = join(tmp, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      ['apiVersion: v1', 'kind: Config', `clusters: [{name: c, cluster: {server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]`, 'users: [{name: u, user: {token: t}}]', 'contexts: [{name: x, context: {cluster: c, user: u}}]', 'current-context: x', ''].join('\n'),
    );
    const r = run(['--output', 'json', '--kubeconfig', kubeconfig]);
    assert.equal(r.code, 1, r.stderr);
    const report = JSON.parse(r.stdout) as { success: boolean; checks: { id: string; status: string; message: string }[] };
    assert.equal(report.success, false);
    assert.deepEqual(report.checks.map((c) => c.id), ['kubernetes-api-reachable']);
    assert.equal(report.checks[0]!.status, 'fail');
    assert.match(report.checks[0]!.message, /ECONNREFUSED/);
  });
});
