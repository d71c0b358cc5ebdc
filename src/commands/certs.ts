import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { Command } from '../cli.ts';
import { parseFlags, printHelp, UsageError, intFlag, type FlagSpecs } from '../util/flags.ts';
import { durationMs } from '../util/duration.ts';
import { createTrustAnchor, createIssuer, createWebhookCertificates, type CertifiedKey } from '../identity/ca.ts';
import { writeOutputs } from '../identity/output.ts';
import { isNamespaceName, isServiceAccountName } from '../identity/names.ts';

const common = {
  out: { type: 'string', default: '.', help: 'directory to write the files into' },
  force: { type: 'boolean', help: 'overwrite existing files' },
  'rsa-bits': { type: 'string', default: '2048', help: 'RSA key size' },
} satisfies FlagSpecs;

export const trustAnchorFlagSpecs = {
  ...common,
  lifetime: { type: 'string', default: '87600h', help: 'validity of the trust anchor (Go duration)' },
  'common-name': { type: 'string', default: 'root.weft.cluster.local', help: 'subject CN' },
} satisfies FlagSpecs;

export const issuerFlagSpecs = {
  ...common,
  'anchor-cert': { type: 'string', default: 'ca.crt', help: 'trust anchor certificate (PEM)' },
  'anchor-key': { type: 'string', default: 'ca.key', help: 'trust anchor private key (PEM)' },
  lifetime: { type: 'string', default: '8760h', help: 'validity of the issuer (Go duration)' },
  'common-name': { type: 'string', default: 'identity.weft.cluster.local', help: 'subject CN' },
} satisfies FlagSpecs;

export const webhookFlagSpecs = {
  ...common,
  service: { type: 'string', help: 'name of the webhook Service (required)' },
  namespace: { type: 'string', help: 'namespace of the webhook Service (required)' },
  dns: { type: 'list', help: 'extra DNS names for the serving certificate (repeatable or comma-separated)' },
  ip: { type: 'list', help: 'extra IP addresses, e.g. 127.0.0.1 for a webhook registered by URL' },
  lifetime: { type: 'string', default: '8760h', help: 'validity of the serving certificate' },
  'ca-lifetime': { type: 'string', default: '87600h', help: 'validity of a newly made CA' },
  'ca-cert': { type: 'string', help: 'sign with this existing CA certificate instead of making one (rotate the serving cert only)' },
  'ca-key': { type: 'string', help: 'private key of --ca-cert' },
} satisfies FlagSpecs;

const USAGE = `Usage: weft certs trust-anchor|issuer|webhook [flags]

  trust-anchor  the mesh root (long-lived; keep ca.key offline): writes ca.crt, ca.key
  issuer        the intermediate the controller signs workloads with: writes tls.crt, tls.key, ca.crt
                (the layout of the issuer Secret, and of a cert-manager Certificate's Secret)
  webhook       a CA and serving certificate for the admission webhook: writes ca.crt, ca.key,
                tls.crt, tls.key, caBundle.b64, and prints the caBundle`;

