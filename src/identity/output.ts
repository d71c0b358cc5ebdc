import { mkdir, writeFile, access, rename } from 'node:fs/promises';
import { join } from 'node:path';

export interface OutputFile {
  name: string;
  content: string;
  /** Private keys are 0600. */
  secret?: boolean;
}

export class OutputExistsError extends Error {
  override name = 'OutputExistsError';
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes a set of PEM files into `dir`. Without `force`, nothing is written if any of them exists,
 * so a half-rotated set (new key, old certificate) can never be left behind.
 */
export async function writeOutputs(dir: string, files: readonly OutputFile[], force: boolean): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const paths = files.map((file) => join(dir, file.name));
  if (!force) {
    const taken = [];
    for (const path of paths) if (await exists(path)) taken.push(path);
    if (taken.length > 0) throw new OutputExistsError(`refusing to overwrite ${taken.join(', ')} (use --force to replace)`);
  }
  for (const [index, file] of files.entries()) {
    const tmp = join(dir, `.${file.name}.${process.pid}.tmp`);
    await writeFile(tmp, file.content, { mode: file.secret ? 0o600 : 0o644, flag: 'wx' });
    await rename(tmp, paths[index]!);
  }
  return paths;
}
