import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SOURCE_WEFT = join(ROOT, 'bin/weft.js');

/**
 * The image runs tsc's output, not the sources through type stripping (whose compiler alone
 * adds ~30 MB of RSS), so benchmarks run weft from a private build in `dir` and report what
 * the image would. WEFT_BENCH_SOURCE=1 runs the sources instead.
 */
export function buildWeft(dir: string, entry = 'dist/cli.js'): string {
  if (process.env.WEFT_BENCH_SOURCE === '1') return SOURCE_WEFT;
  const root = join(dir, 'weft');
  mkdirSync(join(root, 'bin'), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
  symlinkSync(join(ROOT, 'build'), join(root, 'build'));
  symlinkSync(join(ROOT, 'examples'), join(root, 'examples'));
  copyFileSync(join(ROOT, 'package.json'), join(root, 'package.json'));
  copyFileSync(SOURCE_WEFT, join(root, 'bin/weft.js'));
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(root, 'dist')], { stdio: 'pipe' });
  } catch {
    // Type errors elsewhere in the tree still emit JavaScript; only a missing entry point matters.
  }
  readFileSync(join(root, entry));
  return join(root, 'bin/weft.js');
}
