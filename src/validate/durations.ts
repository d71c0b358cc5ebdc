import { parseGoDuration } from '../util/duration.ts';

// Go time.ParseDuration results with messages that say what the syntax is.

export type Parsed = { ok: true; nanos: bigint } | { ok: false; message: string };

const SYNTAX = 'a Go duration such as "250ms", "10s" or "1m30s" (units ns, us, ms, s, m, h)';

/** Longer strings are refused before parsing: no real duration needs them. */
const MAX_DURATION_LENGTH = 64;

export function parseDuration(text: string): Parsed {
  if (text.length > MAX_DURATION_LENGTH) return { ok: false, message: `duration is ${text.length} characters long; expected ${SYNTAX}` };
  const result = parseGoDuration(text);
  if (result.ok) return result;
  const shown = JSON.stringify(text.length > 80 ? text.slice(0, 80) + '…' : text);
  if (/^[-+]?[0-9.]+$/.test(text) && /[0-9]/.test(text)) return { ok: false, message: `${shown} has no unit; expected ${SYNTAX}` };
  const unit = /unknown unit "([^"]*)"/.exec(result.error);
  if (unit) return { ok: false, message: `${shown} has unknown unit ${JSON.stringify(unit[1].slice(0, 20))}; expected ${SYNTAX}` };
  if (/out of range/.test(result.error)) return { ok: false, message: `${shown} is out of range` };
  return { ok: false, message: `${shown} is not ${SYNTAX}` };
}

export const MS = 1_000_000n;
export const SECOND = 1_000_000_000n;
