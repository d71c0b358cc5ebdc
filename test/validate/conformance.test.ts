import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateObject } from '../../src/validate/index.ts';
import type { FieldViolation } from '../../src/validate/index.ts';
import { CORPUS_DIR, corpusAvailable, loadCorpus } from './corpus.ts';
import { ABOUT, WARNS } from './corpus-reasons.ts';

// Every case of the shared corpus must get upstream's verdict, and a rejection must be about the
// case's `reason`: weft's wording is its own, so each reason is pinned to the field path weft
// reports and the words its message must contain (see corpus-reasons.ts).

const available = corpusAvailable();
if (!available) console.log(`# skipping the conformance suite: no corpus at ${CORPUS_DIR}`);

const cases = available ? loadCorpus() : [];

function show(violations: FieldViolation[]): string {
  return violations.map((v) => `${v.path}: ${v.message}`).join('\n');
}

test('the corpus is present', { skip: available ? false : `no corpus at ${CORPUS_DIR}` }, () => {
  assert.ok(cases.length > 0);
});

for (const c of cases) {
  test(`${c.file} is ${c.expect}`, () => {
    const outcome = validateObject(c.object);
    assert.equal(outcome.kind, c.kind, 'validated as the kind of the case');
    if (c.expect === 'valid') {
      assert.deepEqual(outcome.violations, [], `expected valid, got:\n${show(outcome.violations)}`);
      const warning = WARNS[c.file];
      if (warning) assert.ok(outcome.warnings.some((w) => warning.test(w)), `expected a warning matching ${warning}, got: ${JSON.stringify(outcome.warnings)}`);
      return;
    }
    assert.ok(outcome.violations.length > 0, `expected a rejection about: ${c.reason}`);
    const about = ABOUT[c.file];
    if (about === undefined) {
      console.log(`# ${c.file}: no reason mapping in corpus-reasons.ts; only the verdict is checked (reason: ${c.reason})`);
      return;
    }
    const hit = outcome.violations.find((v) => about.path.test(v.path) && about.message.test(v.message));
    assert.ok(hit, `no violation at ${about.path} matching ${about.message} (reason: ${c.reason}); got:\n${show(outcome.violations)}`);
  });
}

test('every reason mapping names a corpus case', { skip: available ? false : 'no corpus' }, () => {
  const files = new Set(cases.map((c) => c.file));
  for (const file of [...Object.keys(ABOUT), ...Object.keys(WARNS)]) assert.ok(files.has(file), `${file} is not in INDEX.tsv`);
});
