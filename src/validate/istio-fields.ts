import { isRecord } from '../kube/types.ts';
import type { Findings } from './collector.ts';
import { field, item, quote } from './collector.ts';

// The field names of Istio's VirtualService and AuthorizationPolicy specs. The webhook accepts
// unknown fields and the API server prunes them (or kubectl refuses them with strict field
// validation), so a typo silently loses a setting: weft names it in a warning.

type Shape = { object: Record<string, Shape | null> } | { list: Shape } | { map: Shape };

/** A leaf value (string, number, bool, list of scalars, map of scalars). */
const LEAF = null;
const obj = (fields: Record<string, Shape | null>): Shape => ({ object: fields });
const list = (of: Shape): Shape => ({ list: of });
const map = (of: Shape): Shape => ({ map: of });

const stringMatch = obj({ exact: LEAF, prefix: LEAF, regex: LEAF });
const percent = obj({ value: LEAF });
const portSelector = obj({ number: LEAF });
const destination = obj({ host: LEAF, subset: LEAF, port: portSelector });
const headerOps = obj({ set: LEAF, add: LEAF, remove: LEAF });
const headers = obj({ request: headerOps, response: headerOps });
const routeDestination = obj({ destination, weight: LEAF });
const l4Fields = { destinationSubnets: LEAF, port: LEAF, sourceLabels: LEAF, gateways: LEAF, sourceNamespace: LEAF, sourceSubnet: LEAF };

const httpRoute = obj({
  name: LEAF,
  match: list(obj({
    name: LEAF, uri: stringMatch, scheme: stringMatch, method: stringMatch, authority: stringMatch, headers: map(stringMatch), port: LEAF,
    sourceLabels: LEAF, gateways: LEAF, queryParams: map(stringMatch), ignoreUriCase: LEAF, withoutHeaders: map(stringMatch), sourceNamespace: LEAF, statPrefix: LEAF,
  })),
  route: list(obj({ destination, weight: LEAF, headers })),
  redirect: obj({ uri: LEAF, authority: LEAF, port: LEAF, derivePort: LEAF, scheme: LEAF, redirectCode: LEAF }),
  directResponse: obj({ status: LEAF, body: obj({ string: LEAF, bytes: LEAF }) }),
  delegate: obj({ name: LEAF, namespace: LEAF }),
  rewrite: obj({ uri: LEAF, authority: LEAF, uriRegexRewrite: obj({ match: LEAF, rewrite: LEAF }) }),
  timeout: LEAF,
  retries: obj({ attempts: LEAF, perTryTimeout: LEAF, retryOn: LEAF, retryRemoteLocalities: LEAF, retryIgnorePreviousHosts: LEAF, backoff: LEAF }),
  fault: obj({
    delay: obj({ fixedDelay: LEAF, exponentialDelay: LEAF, percentage: percent, percent: LEAF }),
    abort: obj({ httpStatus: LEAF, grpcStatus: LEAF, http2Error: LEAF, percentage: percent }),
  }),
  mirror: destination,
  mirrors: list(obj({ destination, percentage: percent })),
  mirrorPercent: LEAF,
  mirror_percent: LEAF,
  mirrorPercentage: percent,
  corsPolicy: obj({
    allowOrigin: LEAF, allowOrigins: list(stringMatch), allowMethods: LEAF, allowHeaders: LEAF, exposeHeaders: LEAF, maxAge: LEAF, allowCredentials: LEAF, unmatchedPreflights: LEAF,
  }),
  headers,
});

export const VIRTUAL_SERVICE_SPEC: Shape = obj({
  hosts: LEAF,
  gateways: LEAF,
  http: list(httpRoute),
  tls: list(obj({ match: list(obj({ sniHosts: LEAF, ...l4Fields })), route: list(routeDestination) })),
  tcp: list(obj({ match: list(obj(l4Fields)), route: list(routeDestination) })),
  exportTo: LEAF,
});

const targetRef = obj({ group: LEAF, kind: LEAF, name: LEAF, namespace: LEAF });

export const AUTHORIZATION_POLICY_SPEC: Shape = obj({
  selector: obj({ matchLabels: LEAF }),
  targetRef,
  targetRefs: list(targetRef),
  action: LEAF,
  provider: obj({ name: LEAF }),
  rules: list(obj({
    from: list(obj({ source: LEAF })), // source and operation keys are checked with their values
    to: list(obj({ operation: LEAF })),
    when: list(obj({ key: LEAF, values: LEAF, notValues: LEAF })),
  })),
});

/** Warns about every key the shape does not know; bounded by the object's own size. */
export function warnUnknownFields(f: Findings, value: unknown, shape: Shape, path: string): void {
  if ('list' in shape) {
    if (Array.isArray(value)) value.forEach((v, i) => warnUnknownFields(f, v, shape.list, item(path, i)));
    return;
  }
  if (!isRecord(value)) return;
  if ('map' in shape) {
    for (const [k, v] of Object.entries(value)) warnUnknownFields(f, v, shape.map, field(path, k));
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    if (!Object.hasOwn(shape.object, k)) {
      f.warn(field(path, k), `unknown field ${quote(k)}: the API server drops it (kubectl --validate=strict refuses it), so it has no effect; expected one of ${Object.keys(shape.object).join(', ')}`);
      continue;
    }
    const child = shape.object[k];
    if (child !== null) warnUnknownFields(f, v, child, field(path, k));
  }
}
