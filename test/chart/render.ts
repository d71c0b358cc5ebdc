import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../src/kube/types.ts';

// Runs the chart through the `helm template` stand-in in ../shared/tools/chart-render (or the
// render.sh named by WEFT_CHART_RENDER) and parses what comes out.

export const projectRoot = fileURLToPath(new URL('../../', import.meta.url));
export const chartDir = join(projectRoot, 'charts/weft');

function renderScript(): string | undefined {
  const fromEnv = process.env.WEFT_CHART_RENDER;
  if (fromEnv) return resolve(fromEnv);
  const beside = resolve(projectRoot, '../shared/tools/chart-render/render.sh');
  return existsSync(beside) ? beside : undefined;
}

let cachedSkip: string | false | undefined;

/** Why the chart tests cannot run here, or false when they can. Builds the renderer once. */
export function rendererSkipReason(): string | false {
  if (cachedSkip !== undefined) return cachedSkip;
  const script = renderScript();
  if (script === undefined || !existsSync(script)) {
    cachedSkip = 'chart renderer not found: set WEFT_CHART_RENDER to chart-render/render.sh or put shared/ beside the project';
  } else {
    const build = spawnSync('bash', [join(script, '../build.sh')], { encoding: 'utf8', timeout: 600_000 });
    cachedSkip = build.status === 0 ? false : `chart renderer could not be built: ${(build.stderr || build.error?.message || '').trim().split('\n').slice(-3).join(' ')}`;
  }
  if (cachedSkip) process.stdout.write(`# skipping chart tests: ${cachedSkip}\n`);
  return cachedSkip;
}

export interface RenderResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function renderRaw(args: readonly string[]): RenderResult {
  const script = renderScript();
  if (script === undefined) throw new Error('chart renderer not found');
  const result = spawnSync('bash', [script, chartDir, ...args], { encoding: 'utf8', cwd: projectRoot, timeout: 120_000 });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

export interface RenderedDoc {
  /** templates/x.yaml, relative to the chart. */
  source: string;
  /** Undefined when the document holds nothing but comments. */
  object: KubeObject | undefined;
  text: string;
}

export const DEFAULT_ARGS = ['--name', 'weft', '-n', 'weft'] as const;

/** Renders and parses; a failed render or unparsable document throws with the renderer's words. */
export function render(args: readonly string[] = []): RenderedDoc[] {
  const result = renderRaw([...DEFAULT_ARGS, ...args]);
  if (result.status !== 0) throw new Error(`render failed (${result.status}): ${result.stderr}`);
  return parseRendered(result.stdout);
}

export function parseRendered(output: string): RenderedDoc[] {
  const docs: RenderedDoc[] = [];
  for (const chunk of output.split(/^---$/m)) {
    if (chunk.trim() === '') continue;
    const source = /^# Source: [^/]+\/(.*)$/m.exec(chunk)?.[1] ?? '(unknown)';
    const parsed = parseAllDocuments(chunk);
    const list = Array.isArray(parsed) ? parsed : [parsed];
    for (const doc of list) {
      if (doc.errors.length > 0) throw new Error(`${source}: YAML error: ${doc.errors.map((e) => e.message).join('; ')}`);
    }
    if (list.length > 1) throw new Error(`${source}: more than one YAML document in one chunk`);
    const value: unknown = list[0]?.toJS();
    if (value !== null && value !== undefined && (typeof value !== 'object' || Array.isArray(value))) {
      throw new Error(`${source}: document is not a mapping: ${chunk.slice(0, 200)}`);
    }
    docs.push({ source, object: (value ?? undefined) as KubeObject | undefined, text: chunk });
  }
  return docs;
}

export function objects(docs: readonly RenderedDoc[]): KubeObject[] {
  return docs.flatMap((doc) => (doc.object ? [doc.object] : []));
}

export function find(docs: readonly RenderedDoc[], kind: string, name?: string): KubeObject[] {
  return objects(docs).filter((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
}

export function one(docs: readonly RenderedDoc[], kind: string, name?: string): KubeObject {
  const found = find(docs, kind, name);
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0]!;
}

/** Walks a path of keys and indexes into a parsed object, for terse assertions. */
export function at(value: unknown, ...path: (string | number)[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}
