import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

// A throwaway network for tests that need real packets: N network namespaces ("pods"), each with
// an eth0 plugged into a bridge that lives in a namespace of its own ("hub"), so nothing is ever
// added to the machine's own namespace. Addresses come from 10.209.X.0/24, and only ever exist
// inside namespaces created here.
//
// Typical use:
//   const reason = netnsSkipReason({ iptables: 'nft' });
//   test('...', { skip: reason }, async (t) => {
//     const net = await createTestNet({ pods: 2 });
//     t.after(() => net.cleanup());
//     const server = net.spawnNode(net.pods[1], `...`);
//     ...
//   });

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Run as this uid (and gid, default the same number) via setpriv, e.g. the proxy's 2102. */
  uid?: number;
  gid?: number;
  /** Written to stdin, then stdin is closed. */
  input?: string;
  env?: NodeJS.ProcessEnv;
  /** Kill the process (SIGKILL) after this long; default 20 s. */
  timeoutMs?: number;
}

export interface Pod {
  /** Network namespace name (pass to `ip netns exec`). */
  ns: string;
  /** eth0's IPv4 address, e.g. 10.209.1.2. */
  address: string;
  /** eth0's IPv6 address (fd00:209:X::N) when the net was created with `ipv6`. */
  address6?: string;
  index: number;
}

export interface Spawned {
  child: ChildProcess;
  /** Everything printed so far. */
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves with the first stdout line matching `pattern` (already printed ones count). */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<ExecResult>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<ExecResult>;
}

export interface TestNet {
  pods: Pod[];
  /** The namespace holding the bridge. */
  hub: string;
  /** "10.209.X" */
  prefix: string;
  exec(target: Pod | string, argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Like exec, but rejects with the command's stderr when it exits non-zero. */
  run(target: Pod | string, argv: readonly string[], options?: ExecOptions): Promise<string>;
  spawn(target: Pod | string, argv: readonly string[], options?: ExecOptions): Spawned;
  /** Runs `node --input-type=module -e code` (type stripping on, so it may import .ts files). */
  spawnNode(target: Pod | string, code: string, options?: ExecOptions & { args?: string[] }): Spawned;
  /**
   * Opens a TCP connection from inside `target` and returns what the server sent before
   * closing, or `error: CODE` when the connection failed (refused, timed out...).
   */
  connect(target: Pod | string, host: string, port: number, options?: ExecOptions & { send?: string }): Promise<string>;
  /** Deletes every namespace and stops every process this net started. Safe to call twice. */
  cleanup(): Promise<void>;
}

export interface TestNetOptions {
  pods: number;
  /** The X in 10.209.X.0/24; any value works since each net is isolated. Default 1. */
  subnet?: number;
  /** Also give every pod an IPv6 address, fd00:209:X::N/64 (N as in the IPv4 one). */
  ipv6?: boolean;
}

const live = new Set<string>();
const children = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort when a test forgot cleanup or the runner is killed between hooks.
  process.on('exit', () => {
    for (const child of children) child.kill('SIGKILL');
    for (const ns of live) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  });
}

export function which(tool: string): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/sbin', '/usr/bin', '/bin']);
  for (const dir of dirs) {
    const candidate = join(dir, tool);
    if (dir !== '' && existsSync(candidate)) return candidate;
  }
  return undefined;
}

const probeCache = new Map<string, string | undefined>();

function probe(key: string, fn: () => string | undefined): string | undefined {
  if (!probeCache.has(key)) probeCache.set(key, fn());
  return probeCache.get(key);
}

/** Runs `fn(ns)` in a fresh namespace that is deleted afterwards; returns fn's skip reason. */
function withProbeNamespace(fn: (ns: string) => string | undefined): string | undefined {
  const ns = uniqueName('probe');
  try {
    execFileSync('ip', ['netns', 'add', ns], { stdio: 'pipe' });
  } catch (error) {
    return `cannot create a network namespace: ${stderrOf(error)}`;
  }
  try {
    return fn(ns);
  } finally {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      // nothing more to do
    }
  }
}

function stderrOf(error: unknown): string {
  const e = error as { stderr?: Buffer | string; message?: string };
  const text = e.stderr ? e.stderr.toString().trim() : '';
  return text !== '' ? text : e.message ?? String(error);
}

