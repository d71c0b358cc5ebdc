import { readFile } from 'node:fs/promises';

export interface TokenFileOptions {
  /** How long a read token is used before the file is read again (kubelet rotates projected tokens well before they expire). */
  refreshMs?: number;
  now?: () => number;
}

/**
 * A bearer token read from a file and re-read once it is `refreshMs` old, because the kubelet
 * rotates projected service-account tokens in place. A failed re-read keeps the last token (the
 * file is swapped through a symlink and may be missing for an instant); a failed first read is
 * an error that names the file.
 */
export function tokenFromFile(path: string, options: TokenFileOptions = {}): () => Promise<string> {
  const refreshMs = options.refreshMs ?? 60_000;
  const now = options.now ?? Date.now;
  let token: string | undefined;
  let readAt = 0;
  let reading: Promise<string> | undefined;
  const read = async (): Promise<string> => {
    let next: string;
    try {
      next = (await readFile(path, 'utf8')).trim();
      if (next === '') throw new Error('the file is empty');
    } catch (error) {
      if (token !== undefined) return token;
      throw new Error(`cannot read token file ${path}: ${(error as Error).message}`);
    }
    token = next;
    readAt = now();
    return next;
  };
  return () => {
    if (token !== undefined && now() - readAt < refreshMs) return Promise.resolve(token);
    reading ??= read().finally(() => {
      reading = undefined;
    });
    return reading;
  };
}
