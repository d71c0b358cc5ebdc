// Port lists as the annotations write them ("25,443,8000-8100"). Kept as ranges, not a Set of
// numbers, so "1-65535" costs nothing.

export interface PortSet {
  has(port: number): boolean;
  readonly text: string;
}

export class PortListError extends Error {
  override name = 'PortListError';
}

function parsePort(text: string, whole: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) {
    throw new PortListError(`invalid port ${JSON.stringify(text)} in ${JSON.stringify(whole)}: expected 1-65535 or a range such as 8000-8100`);
  }
  return n;
}

/** Accepts a comma list (or several) of ports and inclusive ranges; empty items are ignored. */
export function parsePortList(items: string | readonly string[]): PortSet {
  const parts = (typeof items === 'string' ? [items] : items).flatMap((item) => item.split(','));
  const ranges: [number, number][] = [];
  const whole = parts.join(',');
  for (const raw of parts) {
    const part = raw.trim();
    if (part === '') continue;
    const dash = part.indexOf('-');
    if (dash === -1) {
      const port = parsePort(part, whole);
      ranges.push([port, port]);
    } else {
      const lo = parsePort(part.slice(0, dash).trim(), whole);
      const hi = parsePort(part.slice(dash + 1).trim(), whole);
      if (hi < lo) throw new PortListError(`invalid range ${JSON.stringify(part)}: the end is below the start`);
      ranges.push([lo, hi]);
    }
  }
  return {
    text: ranges.map(([lo, hi]) => (lo === hi ? `${lo}` : `${lo}-${hi}`)).join(','),
    has(port: number): boolean {
      for (const [lo, hi] of ranges) if (port >= lo && port <= hi) return true;
      return false;
    },
  };
}

export const NO_PORTS: PortSet = parsePortList([]);
