import { RE2JS } from 're2js';

// Patterns from user objects are only ever parsed by re2js (a linear-time RE2 port) and never
// handed to JavaScript's backtracking RegExp: a crafted pattern must not stall the event loop.

/** Istio's cap on regex length; also used for ServiceProfile paths so parse time stays bounded. */
export const MAX_REGEX_LENGTH = 1024;

// The same few patterns arrive again and again (every UPDATE of an object resends them), and
// compiling is the most expensive step of a validation, so remember recent answers.
const CACHE_SIZE = 512;
const cache = new Map<string, string | undefined>();

/** What is wrong with the pattern as RE2 syntax, or undefined when it compiles. */
export function re2Problem(pattern: string, maxLength: number = MAX_REGEX_LENGTH): string | undefined {
  if (pattern.length > maxLength) return `regex is ${pattern.length} characters long, at most ${maxLength} are allowed`;
  if (cache.has(pattern)) return cache.get(pattern);
  let problem: string | undefined;
  try {
    RE2JS.compile(pattern);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    problem = `not a valid RE2 regular expression (${message})`;
  }
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  cache.set(pattern, problem);
  return problem;
}
