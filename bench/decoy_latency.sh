#!/usr/bin/env bash
# Step-1 latency of real requests and enumeration-protection decoys,
# interleaved (see docs/BENCHMARKS.md). Traffic goes to 127.0.0.1 only.
#   bash bench/decoy_latency.sh [SAMPLES_PER_KIND]
# ACCOUNTD_BIN=path skips the release build and measures that binary.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-200}"
PORT=18081
BASE="http://127.0.0.1:$PORT"
if [ -z "${ACCOUNTD_BIN:-}" ]; then
  cargo build --release -q -p accountd
  ACCOUNTD_BIN=target/release/accountd
fi
BIN="$ACCOUNTD_BIN"
WORK="$(mktemp -d)"
trap 'kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null; rm -rf "$WORK"' EXIT
# Limits high enough never to refuse, but on (a limit of 0 skips its
# database work, which would hide what the hits cost).
export ACCOUNTD_DATABASE_URL="sqlite://$WORK/bench.db" ACCOUNTD_DATA_DIR="$WORK" \
       ACCOUNTD_BIND="127.0.0.1:$PORT" ACCOUNTD_LOG=warn \
       ACCOUNTD_BCRYPT_COST="${ACCOUNTD_BCRYPT_COST:-10}" \
       ACCOUNTD_ENUMERATION_PROTECTION=true \
       ACCOUNTD_CODES_PER_HOUR=1000000 ACCOUNTD_CODES_PER_DAY=1000000 \
       ACCOUNTD_STEP1_PER_IP_PER_HOUR=1000000
echo 'correct horse battery staple' | "$BIN" user add --username bench --email bench@example.com >/dev/null
# Mail goes to the console (no SMTP configured): the real requests' mail is
# sent after the answer, as in production.
"$BIN" > /dev/null 2> "$WORK/err.txt" &
SERVER=$!
for _ in $(seq 1 50); do curl -sf "$BASE/health/live" >/dev/null && break; sleep 0.1; done

# One request; prints its total time in milliseconds.
post() {
  curl -s -o /dev/null -w '%{time_total}\n' -X POST "$BASE$1" \
       -H 'Content-Type: application/json' -d "$2" | awk '{printf "%.3f\n", $1 * 1000}'
}

# Median and 90th percentile of the numbers in file $1.
stats() {
  sort -n "$1" | awk '{a[NR]=$1} END {printf "median %.2f ms, p90 %.2f ms (n=%d)", a[int((NR+1)/2)], a[int(NR*0.9)], NR}'
}

measure() { # label route real-body decoy-body
  : > "$WORK/real"; : > "$WORK/decoy"
  for i in $(seq 1 "$N"); do
    # Interleaved, and which one goes first alternates.
    if [ $((i % 2)) -eq 0 ]; then
      post "$2" "$3" >> "$WORK/real"; post "$2" "$4" >> "$WORK/decoy"
    else
      post "$2" "$4" >> "$WORK/decoy"; post "$2" "$3" >> "$WORK/real"
    fi
  done
  local r d
  r=$(sort -n "$WORK/real" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  d=$(sort -n "$WORK/decoy" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "== $1"
  echo "  real:  $(stats "$WORK/real")"
  echo "  decoy: $(stats "$WORK/decoy")"
  awk -v r="$r" -v d="$d" 'BEGIN {printf "  decoy/real (medians): %.2f\n", d / r}'
}

measure "Unicat reset_password_request by username" /api/reset_password_request \
  '{"username_or_email":"bench"}' '{"username_or_email":"ghost"}'
measure "Unicat reset_password_request by email" /api/reset_password_request \
  '{"username_or_email":"bench@example.com"}' '{"username_or_email":"ghost@example.com"}'
measure "forgotPassword sendEmail" /api/auth/forgotPassword/sendEmail \
  '{"username":"bench"}' '{"username":"ghost"}'
