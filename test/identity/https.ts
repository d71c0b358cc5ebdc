import { request } from 'node:https';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: { error?: string; message?: string; certificate?: string; chain?: string[]; expiresAt?: string; identity?: string };
}

/** A bare HTTPS POST that verifies the identity endpoint like a proxy does (trust anchor + server name). */
export function post(opts: { port: number; ca: string; servername: string; path?: string; headers?: Record<string, string>; body: string | Buffer }): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: opts.port, path: opts.path ?? '/v1/certify', method: 'POST', ca: opts.ca, servername: opts.servername, agent: false, headers: { 'content-type': 'application/json', ...opts.headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let body: RawResponse['body'];
          try {
            body = JSON.parse(text) as RawResponse['body'];
          } catch {
            body = { message: text };
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        });
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}
