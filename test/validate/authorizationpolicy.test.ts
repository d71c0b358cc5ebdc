import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateObject } from '../../src/validate/index.ts';
import { apRule, authorizationPolicy, invalidAt, noWarnings, valid, warnsAt } from './helpers.ts';

const to = (operation: Record<string, unknown>) => ({ to: [{ operation }] });
const from = (source: Record<string, unknown>) => ({ from: [{ source }] });

test('v1beta1 and v1 validate alike', () => {
  for (const version of ['v1beta1', 'v1']) {
    const outcome = validateObject({ ...authorizationPolicy({ action: 'DENY' }), apiVersion: `security.istio.io/${version}` });
    assert.equal(outcome.kind, 'AuthorizationPolicy');
    assert.equal(outcome.violations.length, 1);
  }
  assert.equal(validateObject({ ...authorizationPolicy({}), apiVersion: 'security.istio.io/v1alpha1' }).kind, undefined);
});

test('ALLOW and AUDIT without rules are valid; DENY and CUSTOM without rules are not; rules: [] is no rules', () => {
  valid(authorizationPolicy({}));
  valid({ ...authorizationPolicy({}), spec: undefined });
  valid(authorizationPolicy({ action: 'AUDIT' }));
  valid(authorizationPolicy({ action: 'ALLOW', rules: [] }));
  invalidAt(authorizationPolicy({ action: 'DENY' }), 'spec.rules', /denies nothing/);
  invalidAt(authorizationPolicy({ action: 'DENY', rules: [] }), 'spec.rules', /denies nothing/);
  invalidAt(authorizationPolicy({ action: 'CUSTOM', provider: { name: 'ext' } }), 'spec.rules', /CUSTOM policy needs rules/);
  valid(authorizationPolicy({ action: 'DENY', rules: [{}] }));
});

test('action is a case-sensitive enum', () => {
  invalidAt(authorizationPolicy({ action: 'allow' }), 'spec.action', /"allow" is not an action/);
  invalidAt(authorizationPolicy({ action: 1 }), 'spec.action', /expected a string/);
});

test('provider: required for CUSTOM, refused otherwise', () => {
  valid(apRule(to({ paths: ['/x'] }), { action: 'CUSTOM', provider: { name: 'ext' } }));
  invalidAt(apRule({}, { action: 'CUSTOM' }), 'spec.provider.name', /required/);
  invalidAt(apRule({}, { action: 'CUSTOM', provider: { name: '' } }), 'spec.provider.name', /required/);
  invalidAt(apRule({}, { action: 'ALLOW', provider: { name: 'ext' } }), 'spec.provider', /only allowed with action CUSTOM.*ALLOW/);
});

test('CUSTOM refuses identity-based sources and when keys, allows IPs and paths', () => {
  const custom = { action: 'CUSTOM', provider: { name: 'ext' } };
  valid(apRule({ ...from({ ipBlocks: ['10.0.0.0/8'], remoteIpBlocks: ['1.2.3.4'] }), when: [{ key: 'source.ip', values: ['10.1.2.3'] }] }, custom));
  for (const field of ['principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals', 'namespaces', 'notNamespaces']) {
    invalidAt(apRule(from({ [field]: ['x'] }), custom), `spec.rules[0].from[0].source.${field}`, /CUSTOM/);
  }
  for (const key of ['source.namespace', 'source.principal', 'request.auth.principal', 'request.auth.claims[iss]']) {
    invalidAt(apRule({ when: [{ key, values: ['x'] }] }, custom), 'spec.rules[0].when[0].key', /CUSTOM/);
  }
});

test('from and to entries need a non-empty source or operation', () => {
  invalidAt(apRule({ from: [{}] }), 'spec.rules[0].from[0].source', /required in rule 0/);
  invalidAt(apRule({ from: [{ source: {} }] }), 'spec.rules[0].from[0].source', /must not be empty in rule 0/);
  invalidAt(apRule({ from: [{ source: { principals: [] } }] }), 'spec.rules[0].from[0].source', /must not be empty/);
  invalidAt(apRule({ to: [{}] }), 'spec.rules[0].to[0].operation', /required in rule 0/);
  invalidAt(apRule({ to: [{ operation: {} }] }), 'spec.rules[0].to[0].operation', /must not be empty/);
  invalidAt(authorizationPolicy({ rules: [{}, { to: [{ operation: {} }] }] }), 'spec.rules[1].to[0].operation', /rule 1/);
  invalidAt(authorizationPolicy({ rules: [null] }), 'spec.rules[0]', /must not be null/);
  valid(apRule({ from: [], to: [] }));
});

