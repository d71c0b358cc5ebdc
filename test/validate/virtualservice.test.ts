import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterState } from '../../src/kube/cluster-state.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { validateObject } from '../../src/validate/index.ts';
import { hostsOverlap } from '../../src/validate/virtualservice.ts';
import { httpRoute, invalidAt, noWarnings, valid, virtualService, warnsAt } from './helpers.ts';

const dest = (host: string, extra: Record<string, unknown> = {}) => ({ destination: { host, ...extra } });

test('v1alpha3, v1beta1 and v1 validate alike; other groups and kinds are not validated', () => {
  for (const version of ['v1alpha3', 'v1beta1', 'v1']) {
    const object = { ...httpRoute({ timeout: '0s' }), apiVersion: `networking.istio.io/${version}` };
    assert.equal(validateObject(object).violations.length, 1, version);
  }
  assert.equal(validateObject({ ...httpRoute({}), apiVersion: 'networking.istio.io/v2' }).kind, undefined);
  assert.equal(validateObject({ ...httpRoute({}), apiVersion: 'example.com/v1' }).kind, undefined);
});

test('weights need not sum to 100; negative and all-zero (with several destinations) are errors', () => {
  valid(httpRoute({ route: [{ ...dest('a'), weight: 49 }, { ...dest('b'), weight: 50 }] }));
  valid(httpRoute({ route: [{ ...dest('a'), weight: 550 }, { ...dest('b'), weight: 500 }] }));
  valid(httpRoute({ route: [{ ...dest('a'), weight: 0 }] }));
  invalidAt(httpRoute({ route: [{ ...dest('a'), weight: 0 }, { ...dest('b'), weight: 0 }] }), 'spec.http[0].route', /all 0/);
  invalidAt(httpRoute({ route: [dest('a'), dest('b')] }), 'spec.http[0].route', /all 0/);
  invalidAt(httpRoute({ route: [{ ...dest('a'), weight: -1 }, { ...dest('b'), weight: 10 }] }), 'spec.http[0].route[0].weight', /negative/);
  invalidAt(httpRoute({ route: [{ ...dest('a'), weight: '50' }] }), 'spec.http[0].route[0].weight', /expected a whole number/);
});

test('durations: Go syntax, at least 1ms, millisecond precision; maxAge whole seconds', () => {
  for (const timeout of ['10s', '0.5s', '100ms', '1m30s', '1ms', '1h']) valid(httpRoute({ timeout }));
  invalidAt(httpRoute({ timeout: '10' }), 'spec.http[0].timeout', /no unit/);
  invalidAt(httpRoute({ timeout: '0s' }), 'spec.http[0].timeout', /minimum of 1ms/);
  invalidAt(httpRoute({ timeout: '500us' }), 'spec.http[0].timeout', /minimum of 1ms/);
  invalidAt(httpRoute({ timeout: '-1s' }), 'spec.http[0].timeout', /minimum of 1ms/);
  invalidAt(httpRoute({ timeout: '3.000000042s' }), 'spec.http[0].timeout', /millisecond precision/);
  invalidAt(httpRoute({ timeout: '1.5ms' }), 'spec.http[0].timeout', /millisecond precision/);
  valid(httpRoute({ corsPolicy: { maxAge: '24h' } }));
  invalidAt(httpRoute({ corsPolicy: { maxAge: '1.5s' } }), 'spec.http[0].corsPolicy.maxAge', /seconds precision/);
  invalidAt(httpRoute({ fault: { delay: { fixedDelay: '0.1ms' } } }), 'spec.http[0].fault.delay.fixedDelay', /1ms/);
  invalidAt(httpRoute({ retries: { attempts: 2, backoff: '10' } }), 'spec.http[0].retries.backoff', /no unit/);
});

