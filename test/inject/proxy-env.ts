import { parseFlags } from '../../src/util/flags.ts';
import { proxyConfig, proxyFlags, type ProxyConfig } from '../../src/proxy/config.ts';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
}

/**
 * What `weft proxy` would run with inside the injected container: its env as the kubelet sets
 * it (downward-API fields from `fields`), its args, and nothing else, read by the proxy's own
 * flag parser.
 */
export function proxyConfigOf(container: Record<string, unknown>, fields: Record<string, string>): ProxyConfig {
  const env: Record<string, string> = {};
  for (const entry of (container.env ?? []) as EnvVar[]) {
    const fieldPath = entry.valueFrom?.fieldRef?.fieldPath;
    const value = entry.value ?? (fieldPath !== undefined ? fields[fieldPath] : undefined);
    if (value !== undefined) env[entry.name] = value;
  }
  const args = (container.args ?? []) as string[];
  if (args[0] !== 'proxy') throw new Error(`expected "weft proxy", got ${JSON.stringify(args)}`);
  return proxyConfig(parseFlags(proxyFlags, args.slice(1), env).flags);
}
