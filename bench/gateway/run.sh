#!/usr/bin/env bash
# Gateway overhead, side by side in one run: the mock upstream alone, Portkey's open-source
# gateway, and this server (auth, rate limits, quotas, logs and metrics on; the completion cache
# bypassed with Cache-Control: no-store so every request really goes upstream, and a second
# target that serves the same request from the cache). Prints the harness's SUMMARY lines and
# our ratios. Needs wrk (apt-get install -y wrk) and a built project (npm run build).
#   bench/gateway/run.sh [-c 32] [-d 15] [-r 2] [--no-portkey] ...   (run-peer.sh options)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PEER=${PEER_BENCH:-$ROOT/../shared/bench/peer-gateway/run-peer.sh}
[[ -x $PEER || -f $PEER ]] || { echo "peer harness not found at $PEER (set PEER_BENCH)" >&2; exit 1; }
[[ -f $ROOT/dist/src/main.js ]] || (cd "$ROOT" && npm run build >/dev/null)

KEY=sk-bench-$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32)
WORK=$(mktemp -d)
chmod 755 "$WORK"  # the embedded PostgreSQL runs as another user
trap 'rm -rf "$WORK"' EXIT
# Limits on, but high enough never to refuse the load: the limiter's cost is what we measure.
COMMON="BOOTSTRAP_API_KEY=$KEY LOG_LEVEL=${BENCH_LOG_LEVEL:-info} MODELS_CONFIG=$ROOT/bench/gateway/models.bench.yaml"
LIMITS_ON="RATE_LIMIT_RPM_ADMIN=1000000000 RATE_LIMIT_TPM_ADMIN=100000000000 QUOTA_TOKENS_ADMIN=1000000000000000"
LIMITS_OFF="RATE_LIMIT_RPM_ADMIN=unlimited RATE_LIMIT_TPM_ADMIN=unlimited QUOTA_TOKENS_ADMIN=unlimited"
start() { # data-dir limits
  echo "env -C $ROOT $COMMON $2 DATA_DIR=$WORK/$1 MOCK_BASE={MOCK_BASE} PORT={PORT} node dist/src/main.js"
}

bash "$PEER" "$@" \
  --target llm-server 'http://127.0.0.1:{PORT}/v1/chat/completions' -H "X-API-Key: $KEY" -H 'Cache-Control: no-store' \
    --start "$(start a "$LIMITS_ON")" \
  --target llm-server-nolimits 'http://127.0.0.1:{PORT}/v1/chat/completions' -H "X-API-Key: $KEY" -H 'Cache-Control: no-store' \
    --start "$(start b "$LIMITS_OFF")" \
  --target llm-server-cached 'http://127.0.0.1:{PORT}/v1/chat/completions' -H "X-API-Key: $KEY" \
    --start "$(start c "$LIMITS_ON")" | tee "$WORK/summary.txt"

node -e '
const text = require("fs").readFileSync(process.argv[1], "utf8");
const lines = text.split("\n").filter((l) => l.startsWith("SUMMARY"));
const get = (t) => { const l = lines.find((x) => x.includes(`target=${t} `)); if (!l) return null;
  const num = (k) => Number((l.match(new RegExp(k + "=([0-9.]+)")) || [])[1]); return { rps: num("rps"), p50: num("p50_ms"), addedP50: num("added_p50_ms"), addedP99: num("added_p99_ms") }; };
const us = get("llm-server"), pk = get("portkey"), direct = get("direct"), cached = get("llm-server-cached"), nolim = get("llm-server-nolimits");
if (us && pk) console.log(`RATIO llm-server/portkey requests/s = ${(us.rps / pk.rps).toFixed(2)}x (target >= 2.5x)`);
// Round by round (Portkey then us, about 30 s apart): on a machine whose speed drifts over minutes
// the ratio of each round is steadier than the ratio of the averages; both are printed.
const rounds = (t) => text.split("\n").filter((l) => l.startsWith(`RESULT target=${t} `)).map((l) => Number((l.match(/ rps=([0-9.]+)/) || [])[1]));
const [usR, pkR] = [rounds("llm-server"), rounds("portkey")];
if (usR.length && usR.length === pkR.length) {
  const per = usR.map((v, i) => v / pkR[i]); const sorted = [...per].sort((a, b) => a - b);
  const median = sorted.length % 2 ? sorted[sorted.length >> 1] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  console.log(`RATIO llm-server/portkey per round: ${per.map((r) => r.toFixed(2)).join(" ")}; median ${median.toFixed(2)}x`);
}
if (us && direct) console.log(`RATIO llm-server/mock-alone requests/s = ${(us.rps / direct.rps).toFixed(3)}; added p50 ${us.addedP50} ms, p99 ${us.addedP99} ms`);
if (us && nolim) console.log(`RATIO limits+quotas on/off requests/s = ${(us.rps / nolim.rps).toFixed(3)} (target >= 0.75); p50 ${us.p50} vs ${nolim.p50} ms`);
if (cached && us) console.log(`RATIO cache hits/upstream requests/s = ${(cached.rps / us.rps).toFixed(2)}x`);
' "$WORK/summary.txt"
