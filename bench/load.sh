#!/usr/bin/env bash
# Every fairness scenario of docs/BENCHMARKS.md, on SQLite and on PostgreSQL,
# in one run, against the release binary. Needs wrk (apt-get install wrk),
# curl, and psql for PostgreSQL. Traffic goes to 127.0.0.1 only.
#   bash bench/load.sh [SECONDS] [BACKENDS]
# SECONDS per measurement (default 15); BACKENDS "sqlite postgres" (default).
# PostgreSQL: a fresh database on ACCOUNTD_BENCH_PG (default
# postgres://postgres@127.0.0.1:5432), dropped at the end.
# ACCOUNTD_BIN=path measures that binary instead of building the server
# (the raw bcrypt rate is still built and run with cargo bench).
set -euo pipefail
cd "$(dirname "$0")/.."
DUR="${1:-15}"
BACKENDS="${2:-sqlite postgres}"
PG="${ACCOUNTD_BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
PORT=18080
BASE="http://127.0.0.1:$PORT"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
BIN="${ACCOUNTD_BIN:-}"
if [ -z "$BIN" ]; then
  cargo build --release -q -p accountd
  BIN="${CARGO_TARGET_DIR:-target}/release/accountd"
fi
WORK="$(mktemp -d)"
SERVER=""
PGDB="accountd_bench_$$"
BG=""
cleanup() {
  set +e
  [ -n "$BG" ] && kill "$BG" 2>/dev/null
  # The server drains queued logins before it exits: wait for it.
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
  case " $BACKENDS " in *" postgres "*)
    # WITH (FORCE): PostgreSQL 13 or later.
    psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" >/dev/null 2>&1 \
      || echo "could not drop the database $PGDB" >&2 ;;
  esac
  rm -rf "$WORK"
}
trap cleanup EXIT
PASSWORD='correct horse battery staple'
export ACCOUNTD_BIND="127.0.0.1:$PORT" ACCOUNTD_LOG=warn ACCOUNTD_BCRYPT_COST=12 \
       ACCOUNTD_HASH_QUEUE="${ACCOUNTD_HASH_QUEUE:-64}"

# wrk reports one line: requests/s, 2xx-3xx answers/s, p50 ms, p99 ms,
# answers >= 400, socket errors and timeouts.
cat > "$WORK/report.lua" <<'LUA'
done = function(summary, latency, requests)
  local s = summary.duration / 1e6
  local bad = summary.errors.status
  local sock = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %.2f %.2f %.2f %.2f %d %d\n", summary.requests / s,
    (summary.requests - bad) / s, latency:percentile(50) / 1000, latency:percentile(99) / 1000, bad, sock))
end
LUA
post() { # FILE BODY: a wrk script posting one JSON body
  { echo 'wrk.method = "POST"'; echo 'wrk.headers["Content-Type"] = "application/json"'
    echo "wrk.body = '$2'"; cat "$WORK/report.lua"; } > "$WORK/$1.lua"
}
post login "{\"username\":\"bench\",\"password\":\"$PASSWORD\"}"
post send '{"username":"bench"}'
post check '{"username":"bench","code":"000000"}'
{ echo 'wrk.method = "POST"'; echo 'wrk.headers["Content-Type"] = "application/json"'
  cat <<'LUA'
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, string.format('{"username":"ghost%d-%d","password":"not the password"}', math.random(1, 1000000), n))
end
LUA
  cat "$WORK/report.lua"; } > "$WORK/many.lua"
cp "$WORK/report.lua" "$WORK/get.lua"

# measure NAME CONNS SECONDS SCRIPT PATH [wrk options]
measure() {
  local name=$1 conns=$2 secs=$3 script=$4 path=$5; shift 5
  wrk -t1 -c"$conns" -d"${secs}s" --timeout 10s -s "$WORK/$script.lua" "$@" "$BASE$path" \
    | awk '/^RESULT/ {$1=""; print substr($0, 2)}' > "$WORK/r.$name"
}
# field NAME N: 1 requests/s, 2 good/s, 3 p50, 4 p99, 5 answers >= 400, 6 socket errors
field() { awk -v n="$2" '{print $n}' "$WORK/r.$1"; }
init() { measure "$1" "$2" "$3" get /api/init -H "Authorization: Bearer $TOKEN"; }
# A background load that starts first and ends after the foreground one.
behind() { measure "$@" & BG=$!; sleep 2; }

