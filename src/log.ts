import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

const LEVELS = new Set<string>(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export function isLogLevel(value: string): value is LevelWithSilent {
  return LEVELS.has(value);
}

/** JSON logs on stderr for every role, so stdout stays free for command output. */
export function createLogger(role: string, level: string = process.env.WEFT_LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      level: isLogLevel(level) ? level : 'info',
      base: { role },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ fd: 2, sync: false }),
  );
}
