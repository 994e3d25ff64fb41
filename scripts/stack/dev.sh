#!/usr/bin/env bash
# Embedded mode with watch (`make dev`): the api restarts on every source change (nest --watch)
# and the playground rebuilds into ui/dist, which the api serves at /ui/. Ctrl+C stops both.
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ -f ui/dist/index.html ]] || npm run ui:build
npx vite build --config ui/vite.config.ts --watch --logLevel warn &
UI_PID=$!
trap 'kill "$UI_PID" 2>/dev/null || true' EXIT INT TERM
npm run start:dev
