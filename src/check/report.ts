import type { CheckResult, CheckStatus } from './types.ts';

// How results are shown: pass/warn/fail lines grouped by category for people, one JSON document
// for automation. Exit status: non-zero when anything failed; warnings alone do not fail.

const MARK: Record<CheckStatus, string> = { pass: '√', warn: '‼', fail: '×' };

export interface Summary {
  pass: number;
  warn: number;
  fail: number;
}

export function summarize(results: readonly CheckResult[]): Summary {
  const summary: Summary = { pass: 0, warn: 0, fail: 0 };
  for (const r of results) summary[r.status]++;
  return summary;
}

export function exitCode(results: readonly CheckResult[]): number {
  return results.some((r) => r.status === 'fail') ? 1 : 0;
}

export function formatText(results: readonly CheckResult[], namespace: string): string {
  const lines: string[] = [];
  let category = '';
  for (const r of results) {
    if (r.category !== category) {
      if (category !== '') lines.push('');
      category = r.category;
      lines.push(category, '-'.repeat(category.length));
    }
    lines.push(`${MARK[r.status]} ${r.description}${r.status === 'pass' ? '' : ` [${r.status}]`}`);
    lines.push(`    ${r.message}`);
    if (r.hint) for (const hint of r.hint.split('\n')) lines.push(`    fix: ${hint}`);
  }
  const s = summarize(results);
  lines.push('', `Status check results (namespace ${namespace}): ${s.pass} passed, ${s.warn} warning${s.warn === 1 ? '' : 's'}, ${s.fail} failed: ${s.fail > 0 ? 'FAIL' : 'OK'}`);
  return lines.join('\n') + '\n';
}

export function formatJSON(results: readonly CheckResult[], namespace: string): string {
  return JSON.stringify({ success: exitCode(results) === 0, namespace, summary: summarize(results), checks: results }, null, 2) + '\n';
}
