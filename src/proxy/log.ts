import { writeSync } from 'node:fs';
import { isLogLevel, type LogLevel } from '../util/log-levels.ts';

export { isLogLevel, type LogLevel };

// The proxy's logger: the same JSON lines the other roles write with pino ({"level":"info",
// "time":"<ISO>","role":"proxy",...,"msg":"..."}) from a few lines of code, because loading pino
// costs every pod ~6 MB of RSS. The proxy logs at start, on certificate rotation and discovery
// changes, and on failures; per-connection lines exist only at debug level. Lines are written
// synchronously to stderr, which is cheap at that rate and loses nothing at exit.

const RANK: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

type LogMethod = (fields: object, msg?: string) => void;

/** What the proxy needs of a logger; a pino logger fits it too (tests pass one). */
export interface ProxyLogger {
  fatal: LogMethod;
  error: LogMethod;
  warn: LogMethod;
  info: LogMethod;
  debug: LogMethod;
  isLevelEnabled(level: string): boolean;
  child(bindings: Record<string, unknown>): ProxyLogger;
}

/**
 * An Error as pino's serializer writes it: JSON.stringify alone would write `{}` and lose the
 * reason a certificate request failed.
 */
function serializeErrors(_key: string, value: unknown): unknown {
  if (!(value instanceof Error)) return value;
  const { code, status } = value as Error & { code?: unknown; status?: unknown };
  return { type: value.name, message: value.message, ...(code !== undefined ? { code } : {}), ...(status !== undefined ? { status } : {}) };
}

/** One log line; undefined values are left out, as JSON.stringify does. */
export function formatLine(level: LogLevel, time: Date, bindings: Record<string, unknown>, fields: object, msg: string | undefined): string {
  const record: Record<string, unknown> = { level, time: time.toISOString(), ...bindings, ...fields };
  if (msg !== undefined) record.msg = msg;
  return `${JSON.stringify(record, serializeErrors)}\n`;
}

export function createProxyLogger(level: LogLevel, bindings: Record<string, unknown> = { role: 'proxy' }, write: (line: string) => void = toStderr): ProxyLogger {
  const threshold = RANK[level];
  const method =
    (name: Exclude<LogLevel, 'silent'>): LogMethod =>
    (fields, msg) => {
      if (RANK[name] >= threshold) write(formatLine(name, new Date(), bindings, fields, msg));
    };
  return {
    fatal: method('fatal'),
    error: method('error'),
    warn: method('warn'),
    info: method('info'),
    debug: method('debug'),
    isLevelEnabled: (name) => isLogLevel(name) && name !== 'silent' && RANK[name] >= threshold,
    child: (more) => createProxyLogger(level, { ...bindings, ...more }, write),
  };
}

function toStderr(line: string): void {
  try {
    writeSync(2, line);
  } catch {
    // stderr gone or full: a log line is not worth stalling or crashing the data path for
  }
}