start() {
  "$BIN" >> "$WORK/out.txt" 2>> "$WORK/err.txt" &
  SERVER=$!
  for _ in $(seq 1 100); do curl -sf "$BASE/health/live" >/dev/null && return 0; sleep 0.1; done
  echo "the server did not start:" >&2; tail -5 "$WORK/err.txt" >&2; exit 1
}
peak() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$SERVER/status"; }
stop() { kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""; }
pending() { curl -s "$BASE/metrics" | awk '/^accountd_outbox_pending / {print $2}'; }
RESULTS="$WORK/results"
row() { printf '%-9s %-66s %-34s %s\n' "$@" >> "$RESULTS"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
verdict() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {print ((op == ">=" ? v >= t : v <= t) ? "met" : "MISSED") " (" op " " t ")"}'; }

echo "== raw bcrypt rate (all cores, cost 12, ${DUR} s)"
RAW=$(cargo bench -q -p accountd-adapters --bench bcrypt_rate -- 12 "$DUR" 2>"$WORK/bench.err" \
      | awk '/bcrypt/ {sub("/s", "", $NF); print $NF}') \
  || { echo "the raw bcrypt rate could not be measured:" >&2; tail -5 "$WORK/bench.err" >&2; exit 1; }
echo "raw bcrypt: $RAW verifications/s"
row "both" "raw bcrypt, cost 12, every core" "$RAW/s" "baseline"

for backend in $BACKENDS; do
  echo "== $backend"
  case $backend in
    sqlite) export ACCOUNTD_DATABASE_URL="sqlite://$WORK/bench.db" ;;
    postgres)
      psql "$PG/postgres" -qc "CREATE DATABASE $PGDB" >/dev/null
      export ACCOUNTD_DATABASE_URL="$PG/$PGDB" ;;
    *) echo "unknown backend $backend" >&2; exit 2 ;;
  esac
  mkdir -p "$WORK/$backend"
  export ACCOUNTD_DATA_DIR="$WORK/$backend"
  echo "$PASSWORD" | "$BIN" user add --username bench --email bench@example.com >/dev/null
  start
  TOKEN=$(curl -s -D - -o /dev/null -X POST "$BASE/api/login" -H 'Content-Type: application/json' \
          -d "{\"username\":\"bench\",\"password\":\"$PASSWORD\"}" \
          | awk -F': ' 'tolower($1)=="authorization" {print $2}' | tr -d '\r')
  [ -n "$TOKEN" ] || { echo "no token from /api/login" >&2; exit 1; }

  echo "-- login alone"; measure login_alone 4 "$DUR" login /api/login
  v=$(field login_alone 2); r=$(ratio "$v" "$RAW")
  row "$backend" "login alone, 4 conns: logins/s, share of raw" "$v/s = $r" "$(verdict "$r" '>=' 0.95)"

  echo "-- init alone"; init init_alone 16 "$DUR"
  ALONE=$(field init_alone 1); p=$(field init_alone 4)
  row "$backend" "init alone, 16 conns: requests/s" "$ALONE/s" \
      "$(verdict "$ALONE" '>=' "$([ "$backend" = sqlite ] && echo 20000 || echo 10000)")"
  row "$backend" "init alone: p99 ms" "$p" "$(verdict "$p" '<=' 20)"

  echo "-- logins while init keeps the cores busy"
  behind mixed_login 4 "$((DUR + 4))" login /api/login
  init mixed_init 4 "$DUR"; wait "$BG"; BG=""
  v=$(field mixed_login 2); r=$(ratio "$v" "$RAW")
  row "$backend" "mixed, 4 login + 4 init conns: logins/s, share" "$v/s = $r" "$(verdict "$r" '>=' 0.5)"
  p=$(field mixed_init 4)
  row "$backend" "mixed: init p99 ms" "$p" "$(verdict "$p" '<=' 50)"

  for flood in "one:login:/api/login:login flood, one account" \
               "many:many:/api/login:login flood, many accounts" \
               "send:send:/api/auth/forgotPassword/sendEmail:sendEmail flood, one account" \
               "check:check:/api/auth/forgotPassword/checkCode:wrong checkCode flood, one account"; do
    IFS=: read -r key script path label <<< "$flood"
    echo "-- init under a 128-connection $label"
    behind "flood_$key" 128 "$((DUR + 4))" "$script" "$path"
    init "under_$key" 16 "$DUR"; wait "$BG"; BG=""
    v=$(field "under_$key" 1); r=$(ratio "$v" "$ALONE"); p=$(field "under_$key" 4)
    row "$backend" "$label: init/s, share of alone" "$v/s = $r" "$(verdict "$r" '>=' 0.25)"
    row "$backend" "$label: init p99 ms" "$p" "$(verdict "$p" '<=' 50)"
    row "$backend" "$label: the flood's answers/s, >= 400, p99 ms" \
        "$(field "flood_$key" 1)/s, $(field "flood_$key" 5), $(field "flood_$key" 4)" \
        "socket errors $(field "flood_$key" 6)"
  done
  RSS1=$(peak); stop

  echo "-- sendEmail for one account, limits off"
  ACCOUNTD_CODES_PER_HOUR=0 ACCOUNTD_CODES_PER_DAY=0 ACCOUNTD_STEP1_PER_IP_PER_HOUR=0 \
    ACCOUNTD_LOOKUPS_PER_IP_PER_HOUR=0 start
  measure send_alone 16 "$DUR" send /api/auth/forgotPassword/sendEmail
  left=$(pending); sleep 5; later=$(pending)
  v=$(field send_alone 2); p=$(field send_alone 4)
  row "$backend" "sendEmail, one account, 16 conns, limits off: /s" "$v/s ($(field send_alone 5) >= 400)" "$(verdict "$v" '>=' 1000)"
  row "$backend" "sendEmail: p99 ms" "$p" "$(verdict "$p" '<=' 50)"
  row "$backend" "outbox pending at the end, 5 s later" "$left, $later" "keeps up if the second is 0"
  RSS2=$(peak); stop
  m=$(awk -v a="$RSS1" -v b="$RSS2" 'BEGIN {print (a > b ? a : b)}')
  row "$backend" "peak RSS, MB" "$m" "$(verdict "$m" '<=' 40)"
done

echo
echo "== results (commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), ${DUR} s each, $(nproc) cores)"
cat "$RESULTS"
