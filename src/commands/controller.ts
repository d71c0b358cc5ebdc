import { resolve } from 'node:path';
import type { Command } from '../cli.ts';
import { version } from '../cli.ts';
import { createLogger } from '../log.ts';
import { printHelp, parseFlags } from '../util/flags.ts';
import { controllerConfigFromFlags, controllerFlagSpecs } from '../controller/config.ts';
import { startController } from '../controller/run.ts';

export { controllerFlagSpecs };

const USAGE = 'Usage: weft controller [flags]\n\nServes mutating admission (/inject) and validating admission (/validate) over HTTPS.';

/** Where the repository's examples live, for standalone mode's defaults. */
const EXAMPLES = new URL('../../examples/', import.meta.url);

export const command: Command = {
  summary: 'the admission webhook server (injector and validator)',
  async run(argv) {
    const parsed = parseFlags(controllerFlagSpecs, argv, process.env);
    if (parsed.help) return printHelp(USAGE, controllerFlagSpecs);
    const flags = parsed.flags;
    // Standalone's development certificates need the CA code (node-forge, @peculiar/x509); a
    // controller in a cluster never runs it, so it is loaded only here.
    const standalone = flags.standalone ? await import('../controller/standalone.ts') : undefined;
    if (standalone) {
      const { ensureDevelopmentCertificates, ensureDevelopmentIdentity } = standalone;
      const files = await ensureDevelopmentCertificates(flags['state-dir'] ?? '.weft/standalone');
      if (!argv.some((arg) => arg.startsWith('--tls-cert'))) flags['tls-cert'] = files.certFile;
      if (!argv.some((arg) => arg.startsWith('--tls-key'))) flags['tls-key'] = files.keyFile;
      if (!argv.some((arg) => arg.startsWith('--address'))) flags.address = '127.0.0.1';
      if (!argv.some((arg) => arg.startsWith('--admin-address'))) flags['admin-address'] = '127.0.0.1';
      flags['cluster-state'] ??= new URL('cluster/', EXAMPLES).pathname;
      if (!flags['identity-disabled']) {
        const identity = await ensureDevelopmentIdentity(flags['state-dir'] ?? '.weft/standalone');
        if (!argv.some((arg) => arg.startsWith('--identity-issuer-dir'))) flags['identity-issuer-dir'] = identity.issuerDir;
        flags['identity-jwks'] ??= identity.jwksFile;
        flags['identity-issuer'] ??= identity.tokenIssuer;
        if (!argv.some((arg) => arg.startsWith('--identity-address'))) flags['identity-address'] = '127.0.0.1';
      }
    }
    const config = await controllerConfigFromFlags(flags, await version());
    const log = createLogger('controller', config.logLevel);
    const controller = await startController(config, log);
    if (standalone) {
      const example = resolve(new URL('admission/pod-create.json', EXAMPLES).pathname);
      process.stdout.write(
        `\nweft controller (standalone) is serving https://127.0.0.1:${controller.admissionPort}/inject and /validate; ` +
          `metrics on http://127.0.0.1:${controller.adminPort}/metrics` +
          (controller.identity ? `; identity CA on https://127.0.0.1:${controller.identity.port}/v1/certify` : '') +
          `\nTry the example AdmissionReview (a Deployment's pod in an annotated namespace):\n\n` +
          `${standalone.exampleCurl(resolve(config.stateDir, 'ca.crt'), controller.admissionPort, example)}\n\n`,
      );
    }
    return new Promise<number>((done) => {
      const stop = (signal: string) => {
        controller.shutdown(signal).then(
          () => done(0),
          (error: unknown) => {
            log.error({ err: (error as Error).message }, 'shutdown failed');
            done(1);
          },
        );
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
  },
};
