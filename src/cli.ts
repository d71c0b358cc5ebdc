import { UsageError } from './util/flags.ts';

// Each subcommand lives in its own module under commands/ and is loaded only when used, so
// `weft proxy-init` does not pay for Fastify and `weft controller` does not load the proxy.
export interface Command {
  summary: string;
  run(argv: string[]): Promise<number>;
}

const COMMANDS: Record<string, () => Promise<Command>> = {
  controller: async () => (await import('./commands/controller.ts')).command,
  inject: async () => (await import('./commands/inject.ts')).injectCommand,
  uninject: async () => (await import('./commands/inject.ts')).uninjectCommand,
  validate: async () => (await import('./commands/validate.ts')).command,
  check: async () => (await import('./commands/check.ts')).command,
  certs: async () => (await import('./commands/certs.ts')).command,
  proxy: async () => (await import('./commands/proxy.ts')).command,
  'proxy-init': async () => (await import('./commands/proxy-init.ts')).command,
  await: async () => (await import('./commands/await.ts')).command,
};

export async function usage(): Promise<string> {
  const lines = ['Usage: weft COMMAND [flags]', '', 'Commands:'];
  for (const [name, load] of Object.entries(COMMANDS)) {
    let summary = '';
    try {
      summary = (await load()).summary;
    } catch {
      summary = '(not available in this build)';
    }
    lines.push(`  ${name.padEnd(12)} ${summary}`);
  }
  lines.push('', 'Run "weft COMMAND --help" for the flags of a command.');
  return lines.join('\n') + '\n';
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(await usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === 'version') {
    process.stdout.write(`weft ${await version()}\n`);
    return 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`weft: unknown command "${name}"\n\n${await usage()}`);
    return 2;
  }
  try {
    return await (await load()).run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`weft ${name}: ${error.message}\n(see "weft ${name} --help")\n`);
      return 2;
    }
    process.stderr.write(`weft ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

export async function version(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
