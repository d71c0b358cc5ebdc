#!/usr/bin/env bash
# Puts Node.js 24 into ./.node24 from the npm registry's `node` package (its binary ships
# inside the package), for machines whose system Node is older. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x .node24/node_modules/.bin/node ] && [[ "$(.node24/node_modules/.bin/node --version)" == v24.* ]]; then exit 0; fi
npm install --prefix .node24 --no-audit --no-fund --no-save node@24 >/dev/null
.node24/node_modules/.bin/node --version
