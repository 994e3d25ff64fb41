#!/usr/bin/env bash
# Creates an API key through the admin API and prints the answer (the plaintext `key` is in it,
# shown this once). Usage (all optional):
#   LABEL=alice ROLE=user RPM=60 TPM=100000 QUOTA=1000000 URL=http://localhost:8080 \
#   ADMIN_KEY=sk-... scripts/stack/create-key.sh
# ADMIN_KEY defaults to BOOTSTRAP_API_KEY from the environment or .env.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [[ -z ${ADMIN_KEY:-} ]]; then
  ADMIN_KEY=${BOOTSTRAP_API_KEY:-}
  if [[ -z $ADMIN_KEY && -f .env ]]; then
    ADMIN_KEY=$(grep -E '^[[:space:]]*BOOTSTRAP_API_KEY=' .env | tail -1 | cut -d= -f2- | tr -d '"'"'" || true)
  fi
fi
[[ -n $ADMIN_KEY ]] || { echo "no admin key: set ADMIN_KEY (or BOOTSTRAP_API_KEY in .env)" >&2; exit 1; }

URL=${URL:-http://localhost:${NGINX_PORT:-8080}}
BODY=$(LABEL=${LABEL:-cli-$(date +%Y%m%d-%H%M%S)} ROLE=${ROLE:-user} node -e '
  const e = process.env, body = { label: e.LABEL, role: e.ROLE };
  for (const [field, name] of [["rpm", "RPM"], ["tpm", "TPM"], ["quota_tokens", "QUOTA"]]) if (e[name]) body[field] = Number(e[name]);
  process.stdout.write(JSON.stringify(body));')

# The key goes in a header read from stdin, so it never shows in the process list.
printf 'X-API-Key: %s\n' "$ADMIN_KEY" | curl -sS --fail-with-body -X POST "$URL/admin/keys" \
  -H @- -H 'content-type: application/json' --data "$BODY"
echo
