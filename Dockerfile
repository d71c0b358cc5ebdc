# syntax=docker/dockerfile:1
# One image for every weft role: `weft controller`, `weft proxy` (the sidecar) and
# `weft proxy-init` (the init container, which needs iptables).
#   docker build -t ghcr.io/weft-mesh/weft:0.1.0 --build-arg VERSION=0.1.0 .

ARG NODE_VERSION=24

# --- build: compile TypeScript to dist/ and the SO_ORIGINAL_DST addon to build/ ---------------
# The full image carries cc, make and Node's headers, which the addon build needs.
FROM node:${NODE_VERSION}-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: nothing in the dependency tree needs an install script, and none may run.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY native ./native
COPY src ./src
# The addon is required in the image: a proxy without it cannot learn original destinations.
RUN npm run build \
 && test -f dist/cli.js \
 && test -f build/original_dst.node

# --- deps: production dependencies only, resolved from the same lock file -------------------
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

# --- runtime ---------------------------------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="weft" \
      org.opencontainers.image.description="weft service mesh: controller, proxy and proxy-init in one image" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="https://github.com/weft-mesh/weft" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="docker.io/library/node:${NODE_VERSION}-bookworm-slim"

# Debian's iptables ships both backends (iptables-nft and iptables-legacy, with their -save and
# -restore tools); proxy-init picks the one the node uses. ca-certificates for HTTPS to the API.
RUN apt-get update \
 && apt-get install -y --no-install-recommends iptables ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 65532 weft \
 && useradd --system --uid 65532 --gid 65532 --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin weft

WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/build ./build
COPY --from=build /src/bin ./bin
COPY package.json LICENSE ./
# `weft controller --standalone` reads the example cluster state and keeps its development
# certificates under ./.weft, so the image can run the same demo as the README's first command.
COPY examples ./examples
RUN chmod 0755 bin/weft.js && ln -s /app/bin/weft.js /usr/local/bin/weft \
 && mkdir -p /app/.weft && chown 65532:65532 /app/.weft

# Non-root by default (numeric, so runAsNonRoot can verify it). The injector runs the proxy as
# uid 2102 and proxy-init as root with NET_ADMIN/NET_RAW, through the pod's securityContext.
USER 65532:65532
ENTRYPOINT ["weft"]
CMD ["--help"]
