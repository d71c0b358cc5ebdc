import { RE2JS } from 're2js';

// Patterns from user objects are only ever parsed by re2js (a linear-time RE2 port) and never
// handed to JavaScript's backtracking RegExp: a crafted pattern must not stall the event loop.

/** Istio's cap on regex length; also used for ServiceProfile paths so parse time stays bounded. */
export const MAX_REGEX_LENGTH = 1024;

/** What is wrong with the pattern as RE2 syntax, or undefined when it compiles. */
export function re2Problem(pattern: string, maxLength: number = MAX_REGEX_LENGTH): string | undefined {
  if (pattern.length > maxLength) return `regex is ${pattern.length} characters long, at most ${maxLength} are allowed`;
  try {
    RE2JS.compile(pattern);
    return undefined;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return `not a valid RE2 regular expression (${message})`;
  }
}