test('retries: attempts 0 alone is fine, with other settings it is an error; retryOn items are not trimmed', () => {
  valid(httpRoute({ retries: { attempts: 0 } }));
  valid(httpRoute({ retries: { attempts: 3, perTryTimeout: '2s', retryOn: '5xx,gateway-error,503,429,retriable-4xx' } }));
  valid(httpRoute({ timeout: '1s', retries: { attempts: 3, perTryTimeout: '2s' } }));
  invalidAt(httpRoute({ retries: { attempts: 0, perTryTimeout: '2s' } }), 'spec.http[0].retries.attempts', /disables retries.*perTryTimeout/);
  invalidAt(httpRoute({ retries: { retryOn: '5xx' } }), 'spec.http[0].retries.attempts', /not set.*retryOn/);
  invalidAt(httpRoute({ retries: { attempts: 0, retryRemoteLocalities: true } }), 'spec.http[0].retries.attempts', /retryRemoteLocalities/);
  invalidAt(httpRoute({ retries: { attempts: -1 } }), 'spec.http[0].retries.attempts', /negative/);
  invalidAt(httpRoute({ retries: { attempts: 3, retryOn: '5xx, connect-failure' } }), 'spec.http[0].retries.retryOn', /^" connect-failure"/);
  invalidAt(httpRoute({ retries: { attempts: 3, retryOn: '600' } }), 'spec.http[0].retries.retryOn', /^"600"/);
  invalidAt(httpRoute({ retries: { attempts: 3, retryOn: '5xx,' } }), 'spec.http[0].retries.retryOn', /^""/);
});

test('fault injection: abort and/or delay, percentage 0 or [0.0001, 100], status 200..600', () => {
  valid(httpRoute({ fault: { abort: { httpStatus: 600, percentage: { value: 0.0001 } } } }));
  valid(httpRoute({ fault: { delay: { fixedDelay: '5s', percentage: { value: 0 } } } }));
  valid(httpRoute({ fault: { abort: { grpcStatus: 'UNAVAILABLE' } } }));
  valid(httpRoute({ fault: { delay: { fixedDelay: '1s', percent: 50 } } }));
  invalidAt(httpRoute({ fault: {} }), 'spec.http[0].fault', /abort, a delay/);
  invalidAt(httpRoute({ fault: { abort: { httpStatus: 199 } } }), 'spec.http[0].fault.abort.httpStatus', /199/);
  invalidAt(httpRoute({ fault: { abort: { httpStatus: 601 } } }), 'spec.http[0].fault.abort.httpStatus', /601/);
  invalidAt(httpRoute({ fault: { abort: { httpStatus: 500, percentage: { value: 100.5 } } } }), 'spec.http[0].fault.abort.percentage.value', /100\.5/);
  invalidAt(httpRoute({ fault: { abort: { httpStatus: 500, percentage: { value: -1 } } } }), 'spec.http[0].fault.abort.percentage.value', /-1/);
  invalidAt(httpRoute({ fault: { abort: { grpcStatus: 'unavailable' } } }), 'spec.http[0].fault.abort.grpcStatus', /not a gRPC status/);
  invalidAt(httpRoute({ fault: { abort: { http2Error: 'REFUSED_STREAM' } } }), 'spec.http[0].fault.abort.http2Error', /not supported/);
  invalidAt(httpRoute({ fault: { abort: { httpStatus: 500, grpcStatus: 'INTERNAL' } } }), 'spec.http[0].fault.abort', /only one/);
  invalidAt(httpRoute({ fault: { delay: { exponentialDelay: '1s' } } }), 'spec.http[0].fault.delay.exponentialDelay', /not supported/);
  warnsAt(httpRoute({ fault: { abort: { percentage: { value: 10 } } } }), 'spec.http[0].fault.abort', /does nothing/);
});

test('route kinds: route, redirect, directResponse and delegate exclude each other as upstream does', () => {
  invalidAt(httpRoute({ route: [] }), 'spec.http[0].route', /route destinations, a redirect/);
  invalidAt(httpRoute({ redirect: { uri: '/x' } }), 'spec.http[0].redirect', /both route and redirect/);
  invalidAt(httpRoute({ route: undefined, redirect: { uri: '/x' }, fault: { abort: { httpStatus: 500 } } }), 'spec.http[0].fault', /fault and redirect/);
  invalidAt(httpRoute({ route: undefined, redirect: { uri: '/x' }, rewrite: { uri: '/y' } }), 'spec.http[0].rewrite', /rewrite and redirect/);
  invalidAt(httpRoute({ directResponse: { status: 503 } }), 'spec.http[0].directResponse', /route and directResponse/);
  invalidAt(httpRoute({ delegate: { name: 'child' } }), 'spec.http[0].route', /delegates/);
  valid(httpRoute({ route: undefined, delegate: { name: 'child', namespace: 'shop' } }));
  invalidAt(httpRoute({ route: undefined, delegate: {} }), 'spec.http[0].delegate.name', /required/);
  invalidAt(httpRoute({ mirror: { host: 'm' }, mirrors: [{ destination: { host: 'm2' } }] }), 'spec.http[0].mirrors', /both mirror and mirrors/);
});

