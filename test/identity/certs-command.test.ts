import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { parseFlags } from '../../src/util/flags.ts';
import { webhookFlagSpecs, trustAnchorFlagSpecs, issuerFlagSpecs } from '../../src/commands/certs.ts';
import { validateIssuerMaterial } from '../../src/identity/issuer-source.ts';
import { HAVE_OPENSSL, opensslVerify } from './helpers.ts';

const WEFT = new URL('../../bin/weft.js', import.meta.url).pathname;

function weft(args: string[], cwd: string): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [WEFT, 'certs', ...args], { cwd, encoding: 'utf8' });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

test('trust-anchor, issuer and webhook write verifiable PEM files and refuse to overwrite without --force', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-certs-'));
  try {
    let run = weft(['trust-anchor', '--out', 'root', '--lifetime', '87600h'], dir);
    assert.equal(run.status, 0, run.stderr);
    run = weft(['issuer', '--anchor-cert', 'root/ca.crt', '--anchor-key', 'root/ca.key', '--out', 'issuer', '--lifetime', '720h'], dir);
    assert.equal(run.status, 0, run.stderr);
    const root = new X509Certificate(readFileSync(join(dir, 'root/ca.crt')));
    const issuer = new X509Certificate(readFileSync(join(dir, 'issuer/tls.crt')));
    assert.ok(root.ca && issuer.ca && issuer.verify(root.publicKey));
    const days = (new Date(issuer.validTo).getTime() - Date.now()) / 86_400_000;
    assert.ok(days > 29.9 && days < 30.1, `issuer lifetime ${days} days`);
    assert.equal(statSync(join(dir, 'issuer/tls.key')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'root/ca.key')).mode & 0o777, 0o600);
    // The issuer directory is exactly what the identity service loads.
    validateIssuerMaterial({
      certChainPem: readFileSync(join(dir, 'issuer/tls.crt'), 'utf8'),
      keyPem: readFileSync(join(dir, 'issuer/tls.key'), 'utf8'),
      trustAnchorsPem: readFileSync(join(dir, 'issuer/ca.crt'), 'utf8'),
    });

    const before = readFileSync(join(dir, 'root/ca.key'), 'utf8');
    run = weft(['trust-anchor', '--out', 'root'], dir);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /refusing to overwrite .*--force/);
    assert.equal(readFileSync(join(dir, 'root/ca.key'), 'utf8'), before, 'the old key is untouched');
    run = weft(['trust-anchor', '--out', 'root', '--force'], dir);
    assert.equal(run.status, 0, run.stderr);
    assert.notEqual(readFileSync(join(dir, 'root/ca.key'), 'utf8'), before);

    run = weft(['webhook', '--service', 'weft-controller', '--namespace', 'weft', '--ip', '127.0.0.1', '--dns', 'localhost', '--out', 'wh'], dir);
    assert.equal(run.status, 0, run.stderr);
    const bundle = readFileSync(join(dir, 'wh/caBundle.b64'), 'utf8').trim();
    assert.match(run.stdout, new RegExp(`caBundle: ${bundle.replace(/[+/=]/g, '\\$&')}`));
    const ca = readFileSync(join(dir, 'wh/ca.crt'), 'utf8');
    assert.equal(Buffer.from(bundle, 'base64').toString(), ca);
    const serving = new X509Certificate(readFileSync(join(dir, 'wh/tls.crt')));
    assert.equal(serving.subjectAltName, 'DNS:weft-controller.weft.svc, DNS:weft-controller.weft.svc.cluster.local, DNS:localhost, IP Address:127.0.0.1');
    if (HAVE_OPENSSL) {
      const result = opensslVerify({ anchorPem: ca, leafPem: serving.toString(), purpose: 'sslserver', extra: ['-verify_ip', '127.0.0.1'] });
      assert.ok(result.ok, result.output);
    }

    // Rotating only the serving certificate keeps the CA, so caBundle does not change.
    run = weft(['webhook', '--service', 'weft-controller', '--namespace', 'weft', '--ca-cert', 'wh/ca.crt', '--ca-key', 'wh/ca.key', '--out', 'wh2'], dir);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(readFileSync(join(dir, 'wh2/caBundle.b64'), 'utf8').trim(), bundle);
    assert.ok(new X509Certificate(readFileSync(join(dir, 'wh2/tls.crt'))).verify(new X509Certificate(ca).publicKey));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad invocations exit 2 and name the flag', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-certs-'));
  try {
    for (const [args, pattern] of [
      [['webhook', '--namespace', 'weft'], /--service/],
      [['webhook', '--service', 'x', '--namespace', 'Bad_NS'], /--namespace/],
      [['webhook', '--service', 'x', '--namespace', 'y', '--ip', 'nope'], /--ip/],
      [['trust-anchor', '--lifetime', 'forever'], /--lifetime/],
      [['issuer', '--anchor-cert', 'missing.crt', '--anchor-key', 'missing.key'], /trust anchor/],
      [['frobnicate'], /unknown subcommand/],
    ] as const) {
      const run = weft([...args], dir);
      assert.equal(run.status, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, pattern);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the certs flag specs are exported and parse', () => {
  assert.deepEqual(parseFlags(webhookFlagSpecs, ['--service', 's', '--namespace', 'n', '--ip', '127.0.0.1,::1']).flags.ip, ['127.0.0.1', '::1']);
  assert.equal(parseFlags(trustAnchorFlagSpecs, []).flags.lifetime, '87600h');
  assert.equal(parseFlags(issuerFlagSpecs, []).flags.lifetime, '8760h');
});

test('certs/dev-pki.sh makes a root, an issuer the identity service accepts, and webhook certificates', { skip: spawnSync('bash', ['--version']).status === 0 ? false : 'bash not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-dev-pki-'));
  try {
    const script = new URL('../../certs/dev-pki.sh', import.meta.url).pathname;
    // The script runs `node`; make sure it is this Node, not an older one earlier on PATH.
    const env = { ...process.env, PATH: `${join(process.execPath, '..')}:${process.env.PATH ?? ''}` };
    const run = spawnSync('bash', [script, join(dir, 'pki'), 'mesh'], { encoding: 'utf8', env });
    assert.equal(run.status, 0, run.stderr);
    validateIssuerMaterial({
      certChainPem: readFileSync(join(dir, 'pki/issuer/tls.crt'), 'utf8'),
      keyPem: readFileSync(join(dir, 'pki/issuer/tls.key'), 'utf8'),
      trustAnchorsPem: readFileSync(join(dir, 'pki/root/ca.crt'), 'utf8'),
    });
    assert.match(new X509Certificate(readFileSync(join(dir, 'pki/webhook/tls.crt'))).subjectAltName ?? '', /weft-controller\.mesh\.svc.*IP Address:127\.0\.0\.1/);
    const again = spawnSync('bash', [script, join(dir, 'pki'), 'mesh'], { encoding: 'utf8', env });
    assert.notEqual(again.status, 0, 'a second run refuses to overwrite');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
