import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { Command } from '../cli.ts';
import { version } from '../cli.ts';
import { defaultInjectorConfig, parseInjectorConfig } from '../inject/config.ts';
import { formatReport, injectManifests, uninjectManifests } from '../inject/manifests.ts';
import type { ManifestResult } from '../inject/manifests.ts';
import { printHelp, parseFlags, UsageError } from '../util/flags.ts';
import type { FlagSpecs } from '../util/flags.ts';

export const injectFlagSpecs = {
  manual: { type: 'boolean', help: 'write the full sidecar spec (as the webhook would) instead of the inject annotation' },
  'inject-config': { type: 'string', help: 'YAML file with the injector defaults (as given to the controller)' },
  namespace: { type: 'string', default: 'weft', help: "the controller's namespace (for labels and identity names)" },
} satisfies FlagSpecs;

async function readInput(path: string): Promise<string> {
  if (path === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

async function runTransform(argv: string[], usage: string, transform: (text: string, flags: { manual: boolean; config: Awaited<ReturnType<typeof loadConfig>> }) => ManifestResult): Promise<number> {
  const parsed = parseFlags(injectFlagSpecs, argv);
  if (parsed.help) return printHelp(usage, injectFlagSpecs);
  if (parsed.positionals.length === 0) throw new UsageError('expected one or more files, or - for standard input');
  const config = await loadConfig(parsed.flags['inject-config'], parsed.flags.namespace ?? 'weft');
  const outputs: string[] = [];
  let failed = false;
  for (const path of parsed.positionals) {
    const text = await readInput(path);
    let result: ManifestResult;
    try {
      result = transform(text, { manual: parsed.flags.manual, config });
    } catch (error) {
      process.stderr.write(`${path === '-' ? 'stdin' : path}: ${(error as Error).message}\n`);
      failed = true;
      continue;
    }
    outputs.push(result.output);
    const report = formatReport(result.report, path === '-' ? 'stdin' : path);
    if (report !== '') process.stderr.write(`${report}\n`);
  }
  process.stdout.write(outputs.join('---\n'));
  return failed ? 1 : 0;
}

async function loadConfig(file: string | undefined, namespace: string) {
  const defaults = defaultInjectorConfig(await version());
  defaults.controllerNamespace = namespace;
  defaults.identityUrl = `https://weft-identity.${namespace}.svc.cluster.local:8080`;
  if (file === undefined) return defaults;
  return parseInjectorConfig(parseYaml(await readFile(file, 'utf8')), defaults, file);
}

export const injectCommand: Command = {
  summary: 'add the mesh to workloads in manifest files (annotation, or --manual full sidecar)',
  run: (argv) => runTransform(argv, 'Usage: weft inject [--manual] FILE... | -', (text, { manual, config }) => injectManifests(text, { manual, config })),
};

export const uninjectCommand: Command = {
  summary: 'remove what inject added from manifest files',
  run: (argv) => runTransform(argv, 'Usage: weft uninject FILE... | -', (text) => uninjectManifests(text)),
};
