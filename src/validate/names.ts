// Name syntaxes shared by the rules. Istio's DNS labels are case-insensitive; Kubernetes object
// names are lowercase. All checks are linear: plain loops and anchored regexes without nesting.

const ISTIO_LABEL = /^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
const K8S_LABEL = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;

/** Istio's DNS-1123 label: letters of either case, digits and inner dashes, at most 63. */
export function isIstioLabel(value: string): boolean {
  return value.length <= 63 && ISTIO_LABEL.test(value);
}

/** Kubernetes' lowercase DNS-1123 label (namespaces, Service names). */
export function isK8sLabel(value: string): boolean {
  return value.length <= 63 && K8S_LABEL.test(value);
}

/** Kubernetes' lowercase DNS-1123 subdomain (most object names). */
export function isK8sSubdomain(value: string): boolean {
  if (value.length === 0 || value.length > 253) return false;
  return value.split('.').every((label) => label.length > 0 && K8S_LABEL.test(label));
}

export const SUBDOMAIN_EXPECTED =
  'a lowercase RFC 1123 subdomain: lowercase letters, digits, "-" and ".", starting and ending with a letter or digit, at most 253 characters';

function isWildcardFirstLabel(label: string): boolean {
  if (label === '*') return true;
  let rest = label;
  if (rest.startsWith('*-')) rest = rest.slice(2);
  else if (rest.startsWith('*')) rest = rest.slice(1);
  return isIstioLabel(rest);
}

function isAllNumeric(text: string): boolean {
  // Go's strconv.Atoi: optional sign, digits, fits in int64.
  if (!/^[+-]?[0-9]+$/.test(text)) return false;
  const n = BigInt(text);
  return n >= -(1n << 63n) && n < 1n << 63n;
}

/** What is wrong with the labels after the first one, or undefined. */
function checkLabels(domain: string): string | undefined {
  const parts = domain.split('.');
  const tld = parts[parts.length - 1];
  if (isAllNumeric(tld)) return `top-level domain "${tld}" must not be all digits`;
  for (let i = 0; i < parts.length; i++) {
    if (i === parts.length - 1 && parts[i] === '') return undefined;
    if (!isIstioLabel(parts[i])) return `label ${JSON.stringify(cut(parts[i]))} is not a DNS label (letters, digits and inner "-", at most 63 characters)`;
  }
  return undefined;
}

function cut(text: string): string {
  return text.length > 80 ? text.slice(0, 80) + '…' : text;
}

/**
 * Istio's wildcard domain rule: non-empty, at most 255 characters; the first label may be `*`,
 * `*foo` or `*-foo`, the others are DNS labels, the last not all digits, a trailing dot allowed.
 * Returns what is wrong, or undefined.
 */
export function wildcardDomainProblem(domain: string): string | undefined {
  if (domain.length === 0) return 'must not be empty';
  if (domain.length > 255) return `domain name is ${domain.length} characters long, at most 255 are allowed`;
  const dot = domain.indexOf('.');
  const first = dot < 0 ? domain : domain.slice(0, dot);
  if (!isWildcardFirstLabel(first)) {
    return `label ${JSON.stringify(cut(first))} is not a DNS label; only the first label may be a wildcard ("*", "*foo" or "*-foo")`;
  }
  if (dot >= 0) return checkLabels(domain.slice(dot + 1));
  return undefined;
}

/** Istio's FQDN rule (gateway names): like a wildcard domain, but no wildcard label at all. */
export function fqdnProblem(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length > 255) return `domain name is ${name.length} characters long, at most 255 are allowed`;
  return checkLabels(name);
}

/** RFC 7230 token characters: what an HTTP header name may contain. */
const TOKEN = /^[!#$%&'*+\-.^_`|~A-Za-z0-9]+$/;
export function isHeaderToken(name: string): boolean {
  return TOKEN.test(name);
}

const LABEL_NAME = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;

/** Kubernetes label key: optional DNS-subdomain prefix and `/`, then a name of at most 63. */
export function isLabelKey(key: string): boolean {
  const slash = key.indexOf('/');
  let name = key;
  if (slash >= 0) {
    const prefix = key.slice(0, slash);
    name = key.slice(slash + 1);
    if (prefix.length > 253 || !prefix.split('.').every((l) => isIstioLabel(l))) return false;
  }
  return name.length > 0 && name.length <= 63 && LABEL_NAME.test(name);
}

/** Kubernetes label value: empty, or a name of at most 63. */
export function isLabelValue(value: string): boolean {
  return value === '' || (value.length <= 63 && LABEL_NAME.test(value));
}
