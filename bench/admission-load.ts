// The load generator of the admission benchmark, in a process of its own so that it does not
// share an event loop with the server. Modes: "max" (closed loop, fixed concurrency) and
// "rate" (open loop at a fixed request rate, latency measured from the scheduled send time).
import * as https from 'node:https';
import { readFileSync } from 'node:fs';

const [port, path, bodyFile, caFile, mode, param, seconds] = process.argv.slice(2) as [string, string, string, string, string, string, string];
const body = readFileSync(bodyFile);
const agent = new https.Agent({ keepAlive: true, maxSockets: 64, ca: readFileSync(caFile) });
const latencies: number[] = [];
let errors = 0;

function send(): Promise<void> {
  return new Promise((resolve) => {
    const request = https.request({ host: '127.0.0.1', port: Number(port), path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (response) => {
      response.on('data', () => undefined);
      response.on('end', () => {
        if (response.statusCode !== 200) errors++;
        resolve();
      });
    });
    request.on('error', () => {
      errors++;
      resolve();
    });
    request.end(body);
  });
}

// Open the keep-alive connections (TLS handshakes) before measuring, so neither mode
// counts connection setup as admission latency.
await Promise.all(Array.from({ length: 64 }, () => send()));
errors = 0;
const durationMs = Number(seconds) * 1000;
const started = performance.now();
if (mode === 'max') {
  const concurrency = Number(param);
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() - started < durationMs) {
        const t0 = performance.now();
        await send();
        latencies.push(performance.now() - t0);
      }
    }),
  );
} else {
  const rate = Number(param);
  const total = Math.floor((rate * durationMs) / 1000);
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    // From the scheduled time when the send is late (no coordinated omission); from the
    // actual send when the timer fired early.
    const from = Math.min(due, performance.now());
    pending.push(send().then(() => void latencies.push(performance.now() - from)));
  }
  await Promise.all(pending);
}
const elapsed = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
process.stdout.write(JSON.stringify({ requests: latencies.length, errors, rps: latencies.length / elapsed, p50: pct(50), p99: pct(99) }) + '\n');
agent.destroy();