test('redirect: something must change, 3xx codes, http/https, port range', () => {
  const r = (redirect: Record<string, unknown>) => httpRoute({ route: undefined, redirect });
  valid(r({ scheme: 'https', redirectCode: 308 }));
  valid(r({ port: 8443 }));
  valid(r({ derivePort: 'FROM_REQUEST_PORT' }));
  invalidAt(r({ redirectCode: 301 }), 'spec.http[0].redirect', /must change something/);
  invalidAt(r({ uri: '/x', redirectCode: 200 }), 'spec.http[0].redirect.redirectCode', /300 to 399/);
  invalidAt(r({ scheme: 'ftp' }), 'spec.http[0].redirect.scheme', /"http" or "https"/);
  invalidAt(r({ port: 70000 }), 'spec.http[0].redirect.port', /1 to 65535/);
  invalidAt(r({ port: 80, derivePort: 'FROM_REQUEST_PORT' }), 'spec.http[0].redirect', /only one of port or derivePort/);
});

test('rewrite and direct responses', () => {
  valid(httpRoute({ rewrite: { uriRegexRewrite: { match: '^/v1/(.*)', rewrite: '/v2/\\1' } } }));
  invalidAt(httpRoute({ rewrite: {} }), 'spec.http[0].rewrite', /must set uri, uriRegexRewrite or authority/);
  invalidAt(httpRoute({ rewrite: { uri: '/a', uriRegexRewrite: { match: 'a', rewrite: 'b' } } }), 'spec.http[0].rewrite', /only one of uri or uriRegexRewrite/);
  invalidAt(httpRoute({ rewrite: { uriRegexRewrite: { match: 'a' } } }), 'spec.http[0].rewrite.uriRegexRewrite', /both match and rewrite/);
  invalidAt(httpRoute({ rewrite: { uriRegexRewrite: { match: '(', rewrite: 'b' } } }), 'spec.http[0].rewrite.uriRegexRewrite.match', /RE2/);
  const direct = (directResponse: Record<string, unknown>) => httpRoute({ route: undefined, directResponse });
  valid(direct({ status: 200, body: { bytes: 'aGVsbG8=' } }));
  invalidAt(direct({ status: 150 }), 'spec.http[0].directResponse.status', /150/);
  invalidAt(direct({}), 'spec.http[0].directResponse.status', /required/);
  invalidAt(direct({ status: 200, body: { string: 'x'.repeat(1024 * 1024 + 1) } }), 'spec.http[0].directResponse.body', /1 MiB/);
  warnsAt(direct({ status: 200, body: { string: 'x'.repeat(200 * 1024) } }), 'spec.http[0].directResponse.body', /100 KiB/);
});

test('hosts: wildcard-aware duplicates, "*" only off-mesh, IP addresses allowed', () => {
  invalidAt(virtualService({ hosts: ['*.foo.bar', '*.bar'], http: [{ route: [dest('a')] }] }), 'spec.hosts[1]', /duplicates/);
  invalidAt(virtualService({ hosts: ['api.x.com', '*.x.com'], http: [{ route: [dest('a')] }] }), 'spec.hosts[1]', /duplicates "api\.x\.com"/);
  invalidAt(virtualService({ hosts: ['a', 'a'], http: [{ route: [dest('a')] }] }), 'spec.hosts[1]', /duplicates/);
  valid(virtualService({ hosts: ['reviews', 'reviews.shop.svc.cluster.local'], http: [{ route: [dest('a')] }] }));
  valid(virtualService({ hosts: ['*.a.com', '*.b.com'], http: [{ route: [dest('a')] }] }));
  invalidAt(virtualService({ hosts: ['*'], http: [{ route: [dest('a')] }] }), 'spec.hosts[0]', /mesh/);
  invalidAt(virtualService({ hosts: ['*'], gateways: ['gw', 'mesh'], http: [{ route: [dest('a')] }] }), 'spec.hosts[0]', /mesh/);
  valid(virtualService({ hosts: ['*'], gateways: ['shop/gw'], http: [{ route: [dest('a')] }] }));
  valid(virtualService({ hosts: ['10.1.2.3', '2001:db8::1'], http: [{ route: [dest('a')] }] }));
  for (const bad of ['reviews:9080', 'foo.*.com', 'foo*.bar.com', 'my_svc.x', 'a..b', '-a.com', 'x.123']) {
    invalidAt(virtualService({ hosts: [bad], http: [{ route: [dest('a')] }] }), 'spec.hosts[0]', /is not a valid host/);
  }
  for (const good of ['*foo.com', '*-foo.com', 'Reviews.Example.COM', 'reviews.shop.svc.cluster.local.']) {
    valid(virtualService({ hosts: [good], gateways: ['shop/gw'], http: [{ route: [dest('a')] }] }));
  }
});

