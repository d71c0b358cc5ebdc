// A loopback stand-in for kube-apiserver: plain HTTP or HTTPS (optionally requiring a client
// certificate), routes given by each test, every request recorded. The PKI is made with the
// openssl CLI, as the k8s-e2e tool makes the real cluster's.
import { execFileSync, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';

export interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  authorization: string | undefined;
  /** The client certificate's subject CN, over TLS with a client certificate. */
  clientCN: string | undefined;
  body: string;
}

export type Route = (request: Recorded, response: http.ServerResponse) => void;

export interface StandIn {
  url: string;
  port: number;
  requests: Recorded[];
  /** Open watch responses, so tests can push events or drop them. */
  watches: http.ServerResponse[];
  close(): Promise<void>;
}

export const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

export interface Pki {
  dir: string;
  caPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  /** Paths of the files, for kubeconfigs that name them. */
  files: { ca: string; clientCert: string; clientKey: string };
  cleanup(): void;
}

/** A CA, a server certificate for 127.0.0.1 and kubernetes.test, and a client certificate (CN weft-test). */
export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'weft-kube-pki-'));
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=stand-in-ca');
  const sign = (name: string, subject: string, extensions: string) => {
    run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
    writeFileSync(join(dir, `${name}.ext`), extensions);
    run('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`);
  };
  sign('server', '/CN=kube-apiserver', 'subjectAltName=IP:127.0.0.1,DNS:kubernetes.test\nextendedKeyUsage=serverAuth\n');
  sign('client', '/O=system:masters/CN=weft-test', 'extendedKeyUsage=clientAuth\n');
  const read = (name: string) => readFileSync(join(dir, name), 'utf8');
  return {
    dir,
    caPem: read('ca.crt'),
    serverCertPem: read('server.crt'),
    serverKeyPem: read('server.key'),
    files: { ca: join(dir, 'ca.crt'), clientCert: join(dir, 'client.crt'), clientKey: join(dir, 'client.key') },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Starts the stand-in; `tls` makes it HTTPS, `requireClientCert` asks for and checks a client certificate. */
export async function startStandIn(route: Route, tls?: { pki: Pki; requireClientCert?: boolean }): Promise<StandIn> {
  const requests: Recorded[] = [];
  const watches: http.ServerResponse[] = [];
  const handler = (request: http.IncomingMessage, response: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://stand-in');
      const socket = request.socket as TLSSocket;
      const peer = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : undefined;
      const recorded: Recorded = {
        method: request.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        authorization: request.headers.authorization,
        clientCN: peer && typeof peer.subject?.CN === 'string' ? peer.subject.CN : undefined,
        body: Buffer.concat(chunks).toString(),
      };
      requests.push(recorded);
      if (url.searchParams.get('watch') === 'true') watches.push(response);
      route(recorded, response);
    });
  };
  const server = tls
    ? https.createServer({ cert: tls.pki.serverCertPem, key: tls.pki.serverKeyPem, ca: tls.pki.caPem, requestCert: tls.requireClientCert === true, rejectUnauthorized: tls.requireClientCert === true }, handler)
    : http.createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    requests,
    watches,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export function json(response: http.ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

export function status(response: http.ServerResponse, code: number, reason: string, message: string): void {
  json(response, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

/** Starts a watch answer and writes events to it as the API server does, one JSON per line. */
export function sendEvents(response: http.ServerResponse, events: readonly unknown[]): void {
  if (!response.headersSent) response.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
  for (const event of events) response.write(`${JSON.stringify(event)}\n`);
}

/** Polls until `probe` is true (events travel over sockets; tests wait for their effect). */
export async function until(what: string, probe: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
