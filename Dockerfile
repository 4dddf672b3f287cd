# syntax=docker/dockerfile:1
# airlock, the reference service, as a production image. Build from the repository root:
#   docker build -t airlock:latest .
# Nothing secret goes into a layer: SECRET_KEY, METRICS_TOKEN, DATABASE_URL, AUDIT_DB and the
# rest come from the environment at run time (ops/compose.yml, a Kubernetes Secret).
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS base
WORKDIR /app

# A compiler for native modules that have no prebuilt binary for the platform (better-sqlite3).
# Only the build stages have it.
FROM base AS toolchain
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY packages/rampart/package.json packages/rampart/
COPY examples/airlock/package.json examples/airlock/

# Every dependency, then rampart's dist/ and airlock's dist/ (JavaScript; no tsx at run time).
FROM toolchain AS build
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json ./
COPY packages/rampart packages/rampart
COPY examples/airlock examples/airlock
RUN npm run build -w rampart && npm run build -w airlock

# Production dependencies only.
FROM toolchain AS deps
RUN npm ci --omit=dev --no-audit --no-fund

FROM base AS runtime
# tini is PID 1: it forwards SIGTERM to node (graceful shutdown) and reaps zombies.
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 DATA_DIR=/data
COPY --from=deps /app/node_modules node_modules
COPY --from=build /app/package.json ./
COPY --from=build /app/packages/rampart/package.json packages/rampart/
COPY --from=build /app/packages/rampart/bin packages/rampart/bin
COPY --from=build /app/packages/rampart/dist packages/rampart/dist
COPY --from=build /app/examples/airlock/package.json examples/airlock/
COPY --from=build /app/examples/airlock/dist examples/airlock/dist
RUN mkdir -p /data && chown node:node /data
VOLUME /data
# The image's unprivileged user (uid 1000; the Kubernetes Deployment runs as that uid).
USER node
WORKDIR /app/examples/airlock
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:3000/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--import", "rampart/otel", "dist/src/main.js"]