test('hostsOverlap is symmetric and wildcard-aware', () => {
  const pairs: [string, string, boolean][] = [
    ['*.foo.bar', '*.bar', true], ['api.x.com', '*.x.com', true], ['a.com', 'b.com', false], ['*', 'anything', true],
    ['reviews', 'reviews.ns.svc.cluster.local', false], ['*.a.com', '*.b.com', false], ['Reviews', 'reviews', false],
  ];
  for (const [a, b, expected] of pairs) {
    assert.equal(hostsOverlap(a, b), expected, `${a} vs ${b}`);
    assert.equal(hostsOverlap(b, a), expected, `${b} vs ${a}`);
  }
});

test('destination hosts: no "*", no IP, no namespace/name; subsets are DNS labels; ports 1..65535', () => {
  invalidAt(httpRoute({ route: [dest('*')] }), 'spec.http[0].route[0].destination.host', /"\*" is not a destination/);
  invalidAt(httpRoute({ route: [dest('10.0.0.1')] }), 'spec.http[0].route[0].destination.host', /all digits/);
  invalidAt(httpRoute({ route: [dest('default/reviews')] }), 'spec.http[0].route[0].destination.host', /not a valid destination host/);
  valid(httpRoute({ route: [dest('*foo.baz')] }));
  invalidAt(httpRoute({ route: [dest('r', { subset: 'v1.0' })] }), 'spec.http[0].route[0].destination.subset', /subset name/);
  invalidAt(httpRoute({ route: [dest('r', { subset: 'v_1' })] }), 'spec.http[0].route[0].destination.subset', /subset name/);
  invalidAt(httpRoute({ route: [dest('r', { port: {} })] }), 'spec.http[0].route[0].destination.port.number', /port 0/);
  invalidAt(httpRoute({ route: [{ weight: 1 }] }), 'spec.http[0].route[0].destination', /required/);
  invalidAt(httpRoute({ route: [{ destination: {} }] }), 'spec.http[0].route[0].destination.host', /required/);
});

test('mirrors and mirror percentages', () => {
  valid(httpRoute({ mirror: { host: 'm' }, mirrorPercentage: { value: 100 } }));
  invalidAt(httpRoute({ mirror: { host: '*' } }), 'spec.http[0].mirror.host', /not a destination/);
  invalidAt(httpRoute({ mirror: { host: 'm' }, mirrorPercentage: { value: 101 } }), 'spec.http[0].mirrorPercentage.value', /more than 100/);
  invalidAt(httpRoute({ mirror: { host: 'm' }, mirrorPercentage: { value: -1 } }), 'spec.http[0].mirrorPercentage.value', /negative/);
  warnsAt(httpRoute({ mirror: { host: 'm' }, mirrorPercent: 5 }), 'spec.http[0].mirrorPercent', /deprecated/);
  warnsAt(httpRoute({ mirror: { host: 'm' }, mirror_percent: 5 }), 'spec.http[0].mirror_percent', /deprecated/);
  invalidAt(httpRoute({ mirror: { host: 'm' }, mirrorPercent: 101 }), 'spec.http[0].mirrorPercent', /more than 100/);
  invalidAt(httpRoute({ mirrors: [{ percentage: { value: 5 } }] }), 'spec.http[0].mirrors[0].destination', /required/);
  invalidAt(httpRoute({ mirrors: [{ destination: { host: 'm' }, percentage: { value: 150 } }] }), 'spec.http[0].mirrors[0].percentage.value', /more than 100/);
});

