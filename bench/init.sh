#!/usr/bin/env bash
# GET /api/init throughput of one accountd binary on one database, for
# before/after comparisons of two builds (see docs/BENCHMARKS.md). Needs wrk.
#   bash bench/init.sh BINARY DATABASE_URL PORT
# DATABASE_URL is sqlite:///path/new.db or postgres://.../fresh_database.
set -euo pipefail
BIN=$1; DB=$2; PORT=$3; BASE="http://127.0.0.1:$PORT"
WORK="$(mktemp -d)"
export ACCOUNTD_DATABASE_URL="$DB" ACCOUNTD_DATA_DIR="$WORK" ACCOUNTD_BIND="127.0.0.1:$PORT" ACCOUNTD_LOG=warn ACCOUNTD_BCRYPT_COST=4 ACCOUNTD_SECRET=benchbenchbenchbenchbenchbenchbenchbench
echo 'correct horse battery staple' | "$BIN" user add --username "bench$PORT" --email bench@example.com >/dev/null
"$BIN" > "$WORK/out.txt" 2> "$WORK/err.txt" &
SERVER=$!
trap 'kill $SERVER; wait $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 50); do curl -sf "$BASE/health/live" >/dev/null && break; sleep 0.1; done
TOKEN=$(curl -s -D - -o /dev/null -X POST "$BASE/api/login" -H 'Content-Type: application/json' -d "{\"username\":\"bench$PORT\",\"password\":\"correct horse battery staple\"}" | awk -F': ' 'tolower($1)=="authorization" {print $2}' | tr -d '\r')
wrk -t1 -c32 -d10s -H "Authorization: Bearer $TOKEN" "$BASE/api/init" | grep -E "Requests/sec|Non-2xx"
awk '/VmHWM/ {print $2/1024 " MB peak RSS"}' "/proc/$SERVER/status"
