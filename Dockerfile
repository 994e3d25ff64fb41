# syntax=docker/dockerfile:1
# The api image (default target) and the playground's static server (target "ui").
#   docker build -t llm-server .            docker build --target ui -t llm-server-ui .
# glibc (Debian slim), not Alpine: onnxruntime-node ships glibc binaries.
# Node: ^20.19.0 || ^22.13.0 || >=24.0.0 (package.json engines); 20 is what CI runs.
ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: every dependency, compile the server and the playground, generate the model ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# .npmrc runs no dependency install scripts, with the image's own npm.
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json models.yaml ./
COPY src ./src
COPY migrations ./migrations
COPY scripts ./scripts
COPY ui ./ui
RUN npm run build
# The bundled default model (deterministic bytes, ~30 MB), so containers start without building it.
RUN node dist/src/model-tools/cli/build.js --out models/tiny
# The bundled encoder (models/embed, ~4 MB) for /v1/embeddings, likewise.
RUN node -e "require('./dist/src/model-tools/encoder/bundled-encoder.js').ensureBundledEncoder('models/embed')"

# ---- prod-deps: production dependencies only ----
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# ---- ui: the built playground behind an unprivileged nginx on 8080 ----
FROM nginxinc/nginx-unprivileged:1.28-alpine AS ui
COPY nginx/ui.conf /etc/nginx/conf.d/default.conf
COPY --from=build /app/ui/dist /usr/share/nginx/html/ui
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD wget -q -O /dev/null http://127.0.0.1:8080/healthz || exit 1

# ---- runtime (default): slim, production dependencies, non-root ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    DATA_DIR=/app/data \
    MODELS_CONFIG=/app/models.yaml
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/dist ./dist
COPY --from=build /app/ui/dist ./ui/dist
COPY --from=build /app/models ./models
COPY --from=build /app/models.yaml ./models.yaml
# The node image's unprivileged user owns only what the server may write.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# SIGTERM reaches node directly (exec form): in-flight requests finish and logs are flushed.
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/main.js"]
