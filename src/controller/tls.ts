import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../log.ts';

export interface ServingCertificate {
  cert: Buffer;
  key: Buffer;
  notAfter: Date;
  fingerprint: string;
}

/** Reads a certificate/key pair and checks that they belong together before anything uses them. */
export async function loadServingCertificate(certFile: string, keyFile: string): Promise<ServingCertificate> {
  const [cert, key] = await Promise.all([readFile(certFile), readFile(keyFile)]);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (error) {
    throw new Error(`${certFile}: not a PEM certificate (${(error as Error).message})`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    throw new Error(`${keyFile}: not a PEM private key (${(error as Error).message})`);
  }
  if (!x509.checkPrivateKey(privateKey)) throw new Error(`${keyFile} does not match the certificate in ${certFile}`);
  return { cert, key, notAfter: new Date(x509.validTo), fingerprint: createHash('sha256').update(cert).digest('hex') };
}

export interface CertificateWatcherOptions {
  certFile: string;
  keyFile: string;
  log: Logger;
  /** Called with each new valid pair; the server swaps its secure context for new handshakes. */
  onChange: (certificate: ServingCertificate) => void;
  /** Fallback poll, for filesystems where watch events are lost. */
  pollMs?: number;
}

/**
 * Follows the serving certificate on disk. Kubernetes updates a mounted Secret by swapping the
 * `..data` symlink in the directory, so the directory is watched, not the files; a half-written
 * or mismatched pair is logged and ignored, and the old certificate keeps serving.
 */
export class CertificateWatcher {
  private readonly options: CertificateWatcherOptions;
  private readonly watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private current: ServingCertificate | undefined;
  private reloading = false;

  constructor(options: CertificateWatcherOptions) {
    this.options = options;
  }

  get certificate(): ServingCertificate | undefined {
    return this.current;
  }

  async start(): Promise<ServingCertificate> {
    this.current = await loadServingCertificate(this.options.certFile, this.options.keyFile);
    for (const directory of new Set([dirname(this.options.certFile), dirname(this.options.keyFile)])) {
      try {
        const watcher = watch(directory, () => this.schedule());
        watcher.on('error', () => undefined);
        this.watchers.push(watcher);
      } catch {
        // Polling below still notices changes.
      }
    }
    this.timer = setInterval(() => this.schedule(), this.options.pollMs ?? 10_000);
    this.timer.unref();
    return this.current;
  }

  private schedule(): void {
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.reload(), 100);
    this.debounce.unref();
  }

  async reload(): Promise<boolean> {
    if (this.reloading) return false;
    this.reloading = true;
    try {
      const next = await loadServingCertificate(this.options.certFile, this.options.keyFile);
      if (next.fingerprint === this.current?.fingerprint) return false;
      this.current = next;
      this.options.onChange(next);
      this.options.log.info({ notAfter: next.notAfter.toISOString(), fingerprint: next.fingerprint.slice(0, 16) }, 'serving certificate reloaded');
      return true;
    } catch (error) {
      this.options.log.warn({ err: (error as Error).message }, 'serving certificate not reloaded; keeping the current one');
      return false;
    } finally {
      this.reloading = false;
    }
  }

  close(): void {
    for (const watcher of this.watchers) watcher.close();
    if (this.timer) clearInterval(this.timer);
    if (this.debounce) clearTimeout(this.debounce);
  }
}
