import type { Command } from '../cli.ts';
import { printHelp, parseFlags } from '../util/flags.ts';
import { createProxyLogger, type ProxyLogger } from '../proxy/log.ts';
import { proxyConfig, proxyFlags, type ProxyConfig } from '../proxy/config.ts';
import { identityClientCredentials, staticCredentials, type CredentialSource } from '../proxy/credentials.ts';
import { pollDiscovery, staticDiscovery, type DiscoverySource } from '../proxy/discovery-source.ts';
import { EMPTY_DISCOVERY } from '../proxy/discovery.ts';
import { identityServerName } from '../identity/names.ts';
import { startProxy } from '../proxy/proxy.ts';
import { nativeAvailable, nativeUnavailableReason, originalDestination } from '../proxy-init/original-dst.ts';
import { ComponentMetrics, type MetricsText } from '../proxy/metrics.ts';

export { proxyFlags };

const USAGE = 'Usage: weft proxy [flags]\n\nThe mTLS sidecar: inbound and outbound listeners for the pod\'s redirected traffic, and the admin server.';

// The identity client is loaded only when it is used, and logs and counts through the proxy's
// own logger and metrics: a production proxy loads neither pino nor prom-client (nor, for its
// CSR, @peculiar/x509); test/proxy/imports.test.ts holds it to that.
async function credentialsFor(config: ProxyConfig, log: ProxyLogger): Promise<{ credentials: CredentialSource; metrics?: MetricsText }> {
  const id = config.identity;
  if (id.kind === 'static') return { credentials: staticCredentials({ certFile: id.certFile, keyFile: id.keyFile, trustAnchorsPem: id.trustAnchorsPem }) };
  const { IdentityClient } = await import('../identity/client.ts');
  const metrics = new ComponentMetrics({ role: 'proxy' });
  const client = new IdentityClient({
    url: id.url,
    tokenFile: id.tokenFile,
    trustAnchorsPem: id.trustAnchorsPem,
    identityDir: id.identityDir,
    log,
    metrics,
    ...(id.localName !== undefined ? { localName: id.localName } : {}),
  });
  // Not awaited: the proxy listens (and reports not-ready) until the first certificate lands.
  client.start().catch((error: Error) => log.error({ err: error.message }, 'identity client stopped before a certificate arrived'));
  return { credentials: identityClientCredentials(client), metrics };
}

function discoveryFor(config: ProxyConfig, log: ProxyLogger): DiscoverySource {
  const d = config.discovery;
  if (d.kind === 'file') return pollDiscovery({ file: d.file, intervalMs: d.intervalMs, log });
  if (d.kind === 'url') {
    // The controller serves discovery on the identity service's listener, whose certificate
    // the mesh issuer signed for the identity service's own mesh name.
    const tls = { trustAnchorsPem: config.identity.trustAnchorsPem, serverName: identityServerName(config.controllerNamespace, config.trustDomain) };
    return pollDiscovery({ url: d.url, tls, intervalMs: d.intervalMs, log });
  }
  return staticDiscovery(EMPTY_DISCOVERY);
}

export const command: Command = {
  summary: 'run the mTLS sidecar proxy',
  async run(argv) {
    const parsed = parseFlags(proxyFlags, argv, process.env);
    if (parsed.help) return printHelp(USAGE, proxyFlags);
    const config = proxyConfig(parsed.flags);
    const log = createProxyLogger(config.logLevel, { role: 'proxy', pod: config.pod.name, namespace: config.pod.namespace });
    if (!nativeAvailable()) log.warn({ reason: nativeUnavailableReason() }, 'original destinations unknown: redirected connections will be refused');
    const { credentials, metrics } = await credentialsFor(config, log);
    const discovery = discoveryFor(config, log);
    await discovery.loaded;
    const proxy = await startProxy({
      // Dual-stack where the pod has IPv6 (IPv4 clients arrive as ::ffff:a.b.c.d), IPv4 where not.
      inbound: { host: '::', fallbackHost: '0.0.0.0', port: config.inboundPort },
      outbound: { host: '127.0.0.1', alsoHost: '::1', port: config.outboundPort },
      admin: { host: '::', fallbackHost: '0.0.0.0', port: config.adminPort },
      credentials,
      discovery,
      ...(config.pod.ip !== undefined ? { podIps: [config.pod.ip] } : {}),
      originalDestination,
      policy: { defaultPolicy: config.defaultInboundPolicy, requireIdentityPorts: config.requireIdentityPorts },
      opaquePorts: config.opaquePorts,
      detectTimeoutMs: config.detectTimeoutMs,
      log,
      ...(metrics !== undefined ? { extraMetrics: [metrics] } : {}),
    });
    return new Promise<number>((resolve) => {
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        log.info({ signal, graceMs: config.shutdownGraceMs, open: proxy.connections.size }, 'draining');
        discovery.stop();
        void proxy.shutdown(config.shutdownGraceMs).then(() => resolve(0));
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
  },
};
