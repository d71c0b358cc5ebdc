import type { ProxyInitSettings } from './config.ts';
import { binaries, describeRunFailure, resolveBackend, type Backend, type BackendChoice } from './backend.ts';
import { capabilityAdvice, isPermissionError, missingOwnCapabilities } from './capabilities.ts';
import type { Runner } from './exec.ts';
import { checkApplied, restoreScript, type Family } from './rules.ts';

// The I/O around rules.ts: read the current nat table, feed the script to iptables-restore,
// read the table back and check it.

export class ProxyInitError extends Error {
  override name = 'ProxyInitError';
}

export interface FamilyPlan {
  family: Family;
  save: string;
  restore: string;
  /** The iptables-restore --noflush input. */
  script: string;
  /** Set when the current table could not be read (dry run only) and was taken as empty. */
  readProblem?: string;
}

export interface Plan {
  backend: Backend;
  backendReason: string;
  families: FamilyPlan[];
}

export function familiesOf(settings: ProxyInitSettings): Family[] {
  return settings.ipv6 ? [4, 6] : [4];
}

function permissionAware(message: string, stderr: string): ProxyInitError {
  return new ProxyInitError(isPermissionError(stderr) ? `${message}; ${capabilityAdvice(['NET_ADMIN', 'NET_RAW'])}` : message);
}

/**
 * Works out the scripts to apply. With `lenient` (dry runs, which must work without
 * privileges) an unreadable table or unresolvable backend is noted instead of fatal.
 */
export async function plan(settings: ProxyInitSettings, run: Runner, lenient = false): Promise<Plan> {
  let choice: BackendChoice;
  const resolved = await resolveBackend(run, settings.iptablesMode);
  if ('problem' in resolved) {
    if (!lenient) throw permissionAware(resolved.problem, resolved.problem);
    choice = { backend: 'nft', reason: `auto could not probe (${resolved.problem}); showing nft` };
  } else {
    choice = resolved;
  }
  const families: FamilyPlan[] = [];
  for (const family of familiesOf(settings)) {
    const { save, restore } = binaries(choice.backend, family);
    const current = await run(save, ['-t', 'nat']);
    let readProblem: string | undefined;
    let currentSave = current.stdout;
    if (current.code !== 0) {
      readProblem = describeRunFailure(save, current);
      if (!lenient) throw permissionAware(`cannot read the nat table: ${readProblem}`, current.stderr);
      currentSave = '';
    }
    families.push({ family, save, restore, script: restoreScript(settings, family, currentSave), ...(readProblem ? { readProblem } : {}) });
  }
  return { backend: choice.backend, backendReason: choice.reason, families };
}

/** Text for --dry-run: valid iptables-restore input per family, headed by comment lines. */
export function formatPlan(p: Plan): string {
  const parts: string[] = [];
  for (const f of p.families) {
    const header = [`# ${f.restore} --noflush (backend ${p.backend}: ${p.backendReason})`];
    if (f.readProblem) header.push(`# current table unreadable (${f.readProblem}); assumed empty`);
    parts.push(`${header.join('\n')}\n${f.script}`);
  }
  return parts.join('\n');
}

export interface ApplyReport {
  backend: Backend;
  backendReason: string;
  families: { family: Family; restore: string; rules: number; script: string }[];
}

export async function apply(settings: ProxyInitSettings, run: Runner, missingCapabilities: () => Promise<string[]> = missingOwnCapabilities): Promise<ApplyReport> {
  const missing = await missingCapabilities();
  if (missing.length > 0) throw new ProxyInitError(capabilityAdvice(missing));
  const p = await plan(settings, run);
  const report: ApplyReport = { backend: p.backend, backendReason: p.backendReason, families: [] };
  for (const f of p.families) {
    const result = await run(f.restore, ['--noflush', '-w', '5'], f.script);
    if (result.code !== 0) {
      throw permissionAware(`applying the rules failed: ${describeRunFailure(f.restore, result)}`, result.stderr);
    }
    const after = await run(f.save, ['-t', 'nat']);
    if (after.code !== 0) throw new ProxyInitError(`reading the rules back failed: ${describeRunFailure(f.save, after)}`);
    const check = checkApplied(after.stdout);
    if (!check.ok) throw new ProxyInitError(`the nat table is not as expected after applying: ${check.problems.join('; ')}`);
    report.families.push({ family: f.family, restore: f.restore, rules: f.script.split('\n').filter((l) => l.startsWith('-A ')).length, script: f.script });
  }
  return report;
}
