#!/usr/bin/env bash
# Load benchmarks against the release binary (see docs/BENCHMARKS.md).
# Needs wrk (apt-get install wrk). Traffic goes to 127.0.0.1 only.
#   bash bench/load.sh [DURATION_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
DUR="${1:-20}"
PORT=18080
BASE="http://127.0.0.1:$PORT"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
cargo build --release -q -p accountd
BIN=target/release/accountd
WORK="$(mktemp -d)"
# The server drains queued logins (up to 30 s) before it exits: wait for it,
# so that no run overlaps the next one.
trap 'kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null; rm -rf "$WORK"' EXIT
export ACCOUNTD_DATABASE_URL="sqlite://$WORK/bench.db" ACCOUNTD_DATA_DIR="$WORK" \
       ACCOUNTD_BIND="127.0.0.1:$PORT" ACCOUNTD_LOG=warn ACCOUNTD_BCRYPT_COST=12 \
       ACCOUNTD_HASH_QUEUE=64
echo 'correct horse battery staple' | "$BIN" user add --username bench --email bench@example.com >/dev/null
"$BIN" > "$WORK/out.txt" 2> "$WORK/err.txt" &
SERVER=$!
for _ in $(seq 1 50); do curl -sf "$BASE/health/live" >/dev/null && break; sleep 0.1; done

LOGIN='{"username":"bench","password":"correct horse battery staple"}'
TOKEN=$(curl -s -D - -o /dev/null -X POST "$BASE/api/login" -H 'Content-Type: application/json' -d "$LOGIN" \
        | awk -F': ' 'tolower($1)=="authorization" {print $2}' | tr -d '\r')
cat > "$WORK/login.lua" <<LUA
wrk.method = "POST"
wrk.body = '$LOGIN'
wrk.headers["Content-Type"] = "application/json"
LUA

rss() { awk '/VmHWM/ {print $2/1024 " MB peak RSS"}' "/proc/$SERVER/status"; }

echo "== raw bcrypt rate (all cores, cost 12)"
cargo bench -q -p accountd-adapters --bench bcrypt_rate -- 12 "$DUR" 2>/dev/null | grep bcrypt

echo "== cheap authenticated read (GET /api/init, 32 connections, one wrk thread)"
wrk -t1 -c32 -d"${DUR}s" --latency -H "Authorization: Bearer $TOKEN" "$BASE/api/init" | grep -E "Requests/sec|Non-2xx|99%|Latency "

echo "== login at cost 12 (POST /api/login, 8 connections)"
wrk -t2 -c8 -d"${DUR}s" -s "$WORK/login.lua" "$BASE/api/login" | grep -E "Requests/sec|Non-2xx|Latency"

echo "== GET /api/init while 128 connections saturate the hash pool with logins"
wrk -t1 -c128 -d"$((DUR + 4))s" -s "$WORK/login.lua" "$BASE/api/login" > "$WORK/flood.txt" &
FLOOD=$!
sleep 2
wrk -t1 -c16 -d"${DUR}s" --latency -H "Authorization: Bearer $TOKEN" "$BASE/api/init" | grep -E "Requests/sec|Non-2xx|99%|Latency "
wait "$FLOOD"
grep -E "Requests/sec|Non-2xx" "$WORK/flood.txt" | sed 's/^/  flood: /'

echo "== memory"
rss
