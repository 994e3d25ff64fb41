#!/usr/bin/env bash
# Makes .env ready for the compose stack: copies .env.example when there is no .env, then adds
# each stack secret that is missing, freshly generated (never a committed default).
# Existing values are kept. Usage: scripts/stack/init-env.sh [path/to/.env]
set -euo pipefail
cd "$(dirname "$0")/../.."
ENV_FILE=${1:-.env}

if [[ ! -f $ENV_FILE ]]; then
  # Created private: it will hold passwords (never readable by others, not even for a moment).
  (umask 077 && cp .env.example "$ENV_FILE")
  chmod 600 "$ENV_FILE"
  echo "created $ENV_FILE from .env.example"
fi

random() { node -e "process.stdout.write(require('node:crypto').randomBytes($1).toString('base64url'))"; }
has() { grep -Eq "^[[:space:]]*$1=.+" "$ENV_FILE"; }
add() {
  has "$1" && return 0
  if ! grep -q '^# --- generated for the compose stack' "$ENV_FILE"; then
    printf '\n# --- generated for the compose stack by scripts/stack/init-env.sh ---\n' >> "$ENV_FILE"
  fi
  printf '%s=%s\n' "$1" "$2" >> "$ENV_FILE"
  echo "added $1 to $ENV_FILE"
}

# URL-safe values: DATABASE_URL embeds the password as is.
add POSTGRES_PASSWORD "$(random 24)"
add GRAFANA_ADMIN_PASSWORD "$(random 18)"
add PGADMIN_PASSWORD "$(random 18)"
add BOOTSTRAP_API_KEY "sk-$(random 32)"
