import type { Findings } from './collector.ts';
import type { Obj } from './json.ts';
export function validateAuthorizationPolicy(_object: Obj, _f: Findings): void {}
