// Collects every violation and warning of one object, each tied to the field path it is about,
// so a user sees all problems at once instead of fixing them one round trip at a time.

export interface FieldViolation {
  path: string;
  message: string;
}

/** Past this many, further findings are summarised: a hostile object must not produce megabytes of errors. */
export const MAX_FINDINGS = 100;

export class Findings {
  readonly violations: FieldViolation[] = [];
  readonly warnings: string[] = [];
  #droppedErrors = 0;
  #droppedWarnings = 0;

  error(path: string, message: string): void {
    if (this.violations.length < MAX_FINDINGS) this.violations.push({ path, message });
    else this.#droppedErrors++;
  }

  warn(path: string, message: string): void {
    if (this.warnings.length < MAX_FINDINGS) this.warnings.push(path === '' ? message : `${path}: ${message}`);
    else this.#droppedWarnings++;
  }

  get errorCount(): number {
    return this.violations.length + this.#droppedErrors;
  }

  /** Closes the lists, noting how many findings did not fit. */
  finish(): { violations: FieldViolation[]; warnings: string[] } {
    const violations = [...this.violations];
    const warnings = [...this.warnings];
    if (this.#droppedErrors > 0) violations.push({ path: '', message: `and ${this.#droppedErrors} more violations` });
    if (this.#droppedWarnings > 0) warnings.push(`and ${this.#droppedWarnings} more warnings`);
    return { violations, warnings };
  }
}

const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** `base.key`, or `base["odd key"]` when the key would make the path ambiguous (map keys such as header names). */
export function field(base: string, key: string): string {
  if (PLAIN_KEY.test(key)) return base === '' ? key : `${base}.${key}`;
  return `${base}[${JSON.stringify(key.length > 80 ? key.slice(0, 80) + '…' : key)}]`;
}

export function item(base: string, index: number): string {
  return `${base}[${index}]`;
}

/** A value quoted for a message, cut short so huge inputs do not produce huge messages. */
export function quote(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  if (text.length > 120) text = text.slice(0, 120) + '…';
  return JSON.stringify(text);
}
