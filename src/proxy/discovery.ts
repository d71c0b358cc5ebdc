import { isIP } from 'node:net';

// The discovery document: which pod IPs are meshed and which identity their proxy proves.
// Pure, so the controller can build and serve the very same format from its caches.
//
//   { "endpoints": [ { "ip": "10.1.2.3", "identity": "sa.ns.serviceaccount.identity.weft.cluster.local" } ] }

export interface DiscoveryEndpoint {
  ip: string;
  identity: string;
}

export interface DiscoveryDocument {
  endpoints: DiscoveryEndpoint[];
}

export interface DiscoveryTable {
  /** The identity to demand of the proxy at this address, or undefined when it is not meshed. */
  lookup(ip: string): string | undefined;
  readonly size: number;
}

export class DiscoveryError extends Error {
  override name = 'DiscoveryError';
}

// A DNS-1123 name of dot-separated labels: what a Linkerd-style identity is.
const IDENTITY = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** Drops the IPv4-mapped prefix that dual-stack sockets report, so one table serves both. */
export function normalizeIp(ip: string): string {
  if (ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4) return ip.slice(7);
  return ip.toLowerCase();
}

export function parseDiscoveryDocument(value: unknown): DiscoveryDocument {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DiscoveryError('discovery document: expected an object with an "endpoints" array');
  }
  const endpoints = (value as { endpoints?: unknown }).endpoints;
  if (!Array.isArray(endpoints)) throw new DiscoveryError('discovery document: "endpoints" must be an array');
  const out: DiscoveryEndpoint[] = [];
  endpoints.forEach((entry: unknown, i) => {
    if (typeof entry !== 'object' || entry === null) throw new DiscoveryError(`endpoints[${i}]: expected an object with "ip" and "identity"`);
    const { ip, identity } = entry as { ip?: unknown; identity?: unknown };
    if (typeof ip !== 'string' || isIP(ip) === 0) throw new DiscoveryError(`endpoints[${i}].ip: expected an IPv4 or IPv6 address, got ${JSON.stringify(ip)}`);
    if (typeof identity !== 'string' || !IDENTITY.test(identity)) {
      throw new DiscoveryError(`endpoints[${i}].identity: expected a DNS-style identity name, got ${JSON.stringify(identity)}`);
    }
    out.push({ ip: normalizeIp(ip), identity });
  });
  return { endpoints: out };
}

export function parseDiscoveryText(text: string): DiscoveryDocument {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new DiscoveryError(`discovery document is not JSON: ${(error as Error).message}`);
  }
  return parseDiscoveryDocument(value);
}

export function buildDiscoveryTable(doc: DiscoveryDocument): DiscoveryTable {
  const byIp = new Map<string, string>();
  // Later entries win: a recycled pod IP is listed again under its new owner.
  for (const { ip, identity } of doc.endpoints) byIp.set(normalizeIp(ip), identity);
  return {
    size: byIp.size,
    lookup: (ip: string) => byIp.get(normalizeIp(ip)),
  };
}

export const EMPTY_DISCOVERY: DiscoveryTable = buildDiscoveryTable({ endpoints: [] });
