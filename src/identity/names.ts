// Identity names, shared by the CA, the identity service, the proxy and AuthorizationPolicy
// matching. Both forms follow Linkerd so policies and dashboards written for it keep working.

export interface WorkloadIdentity {
  trustDomain: string;
  namespace: string;
  serviceAccount: string;
  controllerNamespace: string;
}

/** `spiffe://<trust-domain>/ns/<ns>/sa/<sa>`: what the URI SAN carries. */
export function spiffeId(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

/** `<sa>.<ns>.serviceaccount.identity.<controller-ns>.<trust-domain>`: the DNS SAN (and CN). */
export function dnsIdentity(serviceAccount: string, namespace: string, controllerNamespace: string, trustDomain: string): string {
  return `${serviceAccount}.${namespace}.serviceaccount.identity.${controllerNamespace}.${trustDomain}`;
}

/**
 * The service account the identity service presents itself as. Proxies verify the identity
 * endpoint's certificate against this name (not the Service's DNS name), as Linkerd's proxies do
 * with `linkerd-identity.<ns>.serviceaccount.identity...`, so the endpoint's certificate can come
 * from the mesh issuer instead of a separate web PKI.
 */
export const IDENTITY_SERVICE_ACCOUNT = 'weft-identity';

export function identityServerName(controllerNamespace: string, trustDomain: string, serviceAccount: string = IDENTITY_SERVICE_ACCOUNT): string {
  return dnsIdentity(serviceAccount, controllerNamespace, controllerNamespace, trustDomain);
}

export function identitySpiffeId(identity: WorkloadIdentity): string {
  return spiffeId(identity.trustDomain, identity.namespace, identity.serviceAccount);
}

export function identityDnsName(identity: WorkloadIdentity): string {
  return dnsIdentity(identity.serviceAccount, identity.namespace, identity.controllerNamespace, identity.trustDomain);
}

export function parseSpiffeId(uri: string): { trustDomain: string; namespace: string; serviceAccount: string } | undefined {
  const match = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(uri);
  if (!match) return undefined;
  return { trustDomain: match[1]!, namespace: match[2]!, serviceAccount: match[3]! };
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Namespaces are DNS labels (RFC 1123). */
export function isNamespaceName(value: string): boolean {
  return DNS_LABEL.test(value);
}

/** ServiceAccount names are DNS subdomains; dots stay unambiguous because the namespace after them is one label. */
export function isServiceAccountName(value: string): boolean {
  return DNS_SUBDOMAIN.test(value);
}

export function isTrustDomain(value: string): boolean {
  return DNS_SUBDOMAIN.test(value);
}