export interface SkipNeeds {
  /** Also require this iptables backend to work on this kernel. */
  iptables?: 'nft' | 'legacy' | 'any';
  /** Also require these executables on PATH (e.g. 'setpriv'). */
  tools?: string[];
}

/**
 * Why netns tests cannot run here, or undefined when they can: not Linux, not root, `ip`
 * missing, namespaces not permitted, or the requested iptables backend missing/unsupported.
 * Prints nothing itself; pass the result to `test(..., { skip })`, which prints it.
 */
export function netnsSkipReason(needs: SkipNeeds = {}): string | undefined {
  const base = probe('base', () => {
    if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
    if (process.getuid?.() !== 0) return 'network namespace tests need root';
    if (!which('ip')) return '`ip` (iproute2) is not installed';
    return withProbeNamespace((ns) => {
      try {
        execFileSync('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up'], { stdio: 'pipe' });
        execFileSync('ip', ['link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', 'eth1', 'netns', ns], { stdio: 'pipe' });
      } catch (error) {
        return `cannot configure links inside a network namespace: ${stderrOf(error)}`;
      }
      return undefined;
    });
  });
  if (base) return base;
  for (const tool of needs.tools ?? []) {
    if (!which(tool)) return `\`${tool}\` is not installed`;
  }
  if (needs.iptables === 'any') {
    const nft = iptablesBackendSkipReason('nft');
    const legacy = iptablesBackendSkipReason('legacy');
    return nft && legacy ? `no iptables backend works: ${nft}; ${legacy}` : undefined;
  }
  if (needs.iptables) return iptablesBackendSkipReason(needs.iptables);
  return undefined;
}

/** Why `iptables-<mode>` cannot manage the nat table here, or undefined when it can. */
export function iptablesBackendSkipReason(mode: 'nft' | 'legacy'): string | undefined {
  return probe(`iptables-${mode}`, () => {
    const binary = `iptables-${mode}`;
    for (const tool of [binary, `${binary}-save`, `${binary}-restore`]) {
      if (!which(tool)) return `\`${tool}\` is not installed (Debian package iptables)`;
    }
    return withProbeNamespace((ns) => {
      try {
        execFileSync('ip', ['netns', 'exec', ns, binary, '-w', '5', '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-m', 'owner', '--uid-owner', '2102', '-j', 'RETURN'], { stdio: 'pipe' });
        execFileSync('ip', ['netns', 'exec', ns, binary, '-w', '5', '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-j', 'REDIRECT', '--to-ports', '4140'], { stdio: 'pipe' });
      } catch (error) {
        return `${binary} does not work on this kernel: ${stderrOf(error)}`;
      }
      return undefined;
    });
  });
}

let counter = 0;

/** A name unique to this process and call, short enough for any kernel name limit. */
export function uniqueName(kind: string): string {
  counter += 1;
  return `weft-${kind}-${process.pid}-${counter}-${randomBytes(2).toString('hex')}`;
}

function nsOf(target: Pod | string): string {
  return typeof target === 'string' ? target : target.ns;
}

function wrapArgv(ns: string, argv: readonly string[], options: ExecOptions): string[] {
  const prefix = ['netns', 'exec', ns];
  if (options.uid !== undefined) {
    const gid = options.gid ?? options.uid;
    prefix.push('setpriv', `--reuid=${options.uid}`, `--regid=${gid}`, '--clear-groups', '--');
  }
  return [...prefix, ...argv];
}