test('CORS: case-sensitive methods, non-empty origins, header tokens', () => {
  valid(httpRoute({ corsPolicy: { allowOrigins: [{ exact: 'https://a.com' }, { regex: 'https://.*\\.b\\.com' }], allowMethods: ['GET', 'POST'], allowHeaders: ['*', 'x-token'], allowCredentials: true } }));
  invalidAt(httpRoute({ corsPolicy: { allowMethods: ['get'] } }), 'spec.http[0].corsPolicy.allowMethods[0]', /"get"/);
  invalidAt(httpRoute({ corsPolicy: { allowOrigins: [{ prefix: '' }] } }), 'spec.http[0].corsPolicy.allowOrigins[0]', /non-empty/);
  invalidAt(httpRoute({ corsPolicy: { allowOrigins: [{}] } }), 'spec.http[0].corsPolicy.allowOrigins[0]', /non-empty/);
  invalidAt(httpRoute({ corsPolicy: { allowOrigins: [{ regex: '(' }] } }), 'spec.http[0].corsPolicy.allowOrigins[0].regex', /RE2/);
  invalidAt(httpRoute({ corsPolicy: { exposeHeaders: ['bad header'] } }), 'spec.http[0].corsPolicy.exposeHeaders[0]', /not a valid header name/);
  invalidAt(httpRoute({ corsPolicy: { allowHeaders: [''] } }), 'spec.http[0].corsPolicy.allowHeaders[0]', /empty/);
  valid(httpRoute({ corsPolicy: { allowOrigin: ['anything at all'] } }));
});

test('matches: empty prefix only for uri, RE2 regexes with a length cap, header names, ports, sources', () => {
  const m = (match: Record<string, unknown>) => httpRoute({ match: [match] });
  valid(m({ uri: { prefix: '' } }));
  for (const key of ['scheme', 'method', 'authority']) invalidAt(m({ [key]: { prefix: '' } }), `spec.http[0].match[0].${key}.prefix`, /empty/);
  invalidAt(m({ queryParams: { v: { prefix: '' } } }), 'spec.http[0].match[0].queryParams.v.prefix', /empty/);
  invalidAt(m({ withoutHeaders: { x: { prefix: '' } } }), 'spec.http[0].match[0].withoutHeaders.x.prefix', /empty/);
  invalidAt(m({ uri: { regex: '' } }), 'spec.http[0].match[0].uri.regex', /empty/);
  invalidAt(m({ uri: { regex: '*.html' } }), 'spec.http[0].match[0].uri.regex', /missing argument to repetition operator/);
  invalidAt(m({ uri: { regex: '(?=x)' } }), 'spec.http[0].match[0].uri.regex', /RE2/);
  invalidAt(m({ uri: { regex: 'a'.repeat(1025) } }), 'spec.http[0].match[0].uri.regex', /at most 1024/);
  valid(m({ uri: { regex: 'a'.repeat(1024) } }));
  invalidAt(m({ uri: { exact: '/a', prefix: '/b' } }), 'spec.http[0].match[0].uri', /only one of exact, prefix or regex/);
  valid(m({ withoutHeaders: { 'x-canary': { regex: '*' } } }));
  invalidAt(m({ headers: { 'x-canary': { regex: '*' } } }), 'spec.http[0].match[0].headers.x-canary.regex', /RE2/);
  valid(m({ headers: { ':authority': { exact: 'a' }, 'x-a': {} } }));
  invalidAt(m({ headers: { 'end user': { exact: 'jason' } } }), 'spec.http[0].match[0].headers["end user"]', /not a valid header name/);
  invalidAt(m({ headers: { x: null } }), 'spec.http[0].match[0].headers.x', /must not be null/);
  valid(m({ withoutHeaders: { x: null } }));
  invalidAt(m({ port: 70000 }), 'spec.http[0].match[0].port', /1 to 65535/);
  valid(m({ port: 0 }));
  invalidAt(m({ sourceLabels: { 'app!': 'x' } }), 'spec.http[0].match[0].sourceLabels["app!"]', /label key/);
  invalidAt(m({ sourceLabels: { app: 'x y' } }), 'spec.http[0].match[0].sourceLabels.app', /label value/);
  invalidAt(m({ sourceNamespace: 'bad_ns' }), 'spec.http[0].match[0].sourceNamespace', /namespace name/);
  invalidAt(m({ gateways: ['ns/*'] }), 'spec.http[0].match[0].gateways[0]', /gateway name/);
  invalidAt(httpRoute({ match: [null] }), 'spec.http[0].match[0]', /null/);
});

test('JWT claim routing needs a gateway other than mesh', () => {
  const claim = { headers: { '@request.auth.claims.group': { exact: 'admin' } } };
  invalidAt(httpRoute({ match: [claim] }), 'spec.http[0].match[0].headers["@request.auth.claims.group"]', /gateways/);
  invalidAt(httpRoute({ match: [claim] }, { gateways: ['mesh'] }), 'spec.http[0].match[0].headers["@request.auth.claims.group"]', /gateways/);
  invalidAt(httpRoute({ match: [claim] }, { gateways: ['shop/gw', 'mesh'] }), 'spec.http[0].match[0].headers["@request.auth.claims.group"]', /mesh/);
  valid(httpRoute({ match: [claim] }, { gateways: ['shop/gw'] }));
  valid(httpRoute({ match: [{ headers: { '@request.auth.claims[group]': { exact: 'admin' } } }] }, { gateways: ['shop/gw'] }));
});

