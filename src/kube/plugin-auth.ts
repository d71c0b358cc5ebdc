// Users that authenticate through an `exec` credential plugin or an `auth-provider` (cloud
// clusters: EKS, GKE, AKS, OIDC). client-node implements those protocols (running the plugin,
// caching its credential until it expires, refreshing OIDC tokens); this module, and with it
// client-node, is imported only when a kubeconfig needs it. Only the Authorization header is
// taken from it: a plugin that answers with a client certificate instead is refused, by name.
import type { RequestOptions } from 'node:https';
import type { ResolvedKubeconfig } from './kubeconfig.ts';
import { KubeconfigError } from './kubeconfig.ts';

export async function pluginAuthorization(paths: readonly string[], resolved: ResolvedKubeconfig): Promise<() => Promise<string | undefined>> {
  const k8s = await import('@kubernetes/client-node');
  const config = new k8s.KubeConfig();
  paths.forEach((path, index) => {
    const next = index === 0 ? config : new k8s.KubeConfig();
    next.loadFromFile(path);
    if (next !== config) config.mergeConfig(next, true);
  });
  config.setCurrentContext(resolved.context);
  const where = `${resolved.source}: users of context ${resolved.context}: ${resolved.plugin}`;
  return async () => {
    const options: RequestOptions = { headers: {} };
    try {
      await config.applyToHTTPSOptions(options);
    } catch (error) {
      throw new KubeconfigError(`${where}: ${(error as Error).message}`);
    }
    const header = (options.headers as Record<string, unknown>).Authorization;
    if (typeof header === 'string') return header;
    if (options.cert !== undefined && resolved.clientCertificate === undefined) {
      throw new KubeconfigError(`${where} answered with a client certificate, which weft's controller does not use; give the user a token or client-certificate instead`);
    }
    return undefined;
  };
}