function startProcess(ns: string, argv: readonly string[], options: ExecOptions, defaultTimeout: number | undefined): Spawned {
  const child = spawn('ip', wrapArgv(ns, argv, options), {
    env: options.env ?? process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    stdout += chunk;
    for (const waiter of [...waiters]) {
      const line = findLine(stdout, waiter.pattern);
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
  });
  if (options.input !== undefined) child.stdin?.end(options.input);
  const timeoutMs = options.timeoutMs ?? defaultTimeout;
  const timer = timeoutMs !== undefined ? setTimeout(() => child.kill('SIGKILL'), timeoutMs) : undefined;
  const exited = new Promise<ExecResult>((resolve) => {
    child.on('error', (error) => {
      stderr += String(error);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      children.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    exited,
    waitForLine(pattern: RegExp, waitMs = 10_000): Promise<string> {
      const line = findLine(stdout, pattern);
      if (line !== undefined) return Promise.resolve(line);
      return new Promise((resolve, reject) => {
        const timeout = setTimeout(() => {
          reject(new Error(`no stdout line matching ${pattern} within ${waitMs} ms; stdout: ${JSON.stringify(stdout)}; stderr: ${JSON.stringify(stderr)}`));
        }, waitMs);
        const waiter = {
          pattern,
          resolve: (found: string) => {
            clearTimeout(timeout);
            resolve(found);
          },
        };
        waiters.push(waiter);
        void exited.then(() => {
          if (waiters.includes(waiter)) {
            clearTimeout(timeout);
            reject(new Error(`process exited before printing a line matching ${pattern}; stdout: ${JSON.stringify(stdout)}; stderr: ${JSON.stringify(stderr)}`));
          }
        });
      });
    },
    async stop(graceMs = 2_000): Promise<ExecResult> {
      if (child.exitCode === null && child.signalCode === null) {
        // `ip netns exec` execs the command, so the signal reaches the process itself.
        child.kill('SIGTERM');
        const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const result = await exited;
        clearTimeout(kill);
        return result;
      }
      return exited;
    },
  };
}

function findLine(text: string, pattern: RegExp): string | undefined {
  for (const line of text.split('\n')) {
    if (pattern.test(line)) return line;
  }
  return undefined;
}

function ipSync(args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe' });
}

const CONNECT_CODE = `
import { connect } from 'node:net';
const [host, port, send] = process.argv.slice(1);
const socket = connect({ host, port: Number(port) });
let data = '';
socket.setEncoding('utf8');
socket.setTimeout(5000, () => { process.stdout.write('error: ETIMEDOUT'); process.exit(0); });
socket.on('connect', () => { if (send) socket.write(send); });
socket.on('data', (chunk) => { data += chunk; });
socket.on('end', () => { process.stdout.write(data); socket.end(); });
socket.on('close', () => process.exit(0));
socket.on('error', (error) => { process.stdout.write('error: ' + (error.code ?? error.message)); process.exit(0); });
`;

const NAME = /^weft-[a-z0-9]+-(\d+)-\d+-[0-9a-f]{4}$/;

/**
 * Deletes namespaces this harness left behind in runs that were killed outright (the exit
 * hook cannot run on SIGKILL). Only names whose creating process is gone are touched, so
 * other test runs on the same machine keep theirs. Returns the names deleted.
 */
export function removeStaleNamespaces(): string[] {
  let listing: string;
  try {
    listing = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const line of listing.split('\n')) {
    const name = line.split(' ')[0];
    const pid = Number(NAME.exec(name)?.[1]);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || isAlive(pid)) continue;
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
      removed.push(name);
    } catch {
      // someone else got there first
    }
  }
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let staleRemoved = false;

export async function createTestNet(options: TestNetOptions): Promise<TestNet> {
  installExitHook();
  if (!staleRemoved) {
    staleRemoved = true;
    removeStaleNamespaces();
  }
  const x = options.subnet ?? 1;
  if (!Number.isInteger(x) || x < 0 || x > 255) throw new Error(`subnet must be 0-255, got ${x}`);
  if (!Number.isInteger(options.pods) || options.pods < 1 || options.pods > 250) throw new Error(`pods must be 1-250, got ${options.pods}`);
  const prefix = `10.209.${x}`;
  const hub = uniqueName('hub');
  const pods: Pod[] = [];
  const owned: string[] = [];
  const own = (ns: string): void => {
    ipSync(['netns', 'add', ns]);
    live.add(ns);
    owned.push(ns);
  };

  const spawned = new Set<Spawned>();
  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    await Promise.all([...spawned].map((s) => s.stop(1_000)));
    for (const ns of owned) {
      try {
        ipSync(['netns', 'del', ns]);
      } catch {
        // already gone
      }
      live.delete(ns);
    }
  };

  try {
    own(hub);
    ipSync(['-n', hub, 'link', 'set', 'lo', 'up']);
    ipSync(['-n', hub, 'link', 'add', 'br0', 'type', 'bridge']);
    ipSync(['-n', hub, 'link', 'set', 'br0', 'up']);
    for (let i = 0; i < options.pods; i++) {
      const ns = uniqueName(`pod${i}`);
      own(ns);
      const address = `${prefix}.${i + 2}`;
      // Both ends are born inside their namespaces, so no name is ever taken in the host's.
      ipSync(['link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', `p${i}`, 'netns', hub]);
      ipSync(['-n', hub, 'link', 'set', `p${i}`, 'master', 'br0']);
      ipSync(['-n', hub, 'link', 'set', `p${i}`, 'up']);
      ipSync(['-n', ns, 'link', 'set', 'lo', 'up']);
      ipSync(['-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
      const address6 = options.ipv6 ? `fd00:209:${x}::${i + 2}` : undefined;
      // nodad: the address is usable at once instead of after duplicate address detection.
      if (address6 !== undefined) ipSync(['-n', ns, 'addr', 'add', `${address6}/64`, 'dev', 'eth0', 'nodad']);
      ipSync(['-n', ns, 'link', 'set', 'eth0', 'up']);
      pods.push({ ns, address, index: i, ...(address6 !== undefined ? { address6 } : {}) });
    }
  } catch (error) {
    await cleanup();
    throw new Error(`creating the test network failed: ${stderrOf(error)}`);
  }

  const track = (s: Spawned): Spawned => {
    spawned.add(s);
    void s.exited.then(() => spawned.delete(s));
    return s;
  };

  const net: TestNet = {
    pods,
    hub,
    prefix,
    exec(target, argv, opts = {}) {
      return startProcess(nsOf(target), argv, opts, 20_000).exited;
    },
    async run(target, argv, opts = {}) {
      const result = await net.exec(target, argv, opts);
      if (result.code !== 0) {
        throw new Error(`${argv.join(' ')} (in ${nsOf(target)}) exited ${result.code ?? result.signal}: ${result.stderr.trim()}`);
      }
      return result.stdout;
    },
    spawn(target, argv, opts = {}) {
      return track(startProcess(nsOf(target), argv, opts, undefined));
    },
    spawnNode(target, code, opts = {}) {
      return net.spawn(target, [process.execPath, '--input-type=module', '-e', code, '--', ...(opts.args ?? [])], opts);
    },
    async connect(target, host, port, opts = {}) {
      const argv = [process.execPath, '--input-type=module', '-e', CONNECT_CODE, '--', host, String(port), opts.send ?? ''];
      const result = await startProcess(nsOf(target), argv, opts, opts.timeoutMs ?? 15_000).exited;
      if (result.code !== 0) throw new Error(`connect ${host}:${port} from ${nsOf(target)} failed (${result.code ?? result.signal}): ${result.stderr.trim()}`);
      return result.stdout;
    },
    cleanup,
  };
  return net;
}

/**
 * Node code for a server that listens on `ports` of `host` ('::' for dual stack) and, for every connection,
 * writes one JSON line `{ port, remote, original }` to the client and to stdout, then closes.
 * `original` is the SO_ORIGINAL_DST of the connection ("address:port") or null.
 * Prints `listening` once every port is bound.
 */
export function tagServerCode(ports: readonly number[], name: string, host = '0.0.0.0'): string {
  const nativeIndex = new URL('../../native/index.ts', import.meta.url).href;
  return `
import { createServer } from 'node:net';
const { originalDestination } = await import(${JSON.stringify(nativeIndex)});
const ports = ${JSON.stringify(ports)};
let bound = 0;
for (const port of ports) {
  const server = createServer((socket) => {
    const original = originalDestination(socket);
    const line = JSON.stringify({ name: ${JSON.stringify(name)}, port, remote: socket.remoteAddress, original: original ? original.address + ':' + original.port : null });
    process.stdout.write(line + '\\n');
    socket.end(line);
    socket.on('error', () => {});
  });
  server.listen({ port, host: ${JSON.stringify(host)} }, () => { if (++bound === ports.length) process.stdout.write('listening\\n'); });
}
process.on('SIGTERM', () => process.exit(0));
`;
}

export interface Tag {
  name: string;
  port: number;
  remote: string;
  original: string | null;
}

/** Parses what a tag server sent; throws with the raw text when it is not a tag. */
export function parseTag(text: string): Tag {
  try {
    return JSON.parse(text) as Tag;
  } catch {
    throw new Error(`expected a tag server's reply, got ${JSON.stringify(text)}`);
  }
}