test('header operations: pseudo-headers, Host, values, authority set once', () => {
  const h = (headers: Record<string, unknown>, extra: Record<string, unknown> = {}) => httpRoute({ headers, ...extra });
  valid(h({ request: { set: { ':authority': 'a', 'x-a': '%HOSTNAME%', 'x-b': '100%%' }, add: { 'x-c': 'c' }, remove: ['x-d'] }, response: { set: { 'x-e': 'e' } } }));
  valid(h({ request: { set: { Host: 'a' } } }));
  invalidAt(h({ request: { set: { ':path': '/v2' } } }), 'spec.http[0].headers.request.set[":path"]', /pseudo-headers/);
  invalidAt(h({ response: { set: { Host: 'a' } } }), 'spec.http[0].headers.response.set.Host', /Host header/);
  invalidAt(h({ request: { remove: ['host'] } }), 'spec.http[0].headers.request.remove[0]', /Host header/);
  invalidAt(h({ response: { add: { '': 'a' } } }), 'spec.http[0].headers.response.add[""]', /empty/);
  warnsAt(h({ response: { add: { 'bad name': 'a' } } }), 'spec.http[0].headers.response.add["bad name"]', /not a valid header name/);
  invalidAt(h({ request: { set: { 'x-a': 'abc%123' } } }), 'spec.http[0].headers.request.set.x-a', /unterminated/);
  invalidAt(h({ request: { set: { 'x-a': '100%' } } }), 'spec.http[0].headers.request.set.x-a', /single "%"/);
  invalidAt(h({ request: { set: { 'x-a': 'a\nb' } } }), 'spec.http[0].headers.request.set.x-a', /control character/);
  invalidAt(h({ request: { set: { ':authority': 'foo' } } }, { rewrite: { authority: 'bar' } }), 'spec.http[0].headers.request.set[":authority"]', /"foo".*already sets it to "bar"/);
  invalidAt(h({ request: { set: { host: 'a' }, add: { ':authority': 'b' } } }), 'spec.http[0].headers.request.add[":authority"]', /already sets/);
  invalidAt(httpRoute({ route: [{ ...dest('a'), headers: { response: { set: { ':status': '200' } } } }] }), 'spec.http[0].route[0].headers.response.set[":status"]', /pseudo-headers/);
});

test('delegates, gateways, required routes, exportTo', () => {
  valid(virtualService({ http: [{ route: [dest('a')] }] }));
  invalidAt(virtualService({ gateways: ['gw'], http: [{ route: [dest('a')] }] }), 'spec.gateways', /delegate/);
  invalidAt(virtualService({ tcp: [{ route: [dest('a')] }] }), 'spec.tcp', /delegate/);
  invalidAt(virtualService({ http: [{ delegate: { name: 'x' } }] }), 'spec.http[0].delegate', /cannot delegate again/);
  invalidAt(virtualService({ hosts: ['a'] }), 'spec', /http, tcp or tls/);
  invalidAt(virtualService({ hosts: ['a'], http: [null] }), 'spec.http[0]', /null/);
  for (const gw of ['ns/', '/gw', 'ns/*', '*/gw', 'a/b/c', '*', '*.gw', '123', 'gw_1']) invalidAt(httpRoute({}, { gateways: [gw] }), 'spec.gateways[0]', /./);
  valid(httpRoute({}, { gateways: ['mesh', 'my-gw', 'istio-system/ingress'] }));
  // Upstream quirk: nothing after the first short name is checked.
  warnsAt(httpRoute({}, { gateways: ['my-gw', 'ns/*'] }), 'spec.gateways[1]', /stops checking/);
  invalidAt(httpRoute({}, { gateways: ['ns/*', 'my-gw'] }), 'spec.gateways[0]', /gateway name/);
  warnsAt(httpRoute({}, { gateways: ['gw.istio-system'] }), 'spec.gateways[0]', /legacy.*"istio-system\/gw"/);
  valid(httpRoute({}, { exportTo: ['.', 'other'] }));
  valid(httpRoute({}, { exportTo: ['*'] }));
  invalidAt(httpRoute({}, { exportTo: ['~'] }), 'spec.exportTo[0]', /not allowed/);
  invalidAt(httpRoute({}, { exportTo: ['*', '.'] }), 'spec.exportTo', /cannot combine/);
  invalidAt(httpRoute({}, { exportTo: ['.', 'shop'] }), 'spec.exportTo[1]', /duplicate/);
  invalidAt(httpRoute({}, { exportTo: ['Bad_NS'] }), 'spec.exportTo[0]', /namespace name/);
});