function lifetime(value: string | undefined, flag: string): number {
  try {
    const ms = durationMs(value ?? '', `--${flag}`);
    if (ms <= 0) throw new Error(`--${flag}: must be positive`);
    return ms;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

async function readPair(certFile: string, keyFile: string, what: string): Promise<CertifiedKey> {
  try {
    return { certPem: await readFile(certFile, 'utf8'), keyPem: await readFile(keyFile, 'utf8') };
  } catch (error) {
    throw new UsageError(`cannot read the ${what}: ${(error as Error).message}`);
  }
}

function report(paths: string[], extra = ''): void {
  process.stdout.write(paths.map((path) => `wrote ${path}\n`).join('') + extra);
}

async function trustAnchor(argv: string[]): Promise<number> {
  const { flags, positionals, help } = parseFlags(trustAnchorFlagSpecs, argv, process.env);
  if (help) return printHelp('Usage: weft certs trust-anchor [flags]', trustAnchorFlagSpecs);
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
  const anchor = await createTrustAnchor({
    commonName: flags['common-name']!,
    lifetimeMs: lifetime(flags.lifetime, 'lifetime'),
    rsaBits: intFlag(flags['rsa-bits'], 'rsa-bits', 2048, 8192),
  });
  report(
    await writeOutputs(flags.out!, [
      { name: 'ca.crt', content: anchor.certPem },
      { name: 'ca.key', content: anchor.keyPem, secret: true },
    ], flags.force),
    'Keep ca.key offline; distribute ca.crt as the trust anchors (--identity-trust-anchors and the proxies).\n',
  );
  return 0;
}

async function issuer(argv: string[]): Promise<number> {
  const { flags, positionals, help } = parseFlags(issuerFlagSpecs, argv, process.env);
  if (help) return printHelp('Usage: weft certs issuer --anchor-cert ca.crt --anchor-key ca.key [flags]', issuerFlagSpecs);
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
  const anchor = await readPair(flags['anchor-cert']!, flags['anchor-key']!, 'trust anchor (--anchor-cert/--anchor-key)');
  const made = await createIssuer(anchor, {
    commonName: flags['common-name']!,
    lifetimeMs: lifetime(flags.lifetime, 'lifetime'),
    rsaBits: intFlag(flags['rsa-bits'], 'rsa-bits', 2048, 8192),
  });
  report(
    await writeOutputs(flags.out!, [
      { name: 'tls.crt', content: made.certPem },
      { name: 'tls.key', content: made.keyPem, secret: true },
      { name: 'ca.crt', content: anchor.certPem },
    ], flags.force),
    'Load these into the issuer Secret, e.g.: kubectl -n weft create secret generic weft-identity-issuer --from-file=tls.crt --from-file=tls.key --from-file=ca.crt\n',
  );
  return 0;
}

async function webhook(argv: string[]): Promise<number> {
  const { flags, positionals, help } = parseFlags(webhookFlagSpecs, argv, process.env);
  if (help) return printHelp('Usage: weft certs webhook --service NAME --namespace NS [flags]', webhookFlagSpecs);
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
  const service = flags.service;
  const namespace = flags.namespace;
  if (service === undefined || !isServiceAccountName(service) || service.includes('.')) throw new UsageError('--service: the webhook Service name is required (a DNS label)');
  if (namespace === undefined || !isNamespaceName(namespace)) throw new UsageError('--namespace: the webhook namespace is required (a DNS label)');
  for (const ip of flags.ip) if (isIP(ip) === 0) throw new UsageError(`--ip: "${ip}" is not an IP address`);
  if ((flags['ca-cert'] === undefined) !== (flags['ca-key'] === undefined)) throw new UsageError('--ca-cert and --ca-key go together');
  const ca = flags['ca-cert'] !== undefined ? await readPair(flags['ca-cert'], flags['ca-key']!, 'webhook CA (--ca-cert/--ca-key)') : undefined;
  const made = await createWebhookCertificates({
    service,
    namespace,
    extraDnsNames: flags.dns,
    ipAddresses: flags.ip,
    lifetimeMs: lifetime(flags.lifetime, 'lifetime'),
    caLifetimeMs: lifetime(flags['ca-lifetime'], 'ca-lifetime'),
    ...(ca ? { ca } : {}),
  });
  const files = [
    { name: 'tls.crt', content: made.serving.certPem },
    { name: 'tls.key', content: made.serving.keyPem, secret: true },
    { name: 'caBundle.b64', content: made.caBundle + '\n' },
    ...(ca ? [] : [
      { name: 'ca.crt', content: made.ca.certPem },
      { name: 'ca.key', content: made.ca.keyPem, secret: true },
    ]),
  ];
  report(await writeOutputs(flags.out!, files, flags.force), `serving names: ${[...made.dnsNames, ...flags.ip].join(', ')}\ncaBundle: ${made.caBundle}\n`);
  return 0;
}

const SUBCOMMANDS: Record<string, (argv: string[]) => Promise<number>> = { 'trust-anchor': trustAnchor, issuer, webhook };

export const command: Command = {
  summary: 'make the mesh trust anchor, identity issuer and webhook serving certificates',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
      process.stdout.write(USAGE + '\n\nRun "weft certs SUBCOMMAND --help" for its flags.\n');
      return sub === undefined ? 2 : 0;
    }
    const run = SUBCOMMANDS[sub];
    if (!run) throw new UsageError(`unknown subcommand "${sub}" (trust-anchor, issuer or webhook)`);
    return run(rest);
  },
};
