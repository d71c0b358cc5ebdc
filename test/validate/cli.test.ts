import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { exitCode, formatJSON, formatText, validateManifests } from '../../src/validate/manifests.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const fixtures = join(root, 'test', 'fixtures', 'validate');
const read = (name: string) => ({ name, text: readFileSync(join(fixtures, name), 'utf8') });

test('multi-document YAML and Lists: each object gets its own verdict, other kinds are skipped', () => {
  const results = validateManifests([read('mixed.yaml')], { defaultNamespace: 'default' });
  assert.deepEqual(
    results.map((r) => [r.document, r.kind, r.namespace, r.name, r.status]),
    [
      ['1', 'VirtualService', 'shop', 'reviews', 'valid'],
      ['2', 'ServiceProfile', 'shop', 'web.shop.svc.cluster.local', 'invalid'],
      ['3', 'Deployment', 'default', 'web', 'skipped'],
      ['4.items[0]', 'AuthorizationPolicy', 'default', 'deny-nothing', 'invalid'],
    ],
  );
  assert.equal(exitCode(results), 1);
});

test('text output names file, document, object, field path and problem', () => {
  const { out, err } = formatText(validateManifests([read('mixed.yaml')], { defaultNamespace: 'default' }));
  const lines = out.trimEnd().split('\n');
  assert.match(lines[0], /^mixed\.yaml:2 ServiceProfile\/shop\/web\.shop\.svc\.cluster\.local: spec\.routes\[0\]\.timeout: "10" has no unit/);
  assert.match(lines[1], /^mixed\.yaml:4\.items\[0\] AuthorizationPolicy\/default\/deny-nothing: spec\.rules: /);
  assert.equal(lines.length, 2);
  assert.match(err, /mixed\.yaml:3 Deployment\/default\/web: skipped/);
  assert.match(err, /3 checked: 1 valid, 2 invalid; 1 skipped/);
});

test('JSON output carries the verdicts for CI', () => {
  const parsed = JSON.parse(formatJSON(validateManifests([read('valid.yaml')]))) as { valid: boolean; results: { status: string }[] };
  assert.equal(parsed.valid, true);
  assert.deepEqual(parsed.results.map((r) => r.status), ['valid', 'valid']);
});

test('unreadable YAML is an error, not a pass', () => {
  const results = validateManifests([read('broken.yaml')]);
  assert.equal(results[0].status, 'error');
  assert.match(results[0].note ?? '', /cannot read YAML/);
  assert.equal(exitCode(results), 1);
});

test('an empty input checks nothing and passes', () => {
  assert.deepEqual(validateManifests([{ name: 'empty.yaml', text: '---\n' }]), []);
});

function weft(args: string[], input?: string) {
  return spawnSync(process.execPath, [join(root, 'bin', 'weft.js'), 'validate', ...args], { cwd: fixtures, input, encoding: 'utf8' });
}

test('weft validate exits 0 when all are valid, 1 otherwise, 2 on usage errors', () => {
  assert.equal(weft(['valid.yaml']).status, 0);
  const bad = weft(['valid.yaml', 'mixed.yaml']);
  assert.equal(bad.status, 1);
  assert.match(bad.stdout, /mixed\.yaml:2 ServiceProfile/);
  assert.equal(weft([]).status, 2);
  assert.equal(weft(['--output', 'xml', 'valid.yaml']).status, 2);
});

test('weft validate reads standard input with - and prints JSON', () => {
  const run = weft(['--output', 'json', '-'], readFileSync(join(fixtures, 'mixed.yaml'), 'utf8'));
  assert.equal(run.status, 1);
  const parsed = JSON.parse(run.stdout) as { valid: boolean; results: { file: string }[] };
  assert.equal(parsed.valid, false);
  assert.equal(parsed.results[0].file, '-');
});

test('weft validate --cluster-state warns about references the given cluster lacks', () => {
  const run = weft(['--cluster-state', 'cluster', 'mixed.yaml']);
  assert.equal(run.status, 1);
  assert.match(run.stdout, /mixed\.yaml:1 VirtualService\/shop\/reviews: warning: spec\.http\[0\]\.route\[1\]\.destination\.subset: no DestinationRule for "reviews" defines subset "v2"/);
  assert.doesNotMatch(run.stdout, /subset "v1"/);
  const without = weft(['mixed.yaml']);
  assert.doesNotMatch(without.stdout, /DestinationRule/);
});
