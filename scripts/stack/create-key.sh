#!/usr/bin/env bash
# Creates an API key through the admin API and prints the answer (the plaintext `key` is in it,
# shown this once). Works against the compose stack (`make up`) and against `npm start`.
# Usage (all optional):
#   LABEL=alice ROLE=user RPM=60 TPM=100000 QUOTA=1000000 URL=http://127.0.0.1:8000 \
#   ADMIN_KEY=sk-... scripts/stack/create-key.sh
# ADMIN_KEY defaults to BOOTSTRAP_API_KEY from the environment or .env. URL defaults to the first
# server that answers /healthz: the stack's nginx (localhost:$NGINX_PORT, 8080), then the
# `npm start` server (127.0.0.1:$PORT, 8000; PORT from the environment or .env). ENV_FILE names
# another file than .env.
# See docs/first-start.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
ENV_FILE=${ENV_FILE:-.env}

# The last `NAME=value` in .env, quotes removed (what dotenv would read for simple values).
from_env_file() {
  [[ -f $ENV_FILE ]] || return 0
  grep -E "^[[:space:]]*$1=" "$ENV_FILE" | tail -1 | cut -d= -f2- | tr -d '"'"'" || true
}

if [[ -z ${ADMIN_KEY:-} ]]; then
  ADMIN_KEY=${BOOTSTRAP_API_KEY:-$(from_env_file BOOTSTRAP_API_KEY)}
fi
if [[ -z $ADMIN_KEY ]]; then
  cat >&2 <<'EOF'
make key: no admin key known. Pass the admin key the server printed at its first start:
  make key ADMIN_KEY=sk-... LABEL=alice
or set BOOTSTRAP_API_KEY=sk-<at least 20 letters, digits, - or _> in .env and restart the server
(it registers that key as an admin key).
EOF
  exit 2
fi

answers() { curl -fsS -o /dev/null -m 3 "$1/healthz" 2>/dev/null; }
if [[ -z ${URL:-} ]]; then
  nginx_port=${NGINX_PORT:-$(from_env_file NGINX_PORT)}
  stack=http://localhost:${nginx_port:-8080}
  port=${PORT:-$(from_env_file PORT)}
  local_server=http://127.0.0.1:${port:-8000}
  for candidate in "$stack" "$local_server"; do
    if answers "$candidate"; then URL=$candidate; break; fi
  done
  if [[ -z ${URL:-} ]]; then
    echo "make key: no server answers at $stack (make up) or $local_server (npm start); start one, or set URL=http://host:port" >&2
    exit 3
  fi
fi

BODY=$(LABEL=${LABEL:-cli-$(date +%Y%m%d-%H%M%S)} ROLE=${ROLE:-user} node -e '
  const e = process.env, body = { label: e.LABEL, role: e.ROLE };
  for (const [field, name] of [["rpm", "RPM"], ["tpm", "TPM"], ["quota_tokens", "QUOTA"]]) if (e[name]) body[field] = Number(e[name]);
  process.stdout.write(JSON.stringify(body));')

# The key goes in a header read from stdin, so it never shows in the process list.
printf 'X-API-Key: %s\n' "$ADMIN_KEY" | curl -sS --fail-with-body -X POST "$URL/admin/keys" \
  -H @- -H 'content-type: application/json' --data "$BODY"
echo
