import type { Command } from '../cli.ts';
import { durationMs } from '../util/duration.ts';
import { printHelp, parseFlags, UsageError } from '../util/flags.ts';
import type { FlagSpecs } from '../util/flags.ts';

export const awaitFlagSpecs = {
  url: { type: 'string', default: 'http://127.0.0.1:4191/ready', help: 'readiness URL to poll' },
  timeout: { type: 'string', default: '2m', help: 'give up after this long (exit 1)' },
} satisfies FlagSpecs;

/**
 * The proxy's postStart hook: the kubelet starts the app container only after this returns,
 * so the app's first connections find the mesh ready.
 */
export const command: Command = {
  summary: 'wait until the proxy is ready (postStart hook)',
  async run(argv) {
    const parsed = parseFlags(awaitFlagSpecs, argv);
    if (parsed.help) return printHelp('Usage: weft await [--url URL] [--timeout 2m]', awaitFlagSpecs);
    let timeoutMs: number;
    try {
      timeoutMs = durationMs(parsed.flags.timeout ?? '2m', '--timeout');
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const url = parsed.flags.url ?? '';
    const deadline = Date.now() + timeoutMs;
    for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
        if (response.ok) return 0;
      } catch {
        // not listening yet
      }
      if (Date.now() + delay > deadline) {
        process.stderr.write(`weft await: ${url} not ready after ${parsed.flags.timeout}\n`);
        return 1;
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  },
};
