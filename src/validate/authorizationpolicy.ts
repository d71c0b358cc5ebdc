import { isRecord } from '../kube/types.ts';
import type { Findings } from './collector.ts';
import { field, item, quote } from './collector.ts';
import { AUTHORIZATION_POLICY_SPEC, warnUnknownFields } from './istio-fields.ts';
import { checkIstioObject, DRY_RUN } from './istio.ts';
import type { Obj } from './json.ts';
import { jsonType, readArray, readObject, readString, readStringList } from './json.ts';
import { cidrProblem, isIPAddress } from './net.ts';

// security.istio.io AuthorizationPolicy, after Istio's ValidateAuthorizationPolicy and the CRD
// schema (action enum, list limits, selector/targetRef CEL rules).

const ACTIONS = new Set(['ALLOW', 'DENY', 'AUDIT', 'CUSTOM']);
const MAX_RULES = 512;
const MAX_SOURCES = 512;
const MAX_TARGET_REFS = 16;

const SOURCE_FIELDS = [
  'principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals', 'namespaces', 'notNamespaces',
  'ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks', 'serviceAccounts', 'notServiceAccounts', 'trustDomains', 'notTrustDomains',
] as const;
const OPERATION_FIELDS = ['hosts', 'notHosts', 'ports', 'notPorts', 'methods', 'notMethods', 'paths', 'notPaths'] as const;
const IP_FIELDS = new Set(['ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks']);
/** Identity-based fields: an external authorizer (CUSTOM) is consulted before identities are known. */
const CUSTOM_FORBIDDEN_SOURCE = new Set([
  'principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals', 'namespaces', 'notNamespaces',
  'serviceAccounts', 'notServiceAccounts', 'trustDomains', 'notTrustDomains',
]);

