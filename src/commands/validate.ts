import { readFile } from 'node:fs/promises';
import type { Command } from '../cli.ts';
import { FileClusterState } from '../kube/file-state.ts';
import type { FlagSpecs } from '../util/flags.ts';
import { choiceFlag, printHelp, parseFlags, UsageError } from '../util/flags.ts';
import type { ManifestSource } from '../validate/manifests.ts';
import { exitCode, formatJSON, formatText, validateManifests } from '../validate/manifests.ts';

export const validateFlags = {
  output: { type: 'string', default: 'text', help: 'text (one line per problem) or json' },
  namespace: { type: 'string', default: 'default', help: 'namespace assumed for objects that do not set one' },
  'cluster-domain': { type: 'string', default: 'cluster.local', help: 'the cluster DNS domain', env: 'WEFT_CLUSTER_DOMAIN' },
  'cluster-state': { type: 'string', help: 'folder of YAML manifests (Services, DestinationRules) to check references against, as the webhook does with the live cluster' },
} satisfies FlagSpecs;

const USAGE = `Usage: weft validate [flags] FILE... | -

Checks ServiceProfile, VirtualService and AuthorizationPolicy manifests with the same rules as the
admission webhook. Reads multi-document YAML and Lists; other kinds are skipped with a note.
Exit status: 0 all valid, 1 something invalid or unreadable, 2 usage error.`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export const command: Command = {
  summary: 'check ServiceProfile, VirtualService and AuthorizationPolicy manifests offline',
  async run(argv) {
    const { flags, positionals, help } = parseFlags(validateFlags, argv, process.env);
    if (help) return printHelp(USAGE, validateFlags);
    const output = choiceFlag(flags.output, 'output', ['text', 'json'] as const);
    if (positionals.length === 0) throw new UsageError('name at least one FILE, or - for standard input');
    const sources: ManifestSource[] = [];
    for (const name of positionals) {
      sources.push({ name, text: name === '-' ? await readStdin() : await readFile(name, 'utf8') });
    }
    const clusterState = flags['cluster-state'] ? await FileClusterState.fromDirectory(flags['cluster-state']) : undefined;
    const results = validateManifests(sources, { defaultNamespace: flags.namespace, clusterDomain: flags['cluster-domain'], ...(clusterState ? { clusterState } : {}) });
    if (output === 'json') process.stdout.write(formatJSON(results));
    else {
      const { out, err } = formatText(results);
      process.stdout.write(out);
      process.stderr.write(err);
    }
    return exitCode(results);
  },
};