test('values: non-empty everywhere; principals, methods and hosts are free-form', () => {
  valid(apRule({ ...from({ principals: ['*', 'cluster.local/ns/*', '*sa'] }), ...to({ methods: ['get', 'CUSTOMVERB'], hosts: ['*.x.com'] }) }));
  invalidAt(apRule(from({ principals: [''] })), 'spec.rules[0].from[0].source.principals[0]', /empty/);
  invalidAt(apRule(to({ notHosts: ['a', ''] })), 'spec.rules[0].to[0].operation.notHosts[1]', /empty/);
});

test('IP blocks: addresses or CIDRs (host bits allowed)', () => {
  valid(apRule(from({ ipBlocks: ['1.2.3.4', '192.168.1.10/24', '2001:db8::/32', '::1'], notRemoteIpBlocks: ['0.0.0.0/0'] })));
  for (const bad of ['a.b.c.d', '10.0.0.1/33', '10.0.0', '01.2.3.4', '10.0.0.0/', '::1/129', '1.2.3.4/8/8']) {
    invalidAt(apRule(from({ ipBlocks: [bad] })), 'spec.rules[0].from[0].source.ipBlocks[0]', /not (an IP address|a CIDR range)/);
  }
});

test('ports: single numbers up to 65535', () => {
  valid(apRule(to({ ports: ['0', '8080', '65535'], notPorts: ['9090'] })));
  for (const bad of ['65536', '8080-8090', 'http', '-1', '+80', ' 80']) {
    invalidAt(apRule(to({ ports: [bad] })), 'spec.rules[0].to[0].operation.ports[0]', /is not a port/);
  }
});

test('path templates: {*} and {**} as whole segments, {**} last', () => {
  valid(apRule(to({ paths: ['/foo/{*}/bar', '/foo/{**}', '/{*}', '/a/b*', '*'] })));
  invalidAt(apRule(to({ paths: ['/foo/{buzz}/bar'] })), 'spec.rules[0].to[0].operation.paths[0]', /whole segments/);
  // Only another operator after {**} is refused, as in Istio; a literal after it is not checked.
  valid(apRule(to({ notPaths: ['/{**}/foo'] })));
  invalidAt(apRule(to({ paths: ['/{**}/{*}'] })), 'spec.rules[0].to[0].operation.paths[0]', /last operator/);
  invalidAt(apRule(to({ paths: ['/{**}/{**}'] })), 'spec.rules[0].to[0].operation.paths[0]', /last operator/);
  invalidAt(apRule(to({ paths: ['/a*/{*}'] })), 'spec.rules[0].to[0].operation.paths[0]', /not allowed in a URL path/);
  invalidAt(apRule(to({ paths: ['/a//{*}'] })), 'spec.rules[0].to[0].operation.paths[0]', /not allowed in a URL path/);
  valid(apRule(to({ paths: ['/a%20b/{*}', "/~user/{*}/x@y:z=1;(2)!$&',+"] })));
  invalidAt(apRule(to({ paths: ['/foo{*}'] })), 'spec.rules[0].to[0].operation.paths[0]', /whole segments/);
  invalidAt(apRule(to({ paths: ['/a b/{*}'] })), 'spec.rules[0].to[0].operation.paths[0]', /not allowed in a URL path/);
});

test('service accounts: sa or ns/sa, no wildcards, at most 16, not with principals or namespaces', () => {
  valid(apRule(from({ serviceAccounts: ['ns1/sa1', 'sa2'] })));
  invalidAt(apRule(from({ serviceAccounts: ['ns/*'] })), 'spec.rules[0].from[0].source.serviceAccounts[0]', /wildcards/);
  invalidAt(apRule(from({ serviceAccounts: ['a/b/c'] })), 'spec.rules[0].from[0].source.serviceAccounts[0]', /<namespace>\/<service-account>/);
  invalidAt(apRule(from({ serviceAccounts: Array.from({ length: 17 }, (_, i) => `sa${i}`) })), 'spec.rules[0].from[0].source.serviceAccounts', /at most 16/);
  invalidAt(apRule(from({ serviceAccounts: ['sa'], namespaces: ['ns'] })), 'spec.rules[0].from[0].source', /cannot combine serviceAccounts with namespaces/);
});

