# referral-engine: one image for every engine role (ENGINE_ROLES=worker | bridge | worker,bridge).
# Built by docker-compose.yml; runs TypeScript directly through tsx (no separate build step).
FROM node:20-bookworm-slim

WORKDIR /app

# Dependencies first, so source edits do not invalidate the npm layer.
# All dependencies, dev ones included: tsx (a devDependency) runs the engine.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund && npm cache clean --force

# Source folders (the ones tsconfig.json includes, minus test/ and bench/).
COPY tsconfig.json ./
COPY config ./config
COPY schemas ./schemas
COPY domain ./domain
COPY messaging ./messaging
COPY workflows ./workflows
COPY activities ./activities
COPY bridge ./bridge
COPY workers ./workers
COPY api ./api
COPY codec ./codec
COPY cli ./cli
COPY scripts ./scripts

# Workflows bundled once, here: the worker loads this file instead of running webpack at every
# start (start-up and idle memory: README "Performance").
RUN npm run bundle-workflows -- --out /app/dist/workflows.bundle.js
ENV WORKER_WORKFLOW_BUNDLE=/app/dist/workflows.bundle.js

# The worker's heap budget, with WORKER_MAX_CACHED_WORKFLOWS=450: without it V8 sizes the heap from
# the machine's memory and leaves garbage uncollected (RSS grew ~40 KiB per open referral past the
# cache; with it RSS stays flat: README "Performance"). Raise both together.
ENV NODE_OPTIONS=--max-old-space-size=384

# Files stay root-owned (read-only to the process); the engine runs unprivileged.
USER node

CMD ["node", "--import", "tsx", "workers/engine.ts"]
