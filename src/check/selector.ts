import { isRecord } from '../kube/types.ts';

// Kubernetes label-selector semantics, to answer "would the API server send this pod to the
// injector?" from the webhook's own namespaceSelector and objectSelector: matchLabels AND
// matchExpressions; a missing key satisfies NotIn and DoesNotExist; no selector matches all.

export function selectorMatches(selector: unknown, labels: Readonly<Record<string, string>>): boolean {
  if (!isRecord(selector)) return true;
  const matchLabels = isRecord(selector.matchLabels) ? selector.matchLabels : {};
  for (const [key, value] of Object.entries(matchLabels)) {
    if (labels[key] !== value) return false;
  }
  const expressions = Array.isArray(selector.matchExpressions) ? selector.matchExpressions.filter(isRecord) : [];
  for (const req of expressions) {
    const key = typeof req.key === 'string' ? req.key : '';
    const has = Object.hasOwn(labels, key);
    const values = Array.isArray(req.values) ? req.values.filter((v): v is string => typeof v === 'string') : [];
    switch (req.operator) {
      case 'In':
        if (!has || !values.includes(labels[key]!)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(labels[key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        // The API server refuses unknown operators, so such a selector never matched anything.
        return false;
    }
  }
  return true;
}
