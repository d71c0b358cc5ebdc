import type { Command } from '../cli.ts';
import { createLogger } from '../log.ts';
import { LOG_LEVELS } from '../util/log-levels.ts';
import { choiceFlag, printHelp, parseFlags, UsageError, type FlagSpecs } from '../util/flags.ts';
import { apply, formatPlan, plan } from '../proxy-init/apply.ts';
import { settingsFromFlags } from '../proxy-init/config.ts';
import { runProgram, type Runner } from '../proxy-init/exec.ts';

// The injector writes exactly these flag names onto the init container: keep them.
export const proxyInitFlags = {
  'incoming-proxy-port': { type: 'string', default: '4143', help: 'port the proxy accepts redirected inbound TCP on' },
  'outgoing-proxy-port': { type: 'string', default: '4140', help: 'port the proxy accepts redirected outbound TCP on' },
  'proxy-uid': { type: 'string', default: '2102', help: "user id of the proxy, whose own traffic is not redirected" },
  'inbound-ports-to-ignore': { type: 'list', help: 'inbound destination ports that skip the proxy (comma list; ranges like 25000-26000)' },
  'outbound-ports-to-ignore': { type: 'list', help: 'outbound destination ports that skip the proxy (comma list; ranges like 25000-26000)' },
  'subnets-to-ignore': { type: 'list', help: 'CIDRs whose traffic skips the proxy: inbound by source, outbound by destination (comma list)' },
  'iptables-mode': { type: 'string', default: 'auto', help: 'iptables backend: auto, nft or legacy' },
  ipv6: { type: 'boolean', default: false, help: 'also write the same rules with ip6tables' },
  'dry-run': { type: 'boolean', default: false, help: 'print the iptables-restore input instead of applying it' },
  'log-level': { type: 'string', default: 'info', help: 'log level: fatal, error, warn, info, debug, trace or silent', env: 'WEFT_LOG_LEVEL' },
} satisfies FlagSpecs;

const USAGE = 'Usage: weft proxy-init [flags]\n\nRedirects the pod\'s TCP traffic through the proxy with iptables (nat table), then exits.';

export interface ProxyInitDeps {
  env: NodeJS.ProcessEnv;
  run: Runner;
  out: (text: string) => void;
  /** Defaults to reading /proc/self/status. */
  missingCapabilities?: () => Promise<string[]>;
}

export async function runProxyInit(argv: readonly string[], deps: ProxyInitDeps): Promise<number> {
  const { run, out } = deps;
  const { flags, positionals, help } = parseFlags(proxyInitFlags, argv, deps.env);
  if (help) return printHelp(USAGE, proxyInitFlags, out);
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const level = choiceFlag(flags['log-level'] ?? 'info', 'log-level', LOG_LEVELS);
  const settings = settingsFromFlags(flags);
  const log = createLogger('proxy-init', level);
  const skipped = settings.ipv6 ? [] : settings.subnetsToIgnore.filter((s) => s.family === 6).map((s) => s.cidr);
  if (skipped.length > 0) log.warn({ subnets: skipped }, 'IPv6 subnets in --subnets-to-ignore have no effect without --ipv6');
  try {
    if (flags['dry-run']) {
      out(formatPlan(await plan(settings, run, true)));
      return 0;
    }
    const report = await apply(settings, run, deps.missingCapabilities);
    for (const f of report.families) log.debug({ restore: f.restore, script: f.script }, 'applied iptables-restore input');
    const families = report.families.map((f) => ({ family: f.family, restore: f.restore, rules: f.rules }));
    log.info({ backend: report.backend, reason: report.backendReason, families }, 'iptables rules applied');
    return 0;
  } catch (error) {
    log.error({ err: error }, 'proxy-init failed');
    throw error;
  } finally {
    log.flush();
  }
}

export const command: Command = {
  summary: "write the iptables rules that send the pod's TCP through the proxy (init container)",
  run: (argv) => runProxyInit(argv, { env: process.env, run: runProgram, out: (text) => process.stdout.write(text) }),
};