test('metadata and top level: dry-run and internal annotations, unknown top-level fields', () => {
  invalidAt({ ...httpRoute({}), metadata: { name: 'vs', namespace: 'shop', annotations: { 'istio.io/dry-run': 'true' } } }, 'metadata.annotations["istio.io/dry-run"]', /only supported on AuthorizationPolicy/);
  invalidAt({ ...httpRoute({}), metadata: { name: 'vs', namespace: 'shop', annotations: { 'internal.istio.io/parents': 'x' } } }, 'metadata.annotations["internal.istio.io/parents"]', /reserved/);
  invalidAt({ ...httpRoute({}), routing: {} }, 'routing', /unknown top-level field/);
  valid({ ...httpRoute({}), status: { observedGeneration: 1 } });
});

test('TCP and TLS routes', () => {
  const tcp = (route: Record<string, unknown>) => virtualService({ hosts: ['db'], tcp: [route] });
  valid(tcp({ match: [{ port: 27017, destinationSubnets: ['10.0.0.0/8', '10.1.2.3', '2001:db8::/32'] }], route: [dest('db', { port: { number: 5555 } })] }));
  invalidAt(tcp({ match: [{ port: 1 }] }), 'spec.tcp[0].route', /required/);
  invalidAt(tcp({ match: [{ destinationSubnets: ['10.0.0.0/33'] }], route: [dest('db')] }), 'spec.tcp[0].match[0].destinationSubnets[0]', /CIDR/);
  invalidAt(tcp({ match: [{ destinationSubnets: ['10.0.0.256'] }], route: [dest('db')] }), 'spec.tcp[0].match[0].destinationSubnets[0]', /IP address/);
  warnsAt(tcp({ match: [{ sourceNamespace: 'bad_ns' }], route: [dest('db')] }), 'spec.tcp[0].match[0].sourceNamespace', /never applies/);
  const tls = (route: Record<string, unknown>) => virtualService({ hosts: ['*.shop.com'], gateways: ['gw'], tls: [route] });
  valid(tls({ match: [{ sniHosts: ['a.shop.com', '*.shop.com'] }], route: [dest('a')] }));
  invalidAt(tls({ route: [dest('a')] }), 'spec.tls[0].match', /required/);
  invalidAt(tls({ match: [{ port: 443 }], route: [dest('a')] }), 'spec.tls[0].match[0].sniHosts', /required/);
  invalidAt(tls({ match: [{ sniHosts: ['a.other.com'] }], route: [dest('a')] }), 'spec.tls[0].match[0].sniHosts[0]', /not covered/);
  invalidAt(tls({ match: [{ sniHosts: ['a.shop.com'] }] }), 'spec.tls[0].route', /required/);
  warnsAt(tls({ match: [{ sniHosts: ['10.0.0.1'] }], route: [dest('a')] }), 'spec.tls[0].match[0].sniHosts[0]', /IP address/);
});

test('unreachable rules and duplicate matches only warn', () => {
  warnsAt(virtualService({ hosts: ['r'], http: [{ route: [dest('a')] }, { route: [dest('b')] }] }), 'spec.http[1]', /never used: only the last rule/);
  warnsAt(virtualService({ hosts: ['r'], http: [{ route: [dest('a')] }, { match: [{ uri: { prefix: '/' } }], route: [dest('b')] }] }), 'spec.http[1]', /never used/);
  const dup = { uri: { exact: '/a' } };
  const outcome = warnsAt(virtualService({ hosts: ['r'], http: [{ match: [dup], route: [dest('a')] }, { match: [{ ...dup, name: 'x' }], route: [dest('b')] }, { route: [dest('c')] }] }), 'spec.http[1].match[0]', /same match/);
  assert.ok(outcome.warnings.some((w) => w.startsWith('spec.http[1]: ') && /all its matches/.test(w)));
  noWarnings(virtualService({ hosts: ['r'], http: [{ match: [{ uri: { exact: '/a' } }], route: [dest('a')] }, { route: [dest('b')] }] }));
});