const TARGET_KINDS = ['/Service', 'core/Service', 'networking.istio.io/ServiceEntry', 'gateway.networking.k8s.io/Gateway', 'gateway.networking.k8s.io/GatewayClass'];
const TARGET_KIND_PATTERN = /^[a-zA-Z](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
const GROUP_PATTERN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;
const MAX_SELECTOR_LABELS = 4096;
const GO_BOOL = new Set(['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False']);

export function validateAuthorizationPolicy(object: Obj, f: Findings): void {
  const meta = checkIstioObject(f, object, 'AuthorizationPolicy');
  // A missing spec decodes as spec: {}, the standard allow-nothing policy.
  const spec = readObject(f, object, 'spec', '') ?? {};

  let action = 'ALLOW';
  const rawAction = readString(f, spec, 'action', 'spec');
  if (rawAction !== undefined) {
    if (ACTIONS.has(rawAction)) action = rawAction;
    else {
      f.error('spec.action', `${quote(rawAction)} is not an action; expected one of ALLOW, DENY, AUDIT or CUSTOM (uppercase)`);
      action = '';
    }
  }

  checkDryRun(f, meta.annotations, action, `${meta.namespace}/${meta.name}`);
  checkTargets(f, spec);

  const rules = readArray(f, spec, 'rules', 'spec') ?? [];
  if (rules.length > MAX_RULES) f.error('spec.rules', `${rules.length} rules; at most ${MAX_RULES} are allowed`);

  const provider = readObject(f, spec, 'provider', 'spec');
  if (action === 'CUSTOM') {
    if (rules.length === 0) f.error('spec.rules', 'a CUSTOM policy needs rules: they decide which requests go to the external authorizer');
    else {
      const name = provider ? readString(f, provider, 'name', 'spec.provider') : undefined;
      if (!name) f.error('spec.provider.name', 'required with action CUSTOM: the name of an extension provider from the mesh config');
    }
  } else if (provider && action !== '') {
    f.error('spec.provider', `only allowed with action CUSTOM, but the action is ${action}`);
  }
  if (action === 'DENY' && rules.length === 0) {
    f.error('spec.rules', 'a DENY policy without rules denies nothing; add rules (rules: [{}] denies every request)');
  }

  let httpOnlyDeny = false;
  rules.forEach((rule, i) => {
    if (checkRule(f, rule, item('spec.rules', i), i, action) && action === 'DENY') httpOnlyDeny = true;
  });
  if (httpOnlyDeny) {
    f.warn('spec.rules', 'a DENY rule that uses only HTTP attributes also denies all TCP traffic to the ports in its scope; add ports to the rule to limit it');
  }
  warnUnknownFields(f, spec, AUTHORIZATION_POLICY_SPEC, 'spec');
}

function checkDryRun(f: Findings, annotations: [string, string][], action: string, id: string): void {
  const entry = annotations.find(([k]) => k === DRY_RUN);
  if (!entry) return;
  const path = field('metadata.annotations', DRY_RUN);
  if (action !== '' && action !== 'ALLOW' && action !== 'DENY') {
    f.error(path, `dry-run is only supported for action ALLOW or DENY, but ${id} has action ${action}`);
  }
  if (!GO_BOOL.has(entry[1])) f.error(path, `${quote(entry[1])} is not a boolean; expected "true" or "false"`);
}

function checkTargets(f: Findings, spec: Obj): void {
  const selector = readObject(f, spec, 'selector', 'spec');
  const targetRef = readObject(f, spec, 'targetRef', 'spec');
  const targetRefs = readArray(f, spec, 'targetRefs', 'spec');
  const set = [selector ? 'selector' : '', targetRef ? 'targetRef' : '', targetRefs && targetRefs.length > 0 ? 'targetRefs' : ''].filter((s) => s !== '');
  if (set.length > 1) f.error('spec', `set only one of selector, targetRef or targetRefs, not ${set.join(' and ')}`);

  if (selector) {
    const labels = readObject(f, selector, 'matchLabels', 'spec.selector');
    const entries = labels ? Object.entries(labels) : [];
    if (entries.length === 0) f.warn('spec.selector', 'selector without labels selects every workload in the namespace; remove it or add matchLabels');
    if (entries.length > MAX_SELECTOR_LABELS) f.error('spec.selector.matchLabels', `${entries.length} labels; at most ${MAX_SELECTOR_LABELS} are allowed`);
    for (const [k, v] of entries) {
      const p = field('spec.selector.matchLabels', k);
      if (typeof v !== 'string') {
        f.error(p, `expected a string label value, got ${jsonType(v)}`);
        continue;
      }
      if (k === '') f.error(p, 'label key must not be empty');
      if (k.includes('*') || v.includes('*')) f.error(p, `wildcards are not supported in selectors: ${quote(`${k}=${v}`)}`);
      if (v.length > 63) f.error(p, `label value is ${v.length} characters long; at most 63 are allowed`);
    }
  }
  if (targetRef) checkTargetRef(f, targetRef, 'spec.targetRef');
  if (targetRefs) {
    if (targetRefs.length > MAX_TARGET_REFS) f.error('spec.targetRefs', `${targetRefs.length} targets; at most ${MAX_TARGET_REFS} are allowed`);
    targetRefs.forEach((ref, i) => {
      if (isRecord(ref)) checkTargetRef(f, ref, item('spec.targetRefs', i));
      else f.error(item('spec.targetRefs', i), `expected a target reference object, got ${jsonType(ref)}`);
    });
  }
}

function checkTargetRef(f: Findings, ref: Obj, path: string): void {
  const name = readString(f, ref, 'name', path) ?? '';
  const kind = readString(f, ref, 'kind', path) ?? '';
  const group = readString(f, ref, 'group', path) ?? '';
  const namespace = readString(f, ref, 'namespace', path) ?? '';
  if (name === '') f.error(field(path, 'name'), 'required: the name of the target');
  else if (name.length > 253) f.error(field(path, 'name'), 'at most 253 characters');
  if (kind === '') f.error(field(path, 'kind'), 'required: the kind of the target (Service, ServiceEntry or Gateway)');
  else if (kind.length > 63 || !TARGET_KIND_PATTERN.test(kind)) f.error(field(path, 'kind'), `${quote(kind)} is not a kind name`);
  if (group !== '' && (group.length > 253 || !GROUP_PATTERN.test(group))) f.error(field(path, 'group'), `${quote(group)} is not an API group (a lowercase DNS subdomain, or empty for the core group)`);
  if (namespace !== '') f.error(field(path, 'namespace'), 'must not be set: a policy can only target objects in its own namespace');
  if (kind !== '' && !TARGET_KINDS.includes(`${group}/${kind}`)) {
    f.error(path, `cannot target ${group === '' ? 'core' : group}/${kind}; expected a core Service, a networking.istio.io ServiceEntry or a gateway.networking.k8s.io Gateway or GatewayClass`);
  }
}

/** Checks one rule; returns true when it uses only HTTP attributes. */
function checkRule(f: Findings, rule: unknown, path: string, index: number, action: string): boolean {
  if (rule === null || rule === undefined) {
    f.error(path, 'rule must not be null; use {} to match every request');
    return false;
  }
  if (!isRecord(rule)) {
    f.error(path, `expected a rule object, got ${jsonType(rule)}`);
    return false;
  }
  // Istio's rule for the TCP warning: sources without any L4 attribute and no `to`, or `to`
  // operations none of which names ports.
  let fromExists = false;
  let toExists = false;
  let tcpInFrom = false;
  let tcpInTo = false;
  const from = readArray(f, rule, 'from', path) ?? [];
  if (from.length > MAX_SOURCES) f.error(field(path, 'from'), `${from.length} sources; at most ${MAX_SOURCES} are allowed`);
  from.forEach((entry, i) => {
    const p = item(field(path, 'from'), i);
    const source = isRecord(entry) ? readObject(f, entry, 'source', p) : undefined;
    if (!isRecord(entry) || !source) {
      if (isRecord(entry) || entry === null || entry === undefined) f.error(field(p, 'source'), `required in rule ${index}: each from entry needs a source`);
      else f.error(p, `expected an object with source, got ${jsonType(entry)}`);
      return;
    }
    fromExists = true;
    const used = checkValueLists(f, source, field(p, 'source'), SOURCE_FIELDS);
    if (used.length === 0) f.error(field(p, 'source'), `must not be empty in rule ${index}: set at least one of ${SOURCE_FIELDS.join(', ')}`);
    if (used.some((k) => k !== 'requestPrincipals' && k !== 'notRequestPrincipals')) tcpInFrom = true;
    if (action === 'CUSTOM') {
      for (const k of used) if (CUSTOM_FORBIDDEN_SOURCE.has(k)) f.error(field(field(p, 'source'), k), 'not supported with action CUSTOM: the external authorizer runs before identities are checked');
    }
    const sa = used.filter((k) => k === 'serviceAccounts' || k === 'notServiceAccounts');
    const clash = used.filter((k) => k === 'principals' || k === 'notPrincipals' || k === 'namespaces' || k === 'notNamespaces');
    if (sa.length > 0 && clash.length > 0) f.error(field(p, 'source'), `cannot combine ${sa.join(', ')} with ${clash.join(', ')} in one source (rule ${index})`);
  });

  const to = readArray(f, rule, 'to', path) ?? [];
  to.forEach((entry, i) => {
    const p = item(field(path, 'to'), i);
    const operation = isRecord(entry) ? readObject(f, entry, 'operation', p) : undefined;
    if (!isRecord(entry) || !operation) {
      if (isRecord(entry) || entry === null || entry === undefined) f.error(field(p, 'operation'), `required in rule ${index}: each to entry needs an operation`);
      else f.error(p, `expected an object with operation, got ${jsonType(entry)}`);
      return;
    }
    toExists = true;
    const used = checkValueLists(f, operation, field(p, 'operation'), OPERATION_FIELDS);
    if (used.length === 0) f.error(field(p, 'operation'), `must not be empty in rule ${index}: set at least one of ${OPERATION_FIELDS.join(', ')}`);
    if (used.includes('ports') || used.includes('notPorts')) tcpInTo = true;
  });

  const when = readArray(f, rule, 'when', path) ?? [];
  when.forEach((entry, i) => {
    const p = item(field(path, 'when'), i);
    if (!isRecord(entry)) {
      f.error(p, `expected a condition object with key and values, got ${jsonType(entry)}`);
      return;
    }
    checkCondition(f, entry, p, action);
  });
  return (fromExists && !toExists && !tcpInFrom) || (toExists && !tcpInTo);
}

/** Checks the string lists of a source or operation; returns the fields with at least one value. */
function checkValueLists(f: Findings, object: Obj, path: string, fields: readonly string[]): string[] {
  const used: string[] = [];
  for (const key of fields) {
    const values = readStringList(f, object, key, path);
    if (!values || values.length === 0) continue;
    used.push(key);
    const p = field(path, key);
    for (const [i, value] of values) {
      const vp = item(p, i);
      if (value === '') {
        f.error(vp, 'empty value; remove it or give a value');
        continue;
      }
      if (IP_FIELDS.has(key)) checkIP(f, value, vp);
      else if (key === 'ports' || key === 'notPorts') checkPortValue(f, value, vp);
      else if (key === 'paths' || key === 'notPaths') checkPathTemplate(f, value, vp);
      else if (key === 'serviceAccounts' || key === 'notServiceAccounts') checkServiceAccount(f, value, vp);
      else if (key === 'trustDomains' || key === 'notTrustDomains') checkTrustDomain(f, value, vp);
    }
    if ((key === 'serviceAccounts' || key === 'notServiceAccounts') && values.length > 16) f.error(p, `${values.length} service accounts; at most 16 are allowed`);
  }
  for (const key of Object.keys(object)) {
    // Unknown keys are pruned by the API server; reaching here they are typos worth a word.
    if (!fields.includes(key)) f.warn(field(path, key), `unknown field ${quote(key)}: the API server drops it (kubectl --validate=strict refuses it), so it has no effect; expected one of ${fields.join(', ')}`);
  }
  return used;
}

function checkIP(f: Findings, value: string, path: string): void {
  if (value.includes('/')) {
    const problem = cidrProblem(value);
    if (problem) f.error(path, `${quote(value)} is not a CIDR range: ${problem}`);
  } else if (!isIPAddress(value)) {
    f.error(path, `${quote(value)} is not an IP address or CIDR range`);
  }
}

function checkPortValue(f: Findings, value: string, path: string): void {
  if (!/^[0-9]{1,10}$/.test(value) || Number(value) > 65535) {
    f.error(path, `${quote(value)} is not a port; expected a single number from 0 to 65535 (no ranges or names)`);
  }
}

/** The literal segment characters Istio allows beside a template (RFC 3986 pchar without "*"). */
const PCHAR = /^[A-Za-z0-9\-._~%!$&'()+,;:@=]+$/;

function checkPathTemplate(f: Findings, value: string, path: string): void {
  const hasTemplate = value.includes('{*}') || value.includes('{**}');
  // Trimmed with index arithmetic: a regex such as /\/+$/ backtracks quadratically on long runs of "/".
  let start = 0;
  let end = value.length;
  while (start < end && value[start] === '/') start++;
  while (end > start && value[end - 1] === '/') end--;
  const segments = value.slice(start, end).split('/');
  let matchAnySeen = false;
  for (const segment of segments) {
    if (!matchAnySeen && segment === '{*}') continue;
    if (!matchAnySeen && segment === '{**}') {
      matchAnySeen = true;
      continue;
    }
    if (matchAnySeen && (segment === '{*}' || segment === '{**}')) {
      f.error(path, `${quote(value)}: {**} must be the last operator of a path template (no {*} or {**} after it)`);
      return;
    }
    if (segment.includes('{') || segment.includes('}')) {
      f.error(path, `${quote(value)}: "{" and "}" are only allowed as whole segments {*} (one segment) or {**} (the rest)`);
      return;
    }
    if (hasTemplate && !PCHAR.test(segment)) {
      f.error(path, `${quote(value)}: segment ${quote(segment)} has characters not allowed in a URL path`);
      return;
    }
  }
}

function checkServiceAccount(f: Findings, value: string, path: string): void {
  if (value.length > 320) f.error(path, 'at most 320 characters');
  else if (value.includes('*')) f.error(path, `${quote(value)}: wildcards are not supported in service accounts`);
  else {
    const parts = value.split('/');
    if (parts.length > 2 || parts.some((p) => p === '')) f.error(path, `${quote(value)} is not <service-account> or <namespace>/<service-account>`);
  }
}

function checkTrustDomain(f: Findings, value: string, path: string): void {
  if (value.includes('/')) f.error(path, `${quote(value)}: a trust domain has no "/"`);
  else if (value.slice(1, -1).includes('*')) f.error(path, `${quote(value)}: a wildcard may only be at the start or end`);
}

const MAP_KEY = /^[^[]+\[.+\]$/;
const MAP_KEY_PREFIXES = ['request.headers', 'request.experimental.inline.headers', 'request.auth.claims', 'experimental.envoy.filters.'];
const FREE_FORM_KEYS = new Set([
  'source.namespace', 'source.principal', 'request.auth.principal', 'request.auth.audiences', 'request.auth.presenter', 'connection.sni', 'source.trustDomain', 'source.serviceAccount',
]);
const CUSTOM_FORBIDDEN_KEYS = new Set(['source.namespace', 'source.principal', 'source.serviceAccount', 'source.trustDomain']);

function checkCondition(f: Findings, condition: Obj, path: string, action: string): void {
  const key = readString(f, condition, 'key', path);
  const values = readStringList(f, condition, 'values', path) ?? [];
  const notValues = readStringList(f, condition, 'notValues', path) ?? [];
  const keyPath = field(path, 'key');
  if (key === undefined || key === '') {
    f.error(keyPath, 'required: an attribute such as source.ip, request.headers[<name>] or request.auth.claims[<claim>]');
    return;
  }
  if (values.length === 0 && notValues.length === 0) f.error(path, `at least one of values or notValues must be set for key ${quote(key)}`);

  let valueRule: ((value: string, p: string) => void) | undefined;
  let keyProblem: string | undefined;
  // Prefixes without the bracket, as Istio matches them: "request.headersX[y]" passes, "request.headers" does not.
  if (MAP_KEY_PREFIXES.some((prefix) => key.startsWith(prefix))) {
    if (!MAP_KEY.test(key)) keyProblem = `${quote(key)} must have the form name[entry], e.g. request.headers[x-token]`;
  } else if (key === 'source.ip' || key === 'remote.ip' || key === 'destination.ip') {
    valueRule = (v, p) => checkIP(f, v, p);
  } else if (key === 'destination.port') {
    valueRule = (v, p) => checkPortValue(f, v, p);
  } else if (key === 'source.serviceAccount') {
    valueRule = (v, p) => checkServiceAccount(f, v, p);
    if (values.length > 16 || notValues.length > 16) f.error(path, 'at most 16 service accounts in values and in notValues');
  } else if (FREE_FORM_KEYS.has(key)) {
    // any non-empty value
  } else if (key === 'destination.namespace') {
    keyProblem = 'destination.namespace is not supported: a policy applies to its own namespace (metadata.namespace)';
  } else if (key.startsWith('destination.labels[')) {
    keyProblem = `${quote(key)} is not supported: select workloads with spec.selector instead`;
  } else if (key === 'destination.name' || key === 'destination.user') {
    keyProblem = `${quote(key)} was only supported in the removed v1alpha1 API`;
  } else {
    keyProblem = `${quote(key)} is not a supported attribute; expected one of source.ip, remote.ip, source.namespace, source.principal, source.serviceAccount, request.headers[...], request.auth.principal, request.auth.audiences, request.auth.presenter, request.auth.claims[...], destination.ip, destination.port, connection.sni, experimental.envoy.filters.*[...]`;
  }
  if (keyProblem) f.error(keyPath, keyProblem);
  if (action === 'CUSTOM' && (CUSTOM_FORBIDDEN_KEYS.has(key) || key.startsWith('request.auth.'))) {
    f.error(keyPath, `${quote(key)} is not supported with action CUSTOM: the external authorizer runs before identities are checked`);
  }
  for (const [listKey, list] of [['values', values], ['notValues', notValues]] as const) {
    for (const [i, value] of list) {
      const p = item(field(path, listKey), i);
      if (value === '') f.error(p, `empty value for key ${quote(key)}`);
      else valueRule?.(value, p);
    }
  }
}
