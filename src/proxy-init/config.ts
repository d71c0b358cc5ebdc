import { isIPv4, isIPv6 } from 'node:net';
import { UsageError } from '../util/flags.ts';

// Turns the raw flag values of `weft proxy-init` into checked settings. Pure: every bad value
// becomes a UsageError that names its flag and says what was expected.

export type IptablesMode = 'auto' | 'nft' | 'legacy';

export interface PortRange {
  from: number;
  to: number;
}

export interface Subnet {
  /** Normalised "address/prefix", network bits only (10.0.0.0/8). */
  cidr: string;
  family: 4 | 6;
}

export interface ProxyInitSettings {
  incomingProxyPort: number;
  outgoingProxyPort: number;
  proxyUid: number;
  inboundPortsToIgnore: PortRange[];
  outboundPortsToIgnore: PortRange[];
  subnetsToIgnore: Subnet[];
  iptablesMode: IptablesMode;
  ipv6: boolean;
}

export interface RawProxyInitFlags {
  'incoming-proxy-port': string | undefined;
  'outgoing-proxy-port': string | undefined;
  'proxy-uid': string | undefined;
  'inbound-ports-to-ignore': string[];
  'outbound-ports-to-ignore': string[];
  'subnets-to-ignore': string[];
  'iptables-mode': string | undefined;
  ipv6: boolean;
}

const DECIMAL = /^[0-9]+$/;

function port(text: string, flag: string, what = 'a port'): number {
  const n = DECIMAL.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > 65535) {
    throw new UsageError(`--${flag}: expected ${what} from 1 to 65535, got ${JSON.stringify(text)}`);
  }
  return n;
}

export function parsePort(text: string | undefined, flag: string): number {
  if (text === undefined || text.trim() === '') throw new UsageError(`--${flag}: expected a port from 1 to 65535, got nothing`);
  return port(text.trim(), flag);
}

export function parseUid(text: string | undefined, flag: string): number {
  const trimmed = (text ?? '').trim();
  const n = DECIMAL.test(trimmed) ? Number(trimmed) : NaN;
  // 0 would exempt root's traffic, i.e. usually the whole pod: refuse it rather than guess.
  if (!Number.isSafeInteger(n) || n < 1 || n > 4294967294) {
    throw new UsageError(`--${flag}: expected a numeric user id from 1 to 4294967294, got ${JSON.stringify(text ?? '')}`);
  }
  return n;
}

/** "4190,4191,25000-26000" (already split on commas by the flag parser) -> sorted, merged ranges. */
export function parsePortRanges(items: readonly string[], flag: string): PortRange[] {
  const ranges: PortRange[] = [];
  for (const raw of items) {
    const item = raw.trim();
    if (item === '') continue;
    const dash = item.indexOf('-');
    if (dash === -1) {
      const p = port(item, flag, 'a port or a range like 25000-26000, ports');
      ranges.push({ from: p, to: p });
      continue;
    }
    const from = port(item.slice(0, dash), flag, `a range like 25000-26000 with ports`);
    const to = port(item.slice(dash + 1), flag, `a range like 25000-26000 with ports`);
    if (from > to) throw new UsageError(`--${flag}: range ${JSON.stringify(item)} ends before it starts`);
    ranges.push({ from, to });
  }
  return mergeRanges(ranges);
}

function mergeRanges(ranges: PortRange[]): PortRange[] {
  const sorted = [...ranges].sort((a, b) => a.from - b.from || a.to - b.to);
  const merged: PortRange[] = [];
  for (const range of sorted) {
    const last = merged.at(-1);
    if (last && range.from <= last.to + 1) last.to = Math.max(last.to, range.to);
    else merged.push({ ...range });
  }
  return merged;
}

/** "10.0.0.0/8,fd00::/8" -> normalised subnets, duplicates dropped, order kept. */
export function parseSubnets(items: readonly string[], flag: string): Subnet[] {
  const out: Subnet[] = [];
  const seen = new Set<string>();
  for (const raw of items) {
    const item = raw.trim();
    if (item === '') continue;
    const subnet = parseCidr(item);
    if (!subnet) {
      throw new UsageError(`--${flag}: expected CIDRs like 10.96.0.0/12 or fd00::/8, got ${JSON.stringify(item)}`);
    }
    if (!seen.has(subnet.cidr)) {
      seen.add(subnet.cidr);
      out.push(subnet);
    }
  }
  return out;
}

export function parseCidr(text: string): Subnet | undefined {
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const prefixText = slash === -1 ? undefined : text.slice(slash + 1);
  const family = isIPv4(address) ? 4 : isIPv6(address) ? 6 : undefined;
  if (family === undefined) return undefined;
  const bits = family === 4 ? 32 : 128;
  let prefix = bits;
  if (prefixText !== undefined) {
    if (!DECIMAL.test(prefixText)) return undefined;
    prefix = Number(prefixText);
    if (prefix > bits) return undefined;
  }
  const value = family === 4 ? ipv4ToBigInt(address) : ipv6ToBigInt(address);
  const mask = prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix);
  const network = value & mask;
  const formatted = family === 4 ? bigIntToIpv4(network) : bigIntToIpv6(network);
  return { cidr: `${formatted}/${prefix}`, family };
}

function ipv4ToBigInt(address: string): bigint {
  return address.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

function bigIntToIpv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
}

function ipv6ToBigInt(address: string): bigint {
  let text = address;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
  const v4 = text.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (v4) {
    const n = ipv4ToBigInt(v4[1]);
    text = text.slice(0, -v4[1].length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(fill).fill('0'), ...tailGroups];
  return groups.reduce((acc, group) => (acc << 16n) | BigInt(parseInt(group, 16)), 0n);
}

function bigIntToIpv6(value: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  // RFC 5952: collapse the longest run (of two or more) of zero groups.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

export function parseMode(text: string | undefined, flag: string): IptablesMode {
  const value = (text ?? 'auto').trim();
  if (value === 'auto' || value === 'nft' || value === 'legacy') return value;
  throw new UsageError(`--${flag}: expected auto, nft or legacy, got ${JSON.stringify(text)}`);
}

export function settingsFromFlags(flags: RawProxyInitFlags): ProxyInitSettings {
  const settings: ProxyInitSettings = {
    incomingProxyPort: parsePort(flags['incoming-proxy-port'], 'incoming-proxy-port'),
    outgoingProxyPort: parsePort(flags['outgoing-proxy-port'], 'outgoing-proxy-port'),
    proxyUid: parseUid(flags['proxy-uid'], 'proxy-uid'),
    inboundPortsToIgnore: parsePortRanges(flags['inbound-ports-to-ignore'], 'inbound-ports-to-ignore'),
    outboundPortsToIgnore: parsePortRanges(flags['outbound-ports-to-ignore'], 'outbound-ports-to-ignore'),
    subnetsToIgnore: parseSubnets(flags['subnets-to-ignore'], 'subnets-to-ignore'),
    iptablesMode: parseMode(flags['iptables-mode'], 'iptables-mode'),
    ipv6: flags.ipv6,
  };
  if (settings.incomingProxyPort === settings.outgoingProxyPort) {
    throw new UsageError(`--incoming-proxy-port and --outgoing-proxy-port must differ (both are ${settings.incomingProxyPort})`);
  }
  return settings;
}
