// The mesh's wire contract between two weft proxies, in one place.
//
// Outbound dials the destination the app asked for (pod IP and port); the peer pod's
// iptables hands that connection to its proxy's inbound listener. The connection is TLS 1.3
// with both sides presenting workload certificates chained to the trust anchors, and:
//   - SNI is the identity name the client expects of the server (as Linkerd does), so the
//     inbound side can tell "mesh TLS for me" from the app's own TLS by peeking the ClientHello;
//   - ALPN offers exactly one protocol id, "weft.mesh/1;port=<n>", where <n> is the port the
//     app originally asked for. Carrying it in ALPN costs no extra round trip and no bytes in
//     the stream, and it lets the inbound side forward correctly even where it cannot learn
//     the original destination itself (no SO_ORIGINAL_DST, or a dial straight to 4143). The
//     server answers with the same id, so both ends know the other is a weft proxy.
// After the handshake the stream carries the app's bytes unchanged.

export const MESH_ALPN_PREFIX = 'weft.mesh/1';

export function meshAlpn(port: number): string {
  return `${MESH_ALPN_PREFIX};port=${port}`;
}

/** The original port carried by a mesh ALPN id; undefined when the id is not ours. */
export function parseMeshAlpn(id: string | false | null | undefined): { port: number | undefined } | undefined {
  if (typeof id !== 'string') return undefined;
  if (id === MESH_ALPN_PREFIX) return { port: undefined };
  const m = /^weft\.mesh\/1;port=(\d{1,5})$/.exec(id);
  if (m === null) return undefined;
  const port = Number(m[1]);
  return port >= 1 && port <= 65535 ? { port } : undefined;
}

/** DNS names of a certificate's subjectAltName as node:tls formats it ("DNS:a, URI:b, ..."). */
export function dnsNames(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  const out: string[] = [];
  for (const part of subjectAltName.split(', ')) {
    if (part.startsWith('DNS:')) out.push(part.slice(4).toLowerCase());
  }
  return out;
}

/**
 * The mesh identity a certificate proves: its Linkerd-style DNS SAN
 * (<sa>.<ns>.serviceaccount.identity.<controller-ns>.<trust-domain>), else its first DNS SAN.
 */
export function identityOf(subjectAltName: string | undefined): string | undefined {
  const names = dnsNames(subjectAltName);
  return names.find((name) => name.includes('.serviceaccount.identity.')) ?? names[0];
}

/** Whether a server certificate proves the identity the client asked for: exact match, no wildcards. */
export function provesIdentity(subjectAltName: string | undefined, expected: string): boolean {
  return dnsNames(subjectAltName).includes(expected.toLowerCase());
}
