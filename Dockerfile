# migration-deployer: the API (`serve`), the worker (`worker`), both (`start`) and the CLI.
#
#   docker build -t migration-deployer .
#   docker run --rm migration-deployer --help
#
# Stages: deps (all dependencies) → build (`npm run build`, the same tsc output CI builds)
# → prod-deps (runtime dependencies only) → runtime (dist + control-DB migrations + ui + pg_dump).
# test/ops/image-contents.test.ts reproduces these stages without Docker and runs the result.

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM deps AS build
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:20-bookworm-slim AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:20-bookworm-slim AS runtime
# pg_dump / pg_restore for backups (SPEC §9). Debian bookworm ships PostgreSQL 15's client: a
# pg_dump must be at least as new as the servers it dumps, so for newer target servers install
# postgresql-client-<major> from the PostgreSQL project's apt repository here instead.
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*
# A young generation of 4 MB semi-spaces (V8's default grows to 16 MB each under load): the API
# answers polls with small, short-lived objects, and this keeps it near 120 MB of RSS instead of
# 150-270 MB at the same throughput (npm run bench starts its processes with these options too).
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-semi-space-size=4" \
    HOST=0.0.0.0 \
    PORT=3000 \
    DEPLOYER_CONFIG=/app/migration-deployer.yaml
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# The control database's own migrations are read at start from src/store/migrations, relative
# to the package root (dist/store/control-schema.js resolves ../../src/store/migrations).
COPY src/store/migrations ./src/store/migrations
# The review page's files, served from ui/ at the package root (dist/api/routes/ui.js resolves ../../../ui/).
COPY ui ./ui
# The example config and its example Prisma projects; real deployments mount their own config
# (DEPLOYER_CONFIG) and migrations, or upload them inline with `migration-deployer deploy --dir`.
COPY migration-deployer.yaml ./
COPY migrations-fixtures ./migrations-fixtures
RUN mkdir -p /app/.data/backups && chown -R node:node /app/.data
USER node
EXPOSE 3000 9464
ENTRYPOINT ["tini", "--", "node", "dist/cli/main.js"]
CMD ["start"]
