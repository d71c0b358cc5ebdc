import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.ts';
import { createRegistry } from '../metrics.ts';
import type { Registry } from '../metrics.ts';
import type { ClusterState } from '../kube/cluster-state.ts';
import { FileClusterState } from '../kube/file-state.ts';
import { KubeClusterState } from '../kube/kube-state.ts';
import { KubeClient } from '../kube/client.ts';
import { openKubeConnection } from '../kube/connection.ts';
import { buildAdminApp } from './admin.ts';
import type { ControllerConfig } from './config.ts';
import { createAdmissionMetrics } from './metrics.ts';
import { buildAdmissionApp } from './server.ts';
import { CertificateWatcher } from './tls.ts';
import type { IdentityServer, IdentityServerDeps } from '../identity/server.ts';

export interface RunningController {
  admissionPort: number;
  adminPort: number;
  /** Undefined when the identity service is disabled. */
  identity: IdentityServer | undefined;
  registry: Registry;
  clusterState: ClusterState;
  /** Readiness off, wait the drain delay, then close listeners and caches. */
  shutdown(reason?: string): Promise<void>;
}

/** The cluster state, and the API server connection it reads through (undefined for files). */
export async function openClusterState(config: Pick<ControllerConfig, 'clusterStateDir' | 'kubeconfig' | 'identity'>, log: Logger): Promise<{ clusterState: ClusterState; kube: KubeClient | undefined }> {
  if (config.clusterStateDir !== undefined) return { clusterState: await FileClusterState.fromDirectory(config.clusterStateDir), kube: undefined };
  const connection = await openKubeConnection(config.kubeconfig);
  if (connection === undefined) {
    throw new Error('no cluster found: set KUBECONFIG, run in a pod, or pass --cluster-state DIR (or --standalone)');
  }
  log.info({ server: connection.server.origin, source: connection.source }, 'connecting to the API server');
  const kube = new KubeClient(connection);
  // Pods feed the proxies' discovery document, which the identity service serves.
  const kinds = config.identity.disabled ? (['Service', 'DestinationRule'] as const) : (['Service', 'DestinationRule', 'Pod'] as const);
  return { clusterState: new KubeClusterState(kube, { log: log.child({ component: 'cluster-state' }), kinds }), kube };
}

/**
 * The identity service, loaded only when enabled: its certificate code (@peculiar/x509 and
 * its dependency injection container) is ~10 MB of a controller that does not use it.
 */
async function startIdentity(config: ControllerConfig, deps: Omit<IdentityServerDeps, 'discovery'> & { clusterState: ClusterState }): Promise<IdentityServer> {
  const [{ startIdentityServer }, { buildDiscoveryDocument }] = await Promise.all([import('../identity/server.ts'), import('../discovery/build.ts')]);
  const { clusterState, ...rest } = deps;
  const scope = { controllerNamespace: config.namespace, trustDomain: config.identity.trustDomain };
  return startIdentityServer(config.identity, { ...rest, discovery: () => buildDiscoveryDocument(clusterState.list('Pod') ?? [], scope) });
}

export async function startController(config: ControllerConfig, log: Logger): Promise<RunningController> {
  const registry = createRegistry('controller');
  const metrics = createAdmissionMetrics(registry);
  let draining = false;

  const watcher = new CertificateWatcher({
    certFile: config.tlsCert,
    keyFile: config.tlsKey,
    log: log.child({ component: 'tls' }),
    onChange: (next) => {
      // New handshakes get the new pair; connections already open keep theirs, so nothing fails mid-reload.
      server.setSecureContext({ cert: next.cert, key: next.key, minVersion: config.tlsMinVersion });
      metrics.certificateExpiry.set(next.notAfter.getTime() / 1000);
    },
  });
  const certificate = await watcher.start();
  metrics.certificateExpiry.set(certificate.notAfter.getTime() / 1000);

  const { clusterState, kube } = await openClusterState(config, log);
  // The cache syncs in the background; readiness waits for it, liveness does not.
  const syncing = clusterState.waitForSync().catch((error: unknown) => log.error({ err: (error as Error).message }, 'cluster state failed to sync'));

  const app = buildAdmissionApp({
    log: log.child({ component: 'admission' }),
    metrics,
    inject: { config: config.injector, clusterState, onError: config.onError },
    validate: { clusterState, clusterDomain: config.clusterDomain },
    tls: { cert: certificate.cert, key: certificate.key, minVersion: config.tlsMinVersion },
  });
  const identity = config.identity.disabled
    ? undefined
    : await startIdentity(config, {
        log,
        registry,
        controllerNamespace: config.namespace,
        clusterState,
        ...(kube !== undefined ? { kube } : {}),
      });

  const admin = buildAdminApp({
    log: log.child({ component: 'admin' }),
    registry,
    notReadyBecause: () => {
      if (draining) return 'shutting down';
      if (watcher.certificate === undefined) return 'no serving certificate loaded';
      if (!clusterState.synced()) return 'cluster state cache has not synced yet';
      if (identity !== undefined && !identity.ready()) return 'identity service has no valid issuer';
      return undefined;
    },
  });

  await app.listen({ host: config.address, port: config.port });
  const server = app.server as unknown as import('node:tls').Server;
  await admin.listen({ host: config.adminAddress, port: config.adminPort });
  const admissionPort = (app.server.address() as AddressInfo).port;
  const adminPort = (admin.server.address() as AddressInfo).port;
  log.info({ admissionPort, adminPort, identityPort: identity?.port, standalone: config.standalone }, 'controller listening');

  let closing: Promise<void> | undefined;
  const shutdown = (reason = 'shutdown'): Promise<void> => {
    closing ??= (async () => {
      draining = true;
      log.info({ reason, drainDelayMs: config.drainDelayMs }, 'draining: readiness is now false');
      await new Promise((resolve) => setTimeout(resolve, config.drainDelayMs));
      const timeout = new Promise((resolve) => setTimeout(resolve, config.shutdownTimeoutMs).unref());
      await Promise.race([app.close(), timeout]);
      await identity?.close();
      await admin.close();
      watcher.close();
      await clusterState.close();
      await syncing;
      kube?.close();
      log.info('controller stopped');
    })();
    return closing;
  };
  return { admissionPort, adminPort, identity, registry, clusterState, shutdown };
}