function stateWith(rules: KubeObject[]): ClusterState {
  return {
    synced: () => true,
    waitForSync: async () => {},
    getNamespace: async () => undefined,
    list: (kind, namespace) => (kind === 'DestinationRule' ? rules.filter((r) => r.metadata?.namespace === namespace) : undefined),
    serverVersion: () => undefined,
    close: async () => {},
  };
}

test('with cluster state: warn about subsets no DestinationRule defines', () => {
  const clusterState = stateWith([
    { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'r', namespace: 'shop' }, spec: { host: 'reviews', subsets: [{ name: 'v1', labels: { version: 'v1' } }] } },
  ]);
  noWarnings(httpRoute({ route: [dest('reviews', { subset: 'v1' })] }), { clusterState });
  noWarnings(httpRoute({ route: [dest('reviews.shop.svc.cluster.local', { subset: 'v1' })] }), { clusterState });
  warnsAt(httpRoute({ route: [dest('reviews', { subset: 'v3' })] }), 'spec.http[0].route[0].destination.subset', /no DestinationRule for "reviews" defines subset "v3"/, { clusterState });
  warnsAt(httpRoute({ route: [dest('ratings', { subset: 'v1' })] }), 'spec.http[0].route[0].destination.subset', /no DestinationRule/, { clusterState });
  noWarnings(httpRoute({ route: [dest('reviews', { subset: 'v3' })] }));
});

test('unknown spec fields (which the API server drops) are named in warnings', () => {
  warnsAt(httpRoute({ timout: '1s' }), 'spec.http[0].timout', /unknown field "timout".*drops it/);
  warnsAt(httpRoute({ route: [{ destination: { host: 'a', subsets: 'v1' } }] }), 'spec.http[0].route[0].destination.subsets', /unknown field/);
  warnsAt(httpRoute({ match: [{ headers: { x: { exact: 'a', regx: 'b' } } }] }), 'spec.http[0].match[0].headers.x.regx', /unknown field/);
  warnsAt(virtualService({ host: ['a'], hosts: ['a'], http: [{ route: [{ destination: { host: 'a' } }] }] }), 'spec.host', /unknown field/);
});

test('delegation: regex matches are allowed on both sides (Istio dropped that restriction)', () => {
  valid(virtualService({ http: [{ match: [{ uri: { regex: '/a.*' } }], route: [dest('a')] }] }));
  valid(httpRoute({ route: undefined, delegate: { name: 'child' }, match: [{ headers: { x: { regex: 'a+' } } }] }));
});

test('overlapping prefixes and unreachable TCP/TLS rules only warn', () => {
  const rule = (prefix: string, host: string) => ({ match: [{ uri: { prefix } }], route: [dest(host)] });
  warnsAt(virtualService({ hosts: ['r'], http: [rule('/debug', 'a'), rule('/debugs', 'b')] }), 'spec.http[1].match[0]', /prefix "\/debugs" is already caught by prefix "\/debug"/);
  noWarnings(virtualService({ hosts: ['r'], http: [rule('/debugs', 'a'), rule('/debug', 'b')] }));
  noWarnings(virtualService({ hosts: ['r'], http: [rule('/a', 'a'), { match: [{ uri: { prefix: '/ab' }, headers: { x: { exact: 'y' } } }], route: [dest('b')] }] }));
  warnsAt(virtualService({ hosts: ['db'], tcp: [{ route: [dest('a')] }, { match: [{ port: 1 }], route: [dest('b')] }] }), 'spec.tcp[1]', /never used/);
  warnsAt(virtualService({ hosts: ['db'], tcp: [{ match: [{ port: 1 }], route: [dest('a')] }, { match: [{ port: 1 }], route: [dest('b')] }] }), 'spec.tcp[1].match[0]', /same match/);
});

test('Envoy header value formatting, as Envoy parses it', async () => {
  const { envoyFormatProblem } = await import('../../src/validate/http-headers.ts');
  for (const ok of ['', 'foo', '%HOSTNAME%', '100%%', 'a %HOSTNAME% b', '%REQ(x-foo)%', '%REQ(a%b)%', '%PER_REQUEST_STATE(["a.b"])%', '%X( ["a", "b"] )%', '%START_TIME(%s)%']) {
    assert.equal(envoyFormatProblem(ok), undefined, ok);
  }
  for (const bad of ['abc%123', '%', 'x%', '%START_TIME%%', '%X([1])%', '%X(["a" x])%', '%X(["a"] x)%', '%X(a) x%', '%X("a\\']) {
    assert.notEqual(envoyFormatProblem(bad), undefined, bad);
  }
});
