import type { IptablesMode } from './config.ts';
import type { Family } from './rules.ts';
import { hasOurChains, natRulesOf } from './rules.ts';
import type { Runner } from './exec.ts';

// Which iptables to drive. Both backends can hold rules at the same time, and the kernel runs
// both, so what matters is agreeing with whatever already programs this namespace (a CNI
// plugin, an earlier proxy-init): auto picks the backend that already has rules, the one with
// our chains first, and nft when the table is empty, as Kubernetes' iptables-wrapper does.

export type Backend = 'nft' | 'legacy';

export interface Binaries {
  save: string;
  restore: string;
}

export function binaries(backend: Backend, family: Family): Binaries {
  const base = family === 4 ? 'iptables' : 'ip6tables';
  return { save: `${base}-${backend}-save`, restore: `${base}-${backend}-restore` };
}

export interface BackendProbe {
  /** The save program ran and printed a nat table. */
  works: boolean;
  ruleCount: number;
  ours: boolean;
  /** Why it does not work (not installed, kernel without support, permission). */
  problem?: string;
}

export interface BackendChoice {
  backend: Backend;
  reason: string;
}

/** Pure: picks a backend from what probing both found. */
export function chooseBackend(nft: BackendProbe, legacy: BackendProbe): BackendChoice | { problem: string } {
  if (!nft.works && !legacy.works) {
    return { problem: `no iptables backend works: nft: ${nft.problem ?? 'unknown error'}; legacy: ${legacy.problem ?? 'unknown error'}` };
  }
  if (!legacy.works) return { backend: 'nft', reason: `legacy unusable (${legacy.problem ?? 'unknown error'})` };
  if (!nft.works) return { backend: 'legacy', reason: `nft unusable (${nft.problem ?? 'unknown error'})` };
  if (nft.ours !== legacy.ours) return nft.ours ? { backend: 'nft', reason: 'nft already holds proxy-init chains' } : { backend: 'legacy', reason: 'legacy already holds proxy-init chains' };
  if (legacy.ruleCount > nft.ruleCount) return { backend: 'legacy', reason: `legacy holds more nat rules (${legacy.ruleCount} vs ${nft.ruleCount})` };
  return { backend: 'nft', reason: nft.ruleCount > 0 ? `nft holds at least as many nat rules (${nft.ruleCount} vs ${legacy.ruleCount})` : 'both tables empty; nft is the default' };
}

export function describeRunFailure(program: string, result: { code: number | null; stderr: string; error?: NodeJS.ErrnoException }): string {
  if (result.error?.code === 'ENOENT') return `${program} is not installed (Debian/Alpine package "iptables")`;
  if (result.error) return `${program} could not start: ${result.error.message}`;
  const text = result.stderr.trim().split('\n').slice(0, 3).join(' / ');
  return `${program} exited ${result.code ?? 'by a signal'}${text ? `: ${text}` : ''}`;
}

export async function probeBackend(run: Runner, backend: Backend, family: Family): Promise<BackendProbe> {
  const { save } = binaries(backend, family);
  const result = await run(save, ['-t', 'nat']);
  if (result.code !== 0 || !/^\*nat$/m.test(result.stdout)) {
    return { works: false, ruleCount: 0, ours: false, problem: describeRunFailure(save, result) };
  }
  return { works: true, ruleCount: natRulesOf(result.stdout).length, ours: hasOurChains(result.stdout) };
}

/** Resolves `auto` by probing the IPv4 tables; a named mode is taken as it is. */
export async function resolveBackend(run: Runner, mode: IptablesMode): Promise<BackendChoice | { problem: string }> {
  if (mode !== 'auto') return { backend: mode, reason: `--iptables-mode=${mode}` };
  const [nft, legacy] = await Promise.all([probeBackend(run, 'nft', 4), probeBackend(run, 'legacy', 4)]);
  return chooseBackend(nft, legacy);
}
