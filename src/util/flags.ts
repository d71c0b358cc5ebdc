import { parseArgs } from 'node:util';

// A thin typed layer over node:util parseArgs: every command declares its flags once, and the
// same declaration validates them, prints --help, and lets tests (and the chart tests) check
// that a command line is one the command accepts.

export type FlagSpec =
  | { type: 'string'; default?: string; help: string; env?: string }
  | { type: 'boolean'; default?: boolean; help: string; env?: string }
  | { type: 'list'; default?: string[]; help: string; env?: string };

export type FlagSpecs = Record<string, FlagSpec>;

type ValueOf<S extends FlagSpec> = S extends { type: 'boolean' } ? boolean : S extends { type: 'list' } ? string[] : string | undefined;

export type ParsedFlags<S extends FlagSpecs> = { [K in keyof S]: ValueOf<S[K]> };

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface Parsed<S extends FlagSpecs> {
  flags: ParsedFlags<S>;
  positionals: string[];
  help: boolean;
}

export function parseFlags<S extends FlagSpecs>(specs: S, argv: readonly string[], env: NodeJS.ProcessEnv = {}): Parsed<S> {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = { help: { type: 'boolean' } };
  for (const [name, spec] of Object.entries(specs)) {
    options[name] = spec.type === 'list' ? { type: 'string', multiple: true } : { type: spec.type };
  }
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true }));
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/^.*?: /, ''));
  }
  const flags: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const raw = values[name];
    const fromEnv = spec.env !== undefined ? env[spec.env] : undefined;
    if (spec.type === 'list') {
      const list = (raw as string[] | undefined) ?? (fromEnv !== undefined ? [fromEnv] : spec.default ?? []);
      flags[name] = list.flatMap((item) => item.split(',')).map((item) => item.trim()).filter((item) => item !== '');
    } else if (spec.type === 'boolean') {
      flags[name] = raw !== undefined ? raw : fromEnv !== undefined ? fromEnv === 'true' || fromEnv === '1' : spec.default ?? false;
    } else {
      flags[name] = raw !== undefined ? raw : fromEnv ?? spec.default;
    }
  }
  return { flags: flags as ParsedFlags<S>, positionals, help: values.help === true };
}

export function formatHelp(usage: string, specs: FlagSpecs): string {
  const lines = [usage, '', 'Flags:'];
  for (const [name, spec] of Object.entries(specs)) {
    const def = spec.default === undefined || (Array.isArray(spec.default) && spec.default.length === 0) ? '' : ` (default ${JSON.stringify(spec.default)})`;
    const env = spec.env ? ` [$${spec.env}]` : '';
    const flag = `  --${name}${spec.type === 'boolean' ? '' : ' VALUE'}`;
    lines.push(`${flag.padEnd(34)}${flag.length >= 34 ? ' ' : ''}${spec.help}${def}${env}`);
  }
  return lines.join('\n') + '\n';
}

/** Writes a command's --help text; returns the exit status, so a command can `return printHelp(...)`. */
export function printHelp(usage: string, specs: FlagSpecs, write: (text: string) => unknown = (text) => process.stdout.write(text)): number {
  write(formatHelp(usage, specs));
  return 0;
}

export function intFlag(value: string | undefined, name: string, min: number, max: number): number {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name}: expected a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** One of a closed set of values, or a UsageError that lists them. */
export function choiceFlag<T extends string>(value: string | undefined, name: string, choices: readonly T[]): T {
  if (value !== undefined && (choices as readonly string[]).includes(value)) return value as T;
  const listed = choices.length > 1 ? `${choices.slice(0, -1).join(', ')} or ${choices.at(-1)}` : choices.join('');
  throw new UsageError(`--${name}: expected ${listed}, got ${JSON.stringify(value)}`);
}
