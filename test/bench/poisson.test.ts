// The proxy benchmark's fixed-rate load comes from wrk driven by bench/lib/poisson.lua. This
// checks that the script does what the benchmark's table claims: the mean rate it was asked
// for, with arrivals spread out rather than sent in bursts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { which } from '../helpers/netns.ts';

const SCRIPT = new URL('../../bench/lib/poisson.lua', import.meta.url).pathname;
const RATE = 400;
const SECONDS = 2;

test('poisson.lua paces wrk at the requested mean rate with spread-out arrivals', { skip: which('wrk') ? undefined : 'wrk is not installed (Debian package wrk; scripts/setup.sh --system installs it)' }, async (t) => {
  const arrivals: bigint[] = [];
  const server = createServer((_req, res) => {
    arrivals.push(process.hrtime.bigint());
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const { port } = server.address() as AddressInfo;
  const { stdout } = await promisify(execFile)('wrk', ['-t', '1', '-c', '20', '-d', `${SECONDS}s`, '-s', SCRIPT, `http://127.0.0.1:${port}/`, '--', String(RATE), '7']);
  assert.match(stdout, /Requests\/sec:/);

  const expected = RATE * SECONDS;
  assert.ok(arrivals.length > expected * 0.7 && arrivals.length < expected * 1.3, `${arrivals.length} requests in ${SECONDS}s, expected about ${expected}`);
  // Exponential gaps with a mean of 2.5 ms have a median of about 1.7 ms. Twenty connections
  // released together (as hey's workers are) would make most gaps zero.
  const gaps = arrivals.slice(1).map((at, i) => Number(at - (arrivals[i] as bigint)) / 1e6);
  gaps.sort((a, b) => a - b);
  const medianGap = gaps[Math.floor(gaps.length / 2)] as number;
  assert.ok(medianGap > 0.5, `median gap between arrivals ${medianGap.toFixed(3)} ms: arrivals are bunched`);
});

test('poisson.lua refuses to run without a rate', { skip: which('wrk') ? undefined : 'wrk is not installed' }, async (t) => {
  const server = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const { port } = server.address() as AddressInfo;
  await assert.rejects(promisify(execFile)('wrk', ['-t', '1', '-c', '1', '-d', '1s', '-s', SCRIPT, `http://127.0.0.1:${port}/`]), /pass the rate/);
});
