import { openSync, writeSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import { isLogLevel } from './util/log-levels.ts';

export type { Logger };

let stampedAt = -1;
let stamp = '';
let secondAt = -1;
let secondPrefix = '';

/**
 * pino's ISO time, formatted once per millisecond: a busy controller writes many lines in the
 * same millisecond, and formatting the date was a tenth of each line's cost. Within a second
 * only the milliseconds change, so the date is formatted once a second and they are appended.
 */
function isoTime(): string {
  const now = Date.now();
  if (now !== stampedAt) {
    stampedAt = now;
    const ms = now % 1000;
    if (now - ms !== secondAt) {
      secondAt = now - ms;
      // "…T06:36:45.000Z" without its "000Z".
      secondPrefix = `,"time":"${new Date(secondAt).toISOString().slice(0, -4)}`;
    }
    stamp = `${secondPrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z"`;
  }
  return stamp;
}

// Lines are gathered up to this many characters, or for at most LOG_FLUSH_MS, before one
// write: a write per line cost the controller an fs.write round trip through the thread pool
// for every admission, and pino's own buffering (sonic-boom's minLength) measures the whole
// pending text again for every line it adds.
const LOG_BATCH_CHARS = 16 * 1024;
const LOG_FLUSH_MS = 250;
const EXIT_RETRIES = 1000;
// Bytes a reader that is not ready can leave here before they are dropped.
const LOG_MAX_HELD = 1024 * 1024;

/**
 * An append-only line sink for pino that writes in batches, synchronously, as Node writes to
 * stderr when it is a pipe or a file: nothing is ever in flight, so lines keep their order and
 * what is pending at exit is simply written. A reader that is not ready (EAGAIN) keeps the
 * bytes here until the next batch; any other error ends logging rather than the process.
 */
export class BatchedDestination {
  private readonly fd: number;
  private pending: string[] = [];
  private pendingChars = 0;
  private unwritten: Buffer | undefined;
  private broken = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(fd: number) {
    this.fd = fd;
    process.once('exit', () => this.flushSync(EXIT_RETRIES));
  }

  write(line: string): boolean {
    if (this.broken) return true;
    this.pending.push(line);
    this.pendingChars += line.length;
    if (this.pendingChars >= LOG_BATCH_CHARS) this.flushSync();
    else this.timer ??= setTimeout(() => this.flushSync(), LOG_FLUSH_MS).unref();
    return true;
  }

  /** pino's logger.flush(callback). */
  flush(callback?: (error?: Error) => void): void {
    this.flushSync();
    callback?.();
  }

  flushSync(retries = 0): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    let bytes = this.unwritten;
    this.unwritten = undefined;
    if (this.pending.length > 0 && !this.broken) {
      const text = this.pending.join('');
      this.pending = [];
      this.pendingChars = 0;
      if (bytes === undefined) {
        // The usual case: the batch goes out in one write of the string, without a Buffer.
        let written = 0;
        try {
          written = writeSync(this.fd, text);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') {
            this.broken = true;
            return;
          }
        }
        if (written === Buffer.byteLength(text)) return;
        bytes = Buffer.from(text).subarray(written);
      } else {
        bytes = Buffer.concat([bytes, Buffer.from(text)]);
      }
    }
    while (bytes !== undefined && bytes.length > 0 && !this.broken) {
      try {
        bytes = bytes.subarray(writeSync(this.fd, bytes));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') {
          this.broken = true;
        } else if (retries-- <= 0) {
          this.unwritten = bytes.length <= LOG_MAX_HELD ? bytes : undefined;
          this.timer = setTimeout(() => this.flushSync(), LOG_FLUSH_MS).unref();
          return;
        }
      }
    }
  }
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
    new BatchedDestination(typeof destination === 'number' ? destination : openSync(destination, 'a')),
  );
}

