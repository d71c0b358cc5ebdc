import { pino, type Logger } from 'pino';
import { isLogLevel } from './util/log-levels.ts';

export type { Logger };

let stampedAt = -1;
let stamp = '';

/**
 * pino's ISO time, formatted once per millisecond: a busy controller writes many lines in the
 * same millisecond, and formatting the date was a tenth of each line's cost.
 */
function isoTime(): string {
  const now = Date.now();
  if (now !== stampedAt) {
    stampedAt = now;
    stamp = `,"time":"${new Date(now).toISOString()}"`;
  }
  return stamp;
}

/**
 * JSON logs on stderr for every role, so stdout stays free for command output. `destination`
 * is for benchmarks that measure logging without printing it.
 */
export function createLogger(role: string, level: string = process.env.WEFT_LOG_LEVEL ?? 'info', destination: number | string = 2): Logger {
  return pino(
    {
      level: isLogLevel(level) ? level : 'info',
      base: { role },
      timestamp: isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ dest: destination, sync: false }),
  );
}
