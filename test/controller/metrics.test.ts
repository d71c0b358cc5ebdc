import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { createAdmissionMetrics } from '../../src/controller/metrics.ts';

// The admission path counts into plain numbers that reach prom-client when it collects; the
// reference registry gets the same events through prom-client's own inc and observe.
test('admitted and considered give the same /metrics text as observing and counting on the spot', async () => {
  const fast = new Registry();
  const reference = new Registry();
  const metrics = createAdmissionMetrics(fast);
  const direct = createAdmissionMetrics(reference);
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const results = ['injected', 'skipped', 'error'] as const;
  // A scrape in the middle, then more counts on top of what it collected.
  for (let i = 0; i < 1500; i++) {
    const webhook = i % 7 === 0 ? 'validate' : 'inject';
    const kind = i % 11 === 0 ? 'Deployment' : 'Pod';
    const operation = i % 5 === 0 ? 'UPDATE' : 'CREATE';
    const dryRun = i % 13 === 0;
    const result = results[i % 3]!;
    const seconds = random() ** 3 * 0.4;
    metrics.admitted(webhook, kind, operation, dryRun, result, seconds);
    direct.duration.observe({ webhook }, seconds);
    direct.requests.inc({ webhook, kind, operation, dry_run: String(dryRun), result });
    const reason = result === 'injected' ? '' : `reason_${i % 4}`;
    metrics.considered(result, reason);
    direct.inject.inc({ result, reason });
    if (i === 700) assert.equal(await fast.metrics(), await reference.metrics());
  }
  // A bad request is counted but not timed.
  metrics.admitted('inject', '', '', false, 'bad_request');
  direct.requests.inc({ webhook: 'inject', kind: '', operation: '', dry_run: 'false', result: 'bad_request' });
  const text = await fast.metrics();
  assert.equal(text, await reference.metrics());
  assert.match(text, /weft_admission_duration_seconds_bucket\{le="0.00025",webhook="inject"\} \d+/);
  assert.match(text, /weft_admission_duration_seconds_count\{webhook="inject"\} 1285/);
  assert.match(text, /result="bad_request"\} 1/);
  // Collecting again adds nothing that was already counted.
  assert.equal(await fast.metrics(), text);
});

test('counts made through prom-client directly and pending ones add up', async () => {
  const metrics = createAdmissionMetrics(new Registry());
  metrics.considered('injected', '');
  metrics.inject.inc({ result: 'injected', reason: '' }, 2);
  metrics.considered('injected', '');
  const { values } = await metrics.inject.get();
  assert.deepEqual(values.map((v) => [v.labels, v.value]), [[{ result: 'injected', reason: '' }, 4]]);
});