/** What writeFlat needs of a logger: Fastify types request.log as this much of pino. */
export interface FlatLogger {
  info(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

/** A log line's own fields: flat, as the admission line is. */
export type FlatFields = Readonly<Record<string, string | number | boolean | undefined>>;

// pino's typings leave some of its public symbols out (msgPrefix), so they are looked up by name.
const symbols = pino.symbols as unknown as Readonly<Record<string, symbol>>;
const sym = (name: string): symbol => {
  const found = symbols[name];
  if (found === undefined) throw new Error(`pino.symbols.${name} is missing`);
  return found;
};
const MIXIN = sym('mixinSym');
const MSG_PREFIX = sym('msgPrefixSym');
const NEEDS_METADATA = sym('needsMetadataGsym');
const NESTED_KEY = sym('nestedKeySym');
const STRINGIFIERS = sym('stringifiersSym');

/** What writeFlat reads of a pino logger, each under its symbol. */
interface PinoInternals {
  chindings: string;
  end: string;
  formatters: { log?: unknown };
  hooks: { logMethod?: unknown; streamWrite?: unknown };
  levelPrefixes: Record<number, string>;
  messageKey: string;
  serializers: Record<string, unknown>;
  stream: { write(line: string): unknown };
  time: () => string;
}

const SYMBOLS: Readonly<Record<keyof PinoInternals, symbol>> = {
  chindings: sym('chindingsSym'),
  end: sym('endSym'),
  formatters: sym('formattersSym'),
  hooks: sym('hooksSym'),
  levelPrefixes: sym('lsCacheSym'),
  messageKey: sym('messageKeySym'),
  serializers: sym('serializersSym'),
  stream: sym('streamSym'),
  time: sym('timeSym'),
};

function internal<K extends keyof PinoInternals>(logger: object, key: K): PinoInternals[K] {
  return (logger as unknown as Record<symbol, unknown>)[SYMBOLS[key]] as PinoInternals[K];
}

function has(target: unknown, key: symbol): boolean {
  return Boolean((target as Record<symbol, unknown>)[key]);
}

/**
 * Logs `fields` and `msg` at `level` as `logger[level](fields, msg)` would, in the same bytes,
 * but serialised here: pino's general path (hooks, serializers, per-key stringifiers, escaping
 * by hand) was a third of the admission handler's own time, for a line written on every
 * admission. A logger configured with anything that would change the line (mixin, hooks,
 * redaction, a log formatter, a serializer for one of the fields) goes through pino instead.
 */
export function writeFlat(target: FlatLogger, level: 'info' | 'error', fields: FlatFields, msg: string): void {
  const logger = target as Partial<Logger>;
  if (!plainPino(target)) {
    target[level](fields, msg);
    return;
  }
  if (!logger.isLevelEnabled!(level)) return;
  const serializers = internal(target, 'serializers');
  let line = internal(target, 'levelPrefixes')[logger.levels!.values[level]!]! + internal(target, 'time')() + internal(target, 'chindings');
  for (const key in fields) {
    const value = fields[key];
    if (value === undefined) continue;
    if (serializers[key] !== undefined) {
      target[level](fields, msg);
      return;
    }
    let name = fieldNames.get(key);
    if (name === undefined) {
      name = `,${JSON.stringify(key)}:`;
      if (fieldNames.size < 64) fieldNames.set(key, name);
    }
    line += name + (typeof value === 'string' ? jsonText(value) : typeof value === 'number' && !Number.isFinite(value) ? 'null' : String(value));
  }
  internal(target, 'stream').write(`${line},${jsonText(internal(target, 'messageKey'))}:${jsonText(msg)}${internal(target, 'end')}`);
}

// Field name -> its JSON and the colon, as the line writes it; the admission line has a dozen.
const fieldNames = new Map<string, string>();

// Text JSON writes as it is between quotes: printable ASCII without `"` and `\`.
const PLAIN_TEXT = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function jsonText(text: string): string {
  return PLAIN_TEXT.test(text) ? `"${text}"` : JSON.stringify(text);
}

// Stringifiers object -> whether it has none (pino fills it for redaction); looked up rather
// than listed again for every line, since each request's child logger shares its parent's.
const noStringifiers = new WeakMap<object, boolean>();

/** Whether `target` is a pino logger whose line nothing but its own fields would change. */
function plainPino(target: FlatLogger): boolean {
  const logger = target as Partial<Logger>;
  const stream = internal(target, 'stream') as object | undefined;
  const hooks = internal(target, 'hooks');
  const formatters = internal(target, 'formatters');
  const stringifiers = (target as unknown as Record<symbol, object | undefined>)[STRINGIFIERS];
  if (
    typeof logger.isLevelEnabled !== 'function' || logger.levels === undefined || stream === undefined || hooks === undefined || formatters === undefined || stringifiers === undefined ||
    has(target, MIXIN) || has(target, MSG_PREFIX) || has(target, NESTED_KEY) || formatters.log !== undefined ||
    hooks.logMethod !== undefined || hooks.streamWrite !== undefined || has(stream, NEEDS_METADATA)
  ) {
    return false;
  }
  let empty = noStringifiers.get(stringifiers);
  if (empty === undefined) {
    empty = Reflect.ownKeys(stringifiers).length === 0;
    noStringifiers.set(stringifiers, empty);
  }
  return empty;
}
