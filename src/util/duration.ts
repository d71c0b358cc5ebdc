// Go's time.ParseDuration grammar, because Linkerd and Istio (and our own flags) use it:
// an optional sign, then one or more <decimal><unit> terms; a bare "0" is also valid.
const UNIT_NANOS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n, // U+00B5 micro sign
  'μs': 1_000n, // U+03BC greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const MAX_INT64 = (1n << 63n) - 1n;

export type DurationResult = { ok: true; nanos: bigint } | { ok: false; error: string };

export function parseGoDuration(text: string): DurationResult {
  if (typeof text !== 'string') return { ok: false, error: 'expected a duration string such as "10s"' };
  let rest = text;
  let negative = false;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    negative = rest[0] === '-';
    rest = rest.slice(1);
  }
  if (rest === '0') return { ok: true, nanos: 0n };
  if (rest === '') return { ok: false, error: `invalid duration "${text}"` };
  let total = 0n;
  const term = /^([0-9]*)(?:\.([0-9]*))?([^0-9.]+)/;
  while (rest.length > 0) {
    const match = term.exec(rest);
    if (!match) return { ok: false, error: `invalid duration "${text}"` };
    const [whole, intPart, fracPart = '', unitAndMore] = match as unknown as [string, string, string | undefined, string];
    if (intPart === '' && fracPart === '') return { ok: false, error: `invalid duration "${text}"` };
    // The unit runs until the next digit or dot.
    const unit = unitAndMore;
    const scale = UNIT_NANOS[unit];
    if (scale === undefined) return { ok: false, error: `unknown unit "${unit}" in duration "${text}" (use ns, us, ms, s, m or h)` };
    let value = BigInt(intPart === '' ? '0' : intPart) * scale;
    if (fracPart !== '') {
      const digits = fracPart.slice(0, 18);
      value += (BigInt(digits) * scale) / 10n ** BigInt(digits.length);
    }
    total += value;
    if (total > MAX_INT64) return { ok: false, error: `duration "${text}" is out of range` };
    rest = rest.slice(whole.length);
  }
  return { ok: true, nanos: negative ? -total : total };
}

/** Milliseconds for flag values; throws with the flag's name on bad input. */
export function durationMs(text: string, what: string): number {
  const parsed = parseGoDuration(text);
  if (!parsed.ok) throw new Error(`${what}: ${parsed.error}`);
  return Number(parsed.nanos / 1_000_000n);
}
