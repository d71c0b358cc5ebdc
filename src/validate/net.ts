import { isIPv6 } from 'node:net';

// IP and CIDR syntax as Go's net/netip reads it: strict dotted-decimal IPv4 (no leading zeros),
// IPv6 with an optional zone for addresses, none for prefixes; prefixes may have host bits set.

function isStrictIPv4(text: string): boolean {
  if (text.length > 15) return false;
  const parts = text.split('.');
  if (parts.length !== 4) return false;
  for (const part of parts) {
    if (!/^[0-9]{1,3}$/.test(part)) return false;
    if (part.length > 1 && part[0] === '0') return false;
    if (Number(part) > 255) return false;
  }
  return true;
}

/** Longer than any IPv6 literal with a sensible zone: refused before any parsing. */
const MAX_ADDRESS_LENGTH = 100;

function isIPv6Literal(text: string, allowZone: boolean): boolean {
  if (text.length > MAX_ADDRESS_LENGTH || !text.includes(':')) return false;
  const percent = text.indexOf('%');
  if (percent >= 0) {
    if (!allowZone || percent === text.length - 1) return false;
    text = text.slice(0, percent);
  }
  // A trailing embedded IPv4 part must itself be strict.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.') && !isStrictIPv4(tail)) return false;
  return isIPv6(text);
}

export function isIPAddress(text: string): boolean {
  return isStrictIPv4(text) || isIPv6Literal(text, true);
}

/** Why text is not an address/prefix-length CIDR, or undefined when it is one. */
export function cidrProblem(text: string): string | undefined {
  const slash = text.lastIndexOf('/');
  if (slash < 0) return 'no "/" prefix length';
  const address = text.slice(0, slash);
  const bits = text.slice(slash + 1);
  let max: number;
  if (isStrictIPv4(address)) max = 32;
  else if (isIPv6Literal(address, false)) max = 128;
  else return `${JSON.stringify(address)} is not an IP address`;
  if (!/^(0|[1-9][0-9]{0,2})$/.test(bits) || Number(bits) > max) return `prefix length ${JSON.stringify(bits)} must be from 0 to ${max}`;
  return undefined;
}
