import * as tls from 'node:tls';
import * as net from 'node:net';
import { registerRaw, SOCKET_OPTIONS } from './relay.ts';
import type { Credentials, CredentialSource } from './credentials.ts';
import { meshAlpn, parseMeshAlpn, provesIdentity } from './mesh.ts';

// TLS state of the mesh, rebuilt once per certificate rotation and shared by every
// connection: one server (never listening; inbound hands it sockets it has already peeked
// at) and one client context. Client sessions are cached per peer so that repeat
// connections to the same peer resume instead of paying for a full handshake.

const SESSION_CACHE_MAX = 1024;

export interface MeshTlsOptions {
  source: CredentialSource;
  handshakeTimeoutMs?: number;
  /** A rotated certificate could not be installed; the previous one stays in use. */
  onInstallError?: (error: Error) => void;
}

export class MeshTls {
  readonly server: tls.Server;
  #credentials: Credentials | undefined;
  #client: tls.SecureContext | undefined;
  readonly #sessions = new Map<string, Buffer>();
  readonly #rotated: ((c: Credentials) => void)[] = [];

  constructor(options: MeshTlsOptions) {
    this.server = tls.createServer({
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.3',
      handshakeTimeout: options.handshakeTimeoutMs ?? 10_000,
      // Only a weft proxy's ALPN id is accepted; any other offer (or none) fails the handshake.
      ALPNCallback: ({ protocols }) => protocols.find((id) => parseMeshAlpn(id) !== undefined),
    });
    const install = (credentials: Credentials): void => {
      try {
        this.#install(credentials);
      } catch (error) {
        options.onInstallError?.(error as Error);
      }
    };
    options.source.onRotate(install);
    const now = options.source.current();
    if (now !== undefined) install(now);
  }

  #install(credentials: Credentials): void {
    if (credentials === this.#credentials) return;
    const material = { key: credentials.keyPem, cert: credentials.certChainPem, ca: credentials.trustAnchorsPem, minVersion: 'TLSv1.3' as const };
    // Built (and so checked: key against certificate) before anything is swapped in, so a bad
    // rotation changes nothing; the server takes the same material.
    const client = tls.createSecureContext(material);
    this.#client = client;
    this.server.setSecureContext(material);
    this.#sessions.clear();
    this.#credentials = credentials;
    for (const listener of this.#rotated) listener(credentials);
  }

  onRotate(listener: (c: Credentials) => void): void {
    this.#rotated.push(listener);
  }

  /** This proxy's identity; undefined until it holds a certificate. */
  get identity(): string | undefined {
    return this.#credentials?.identity;
  }

  /** Whether the certificate is present and within its validity period. */
  ready(now: Date = new Date()): boolean {
    return this.#credentials !== undefined && this.#credentials.notAfter.getTime() > now.getTime();
  }

  /** Hands an accepted (already peeked, data unshifted) socket to the mesh TLS server. */
  accept(socket: net.Socket): void {
    this.server.emit('connection', socket);
  }

  /** Opens mesh TLS to a peer proxy, demanding that its certificate proves `identity`. */
  connect(target: { host: string; port: number }, identity: string, originalPort: number): tls.TLSSocket {
    const context = this.#client;
    if (context === undefined) throw new Error('no workload certificate yet');
    const key = `${identity}@${target.host}`;
    // Our own TCP socket under the TLS one: it carries allowHalfOpen, and it is what can send
    // an RST when the app's side was reset.
    const raw = net.connect({ host: target.host, port: target.port, ...SOCKET_OPTIONS });
    raw.on('error', () => {}); // surfaces on the TLS socket
    const connectOptions: tls.ConnectionOptions = {
      socket: raw,
      servername: identity,
      secureContext: context,
      minVersion: 'TLSv1.3',
      ALPNProtocols: [meshAlpn(originalPort)],
      session: this.#sessions.get(key),
      checkServerIdentity: (_host, cert) =>
        provesIdentity(cert.subjectaltname, identity) ? undefined : new Error(`peer certificate does not prove identity ${identity} (it has ${cert.subjectaltname ?? 'no subjectAltName'})`),
    };
    const socket = tls.connect(connectOptions);
    registerRaw(socket, raw);
    socket.on('session', (session: Buffer) => {
      if (this.#sessions.size >= SESSION_CACHE_MAX) this.#sessions.delete(this.#sessions.keys().next().value as string);
      this.#sessions.set(key, session);
    });
    return socket;
  }
}