test('when: a closed list of keys, values checked by key', () => {
  const when = (condition: Record<string, unknown>) => apRule({ when: [condition] });
  for (const key of ['request.headers[x-token]', 'request.experimental.inline.headers[x]', 'request.headersX[y]', 'request.auth.claims[groups]', 'request.auth.claims[a][b]', 'source.namespace', 'source.principal', 'request.auth.principal', 'request.auth.audiences', 'request.auth.presenter', 'connection.sni', 'experimental.envoy.filters.network.mysql_proxy[db.table]']) {
    valid(when({ key, values: ['x'] }));
  }
  valid(when({ key: 'destination.port', notValues: ['8080'] }));
  valid(when({ key: 'remote.ip', values: ['10.0.0.0/8'] }));
  invalidAt(when({ key: '', values: ['a'] }), 'spec.rules[0].when[0].key', /required/);
  invalidAt(when({ values: ['a'] }), 'spec.rules[0].when[0].key', /required/);
  invalidAt(when({ key: 'source.principal' }), 'spec.rules[0].when[0]', /values or notValues/);
  invalidAt(when({ key: 'request.headers', values: ['a'] }), 'spec.rules[0].when[0].key', /name\[entry\]/);
  invalidAt(when({ key: 'request.headers[]', values: ['a'] }), 'spec.rules[0].when[0].key', /name\[entry\]/);
  invalidAt(when({ key: 'destination.namespace', values: ['a'] }), 'spec.rules[0].when[0].key', /metadata\.namespace/);
  invalidAt(when({ key: 'destination.labels[app]', values: ['a'] }), 'spec.rules[0].when[0].key', /selector/);
  invalidAt(when({ key: 'destination.name', values: ['a'] }), 'spec.rules[0].when[0].key', /v1alpha1/);
  invalidAt(when({ key: 'destination.user', values: ['a'] }), 'spec.rules[0].when[0].key', /v1alpha1/);
  invalidAt(when({ key: 'request.method', values: ['GET'] }), 'spec.rules[0].when[0].key', /not a supported attribute/);
  invalidAt(when({ key: 'source.ip', values: ['a.b.c.d'] }), 'spec.rules[0].when[0].values[0]', /not an IP address/);
  invalidAt(when({ key: 'source.ip', notValues: ['10.0.0.0/40'] }), 'spec.rules[0].when[0].notValues[0]', /CIDR/);
  invalidAt(when({ key: 'destination.port', values: ['99999'] }), 'spec.rules[0].when[0].values[0]', /not a port/);
  invalidAt(when({ key: 'source.namespace', values: [''] }), 'spec.rules[0].when[0].values[0]', /empty value/);
});

test('selector and targets', () => {
  valid(authorizationPolicy({ selector: { matchLabels: { app: '', version: 'v1' } } }));
  invalidAt(authorizationPolicy({ selector: { matchLabels: { app: 'web-*' } } }), 'spec.selector.matchLabels.app', /wildcards.*"app=web-\*"/);
  invalidAt(authorizationPolicy({ selector: { matchLabels: { '*': 'x' } } }), 'spec.selector.matchLabels["*"]', /wildcards/);
  invalidAt(authorizationPolicy({ selector: { matchLabels: { '': 'x' } } }), 'spec.selector.matchLabels[""]', /must not be empty/);
  warnsAt(authorizationPolicy({ selector: {} }), 'spec.selector', /without labels/);
  valid(authorizationPolicy({ targetRefs: [{ kind: 'Service', group: '', name: 'web' }, { kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'gw' }] }));
  valid(authorizationPolicy({ targetRef: { kind: 'ServiceEntry', group: 'networking.istio.io', name: 'ext' } }));
  invalidAt(authorizationPolicy({ selector: { matchLabels: { a: 'b' } }, targetRefs: [{ kind: 'Service', name: 'web' }] }), 'spec', /only one of selector, targetRef or targetRefs/);
  invalidAt(authorizationPolicy({ targetRef: { kind: 'Deployment', group: 'apps', name: 'web' } }), 'spec.targetRef', /apps\/Deployment/);
  invalidAt(authorizationPolicy({ targetRef: { kind: 'Service', name: 'web', namespace: 'other' } }), 'spec.targetRef.namespace', /own namespace/);
  invalidAt(authorizationPolicy({ targetRefs: [{ kind: 'Service' }] }), 'spec.targetRefs[0].name', /required/);
  invalidAt(authorizationPolicy({ targetRefs: [{ name: 'x' }] }), 'spec.targetRefs[0].kind', /required/);
  invalidAt(authorizationPolicy({ targetRef: { kind: 'Gateway', group: 'Gateway.Networking', name: 'x' } }), 'spec.targetRef.group', /not an API group/);
  valid(authorizationPolicy({ targetRef: { kind: 'Service', group: 'core', name: 'x' } }));
  invalidAt(authorizationPolicy({ targetRefs: Array.from({ length: 17 }, () => ({ kind: 'Service', name: 'x' })) }), 'spec.targetRefs', /at most 16/);
});

