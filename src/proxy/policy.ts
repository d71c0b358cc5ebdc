import type { PortSet } from './ports.ts';

// Who may reach the app through the inbound side. Pure: the listener asks, then acts.

export type DefaultInboundPolicy = 'all-unauthenticated' | 'all-authenticated' | 'deny';

export const INBOUND_POLICIES: readonly DefaultInboundPolicy[] = ['all-unauthenticated', 'all-authenticated', 'deny'];

export interface InboundPolicy {
  defaultPolicy: DefaultInboundPolicy;
  requireIdentityPorts: PortSet;
}

export type Verdict = { allow: true } | { allow: false; reason: 'policy-deny' | 'unauthenticated' | 'identity-required' };

/** `clientIdentity` is the identity a mesh client proved; undefined for anything not mesh TLS. */
export function decideInbound(policy: InboundPolicy, port: number, clientIdentity: string | undefined): Verdict {
  if (policy.defaultPolicy === 'deny') return { allow: false, reason: 'policy-deny' };
  if (clientIdentity !== undefined) return { allow: true };
  if (policy.defaultPolicy === 'all-authenticated') return { allow: false, reason: 'unauthenticated' };
  if (policy.requireIdentityPorts.has(port)) return { allow: false, reason: 'identity-required' };
  return { allow: true };
}
