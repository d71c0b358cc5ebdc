import { createRequire } from 'node:module';
import { isIP, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

// Typed face of build/original_dst.node (built by native/build.js). It lives under src/ so the
// compiled build (rootDir src) ships it; dist/proxy-init/ is as deep as src/proxy-init/, so the
// addon path below holds for both. Loaded lazily so code that imports this module still runs
// where the addon could not be built (macOS, no compiler): it just learns that original
// destinations are unknown.

export interface OriginalDestination {
  address: string;
  port: number;
  family: 4 | 6;
}

interface Addon {
  getOriginalDestination(fd: number): OriginalDestination;
}

const ADDON_PATH = fileURLToPath(new URL('../../build/original_dst.node', import.meta.url));

let loaded: { addon: Addon } | { error: Error } | undefined;

function load(): { addon: Addon } | { error: Error } {
  if (loaded === undefined) {
    try {
      const addon = createRequire(import.meta.url)(ADDON_PATH) as Addon;
      loaded = { addon };
    } catch (error) {
      loaded = { error: new Error(`SO_ORIGINAL_DST addon not available (run "npm run build:native"): ${(error as Error).message}`) };
    }
  }
  return loaded;
}

/** Whether the addon loaded; when false, originalDestination() always returns undefined. */
export function nativeAvailable(): boolean {
  return 'addon' in load();
}

/** Why the addon is unavailable, for a log line or a test skip; undefined when it loaded. */
export function nativeUnavailableReason(): string | undefined {
  const state = load();
  return 'error' in state ? state.error.message : undefined;
}

/**
 * The SO_ORIGINAL_DST lookup on a raw file descriptor. Throws an Error whose `code` is the
 * errno name (ENOENT: conntrack has no entry, i.e. the connection was not NATed).
 */
export function originalDestinationOfFd(fd: number): OriginalDestination {
  const state = load();
  if ('error' in state) throw state.error;
  return state.addon.getOriginalDestination(fd);
}

interface HandleWithFd {
  fd?: unknown;
}

/** The file descriptor behind a connected net.Socket, or undefined (closed, or not a TCP handle). */
export function socketFd(socket: Socket): number | undefined {
  const handle = (socket as unknown as { _handle?: HandleWithFd | null })._handle;
  const fd = handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/**
 * Where the client of an accepted connection meant to go before iptables redirected it.
 * Undefined when that is unknown or when the connection was not redirected: the addon is
 * missing, the socket has no fd, conntrack has no entry, or the original destination is the
 * socket's own local address (the client dialled the listener directly).
 */
export function originalDestination(socket: Socket): { address: string; port: number } | undefined {
  if (!nativeAvailable()) return undefined;
  const fd = socketFd(socket);
  if (fd === undefined) return undefined;
  let found: OriginalDestination;
  try {
    found = originalDestinationOfFd(fd);
  } catch {
    return undefined;
  }
  if (found.port === socket.localPort && sameAddress(found.address, socket.localAddress)) return undefined;
  return { address: found.address, port: found.port };
}

function sameAddress(a: string, b: string | undefined): boolean {
  if (b === undefined) return false;
  const unmapped = b.startsWith('::ffff:') && isIP(b.slice(7)) === 4 ? b.slice(7) : b;
  return a === unmapped;
}
