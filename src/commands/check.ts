import type { Command } from '../cli.ts';
import { runChecks } from '../check/checks.ts';
import { gather, loadKubeConfig } from '../check/gather.ts';
import { exitCode, formatJSON, formatText } from '../check/report.ts';
import { choiceFlag, printHelp, intFlag, parseFlags, UsageError, type FlagSpecs } from '../util/flags.ts';

export const checkFlagSpecs = {
  namespace: { type: 'string', default: 'weft', env: 'WEFT_NAMESPACE', help: "the controller's namespace" },
  selector: {
    type: 'string',
    default: 'app.kubernetes.io/part-of=weft,app.kubernetes.io/component=controller',
    help: 'label selector of the controller pods',
  },
  output: { type: 'string', default: 'text', help: 'text (pass/warn/fail lines) or json' },
  'warn-days': { type: 'string', default: '30', help: 'warn when a certificate expires within this many days' },
  kubeconfig: { type: 'string', env: 'KUBECONFIG', help: 'kubeconfig file (default: in-cluster service account or ~/.kube/config)' },
} satisfies FlagSpecs;

const USAGE = `Usage: weft check [flags]

Checks a weft installation in the cluster of the current kubeconfig, like \`linkerd check\`:
controller pods ready, webhook configurations registered and trusting the serving certificate,
certificates (webhook, identity issuer, trust anchor) not close to expiry, namespaces annotated
for injection, and pods there that still lack the proxy.
Exit status: 0 no failures (warnings allowed), 1 a check failed, 2 usage error.`;

export const command: Command = {
  summary: 'check the weft installation in the cluster (controller, webhooks, certificates, injection)',
  async run(argv) {
    const { flags, positionals, help } = parseFlags(checkFlagSpecs, argv, process.env);
    if (help) return printHelp(USAGE, checkFlagSpecs);
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const output = choiceFlag(flags.output, 'output', ['text', 'json'] as const);
    const warnDays = intFlag(flags['warn-days'], 'warn-days', 0, 3650);
    const namespace = flags.namespace ?? 'weft';
    const kc = loadKubeConfig(flags.kubeconfig);
    const input = await gather(kc, { namespace, selector: flags.selector ?? '', warnDays });
    const results = runChecks(input);
    process.stdout.write(output === 'json' ? formatJSON(results, namespace) : formatText(results, namespace));
    return exitCode(results);
  },
};
