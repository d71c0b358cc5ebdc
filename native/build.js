// Builds the SO_ORIGINAL_DST addon when its source is present (see native/README.md).
import { existsSync } from 'node:fs';
if (!existsSync(new URL('./original_dst.c', import.meta.url))) process.exit(0);
await import('./compile.js');