test('dry-run annotation: a Go boolean, only with ALLOW or DENY', () => {
  const dry = (value: string, spec: Record<string, unknown> = {}) => authorizationPolicy(spec, { annotations: { 'istio.io/dry-run': value } });
  for (const v of ['true', 'false', '1', '0', 'T', 'FALSE']) valid(dry(v));
  valid(dry('true', { action: 'DENY', rules: [to({ ports: ['80'] })] }));
  invalidAt(dry('yes'), 'metadata.annotations["istio.io/dry-run"]', /"yes" is not a boolean/);
  invalidAt(dry('true', { action: 'AUDIT' }), 'metadata.annotations["istio.io/dry-run"]', /AUDIT/);
  invalidAt(dry('true', { action: 'CUSTOM', provider: { name: 'x' }, rules: [{}] }), 'metadata.annotations["istio.io/dry-run"]', /CUSTOM/);
});

test('DENY rules with only HTTP attributes warn; with ports they do not', () => {
  warnsAt(apRule(to({ paths: ['/admin'] }), { action: 'DENY' }), 'spec.rules', /TCP/);
  warnsAt(apRule(from({ requestPrincipals: ['*'] }), { action: 'DENY' }), 'spec.rules', /TCP/);
  noWarnings(apRule(to({ methods: ['POST'], ports: ['8080'] }), { action: 'DENY' }));
  noWarnings(apRule({ ...from({ notIpBlocks: ['10.0.0.0/8'] }), ...to({ ports: ['3306'] }) }, { action: 'DENY' }));
  noWarnings(apRule({}, { action: 'DENY' }));
  noWarnings(apRule(to({ paths: ['/admin'] }), { action: 'ALLOW' }));
  // Istio looks at the rule as a whole: one operation with ports, or an L4 source, is enough.
  noWarnings(apRule({ to: [{ operation: { ports: ['80'] } }, { operation: { paths: ['/x'] } }] }, { action: 'DENY' }));
  noWarnings(apRule(from({ principals: ['cluster.local/ns/a/sa/b'] }), { action: 'DENY' }));
  noWarnings(apRule({ when: [{ key: 'request.headers[x]', values: ['y'] }] }, { action: 'DENY' }));
  warnsAt(apRule({ ...from({ principals: ['p'] }), ...to({ methods: ['GET'] }) }, { action: 'DENY' }), 'spec.rules', /TCP/);
});

test('unknown top-level fields are refused', () => {
  invalidAt({ ...authorizationPolicy({}), rules: [{}] }, 'rules', /unknown top-level field "rules"/);
});

test('unknown spec fields are named in warnings', () => {
  warnsAt(authorizationPolicy({ rule: [{}] }), 'spec.rule', /unknown field "rule"/);
  warnsAt(apRule({ from: [{ source: { principal: ['x'], namespaces: ['y'] } }] }), 'spec.rules[0].from[0].source.principal', /unknown field "principal"/);
  warnsAt(apRule({ when: [{ key: 'source.ip', value: ['x'], values: ['1.2.3.4'] }] }), 'spec.rules[0].when[0].value', /unknown field/);
});
