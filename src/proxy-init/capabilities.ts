import { readFile } from 'node:fs/promises';

// iptables needs CAP_NET_ADMIN to change tables, and legacy iptables also opens a raw socket
// (CAP_NET_RAW). Checking up front turns iptables' "Permission denied (you must be root)" into
// advice about the pod spec, which is where the fix is.

export const CAP_NET_ADMIN = 12;
export const CAP_NET_RAW = 13;

const NAMES: Record<number, string> = { [CAP_NET_ADMIN]: 'NET_ADMIN', [CAP_NET_RAW]: 'NET_RAW' };

/** The effective capability set from /proc/self/status text, or undefined when absent. */
export function effectiveCapabilities(status: string): bigint | undefined {
  const match = status.match(/^CapEff:\s*([0-9a-fA-F]+)\s*$/m);
  return match ? BigInt(`0x${match[1]}`) : undefined;
}

/** Names of the capabilities in `needed` that `effective` lacks. */
export function missingCapabilities(effective: bigint, needed: readonly number[] = [CAP_NET_ADMIN, CAP_NET_RAW]): string[] {
  return needed.filter((bit) => ((effective >> BigInt(bit)) & 1n) === 0n).map((bit) => NAMES[bit] ?? `cap ${bit}`);
}

export function capabilityAdvice(missing: readonly string[]): string {
  return (
    `proxy-init needs the ${missing.join(' and ')} ${missing.length === 1 ? 'capability' : 'capabilities'} to write iptables rules ` +
    `(missing: ${missing.join(', ')}); add them to the init container's securityContext.capabilities.add`
  );
}

/** Missing capability names for this process; [] when they are all there or cannot be read. */
export async function missingOwnCapabilities(): Promise<string[]> {
  let status: string;
  try {
    status = await readFile('/proc/self/status', 'utf8');
  } catch {
    return [];
  }
  const effective = effectiveCapabilities(status);
  return effective === undefined ? [] : missingCapabilities(effective);
}

/** Whether an iptables error message means "not allowed" rather than "bad rule". */
export function isPermissionError(stderr: string): boolean {
  return /permission denied|operation not permitted|you must be root/i.test(stderr);
}
