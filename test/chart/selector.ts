// The chart tests evaluate the rendered selectors with the same code `weft check` uses.
export { selectorMatches } from '../../src/check/selector.ts';

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}
