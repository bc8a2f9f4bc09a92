#!/usr/bin/env bash
# authd's benchmark: every figure of BENCHMARKS.md's table, measured in one run on this
# machine, printed as a table with the ratios. Ratios, not absolute rates, are the figures:
# machines are shared and noisy, so each ratio's two sides are measured in alternating rounds.
#
#   scripts/bench.sh            # the full run (about 5 minutes after the build)
#   scripts/bench.sh --quick    # shorter runs, for a first look (about 2 minutes)
#   AUTHD_BIN=/path/to/authd scripts/bench.sh   # another build of the server (a "before")
#
# On a fresh Debian machine it installs what it needs (h2load from nghttp2-client, wrk,
# curl, PostgreSQL; needs root for that), builds the release binary and the load tools,
# starts authd on fresh SQLite and PostgreSQL databases and the Django reference
# (../shared/django-reference, or $DJANGO_REFERENCE), and stops all of them at the end.
# Every load run is checked: h2load and wrk count HTTP statuses only, so each gRPC figure
# is bracketed by calls that check grpc-status, and a run with failed requests, non-2xx
# answers or unexpected gRPC codes stops the benchmark instead of printing a figure.
# Ports below 32768 (the ephemeral range here is crowded): 27001-27003, 27011-27012.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

QUICK=0
[ "${1:-}" = "--quick" ] && QUICK=1
if [ "$QUICK" = 1 ]; then SECS=4; LOGINS=300; else SECS=10; LOGINS=1000; fi
DJANGO_REFERENCE=${DJANGO_REFERENCE:-$ROOT/../shared/django-reference}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/authd-bench.XXXXXX")
PIDS=()
say() { printf '\n==> %s\n' "$*" >&2; }
fail() { echo "bench: $*" >&2; exit 1; }

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -n "${DJANGO_PORT:-}" ] && PORT=$DJANGO_PORT RUN_DIR=$WORK/django "$DJANGO_REFERENCE/stop.sh" >/dev/null 2>&1 || true
  [ -n "${PG_DB:-}" ] && su postgres -c "psql -q -d postgres -c 'DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)'" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

say "tools"
missing=()
command -v h2load >/dev/null || missing+=(nghttp2-client)
command -v wrk >/dev/null || missing+=(wrk)
command -v curl >/dev/null || missing+=(curl)
command -v make >/dev/null || missing+=(make)   # jemalloc's build runs it
python3 -c 'import venv' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || fail "needs ${missing[*]} (apt-get install -y ${missing[*]}, as root)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
PG_ADMIN_URL=$(bash .ci/postgres)
[ -x "$DJANGO_REFERENCE/run.sh" ] || fail "no Django reference at $DJANGO_REFERENCE (set DJANGO_REFERENCE)"

say "release build: authd and the load tools"
cargo build --release --locked --bin authd --example loadgen --example login_flood --example argon2_ceiling
BIN=$ROOT/target/release
AUTHD=${AUTHD_BIN:-$BIN/authd}
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
CORES=$(nproc)

# start_authd NAME PORT DATABASE_URL: authd with no per-address limit (every client here is
# one address), logs to $WORK/NAME.log; sets PID_<NAME>.
start_authd() {
  local name=$1 port=$2 url=$3
  "$AUTHD" --listen "127.0.0.1:$port" --database-url "$url" \
    --ip-limit 0 >"$WORK/$name.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && { printf -v "PID_$name" %s "$pid"; return; }
    kill -0 "$pid" 2>/dev/null || { cat "$WORK/$name.log" >&2; fail "authd ($name) did not start"; }
    sleep 0.1
  done
  fail "authd ($name) not ready after 10 s"
}
stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
rss_mib() { awk -v f="$2" '$1 == f":" {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {"d": d}))' "$1"; }
# post URL JSON: the body of a POST that must answer 2xx.
post() { curl -sSf -X POST "$1" -H 'Content-Type: application/json' -d "$2"; }

# Users on the REST API of authd or of the Django reference (the same endpoints; Django's
# two projects keep separate user tables, so one user for each): sets KEY (a DRF API key
# from seed 1's API) and ACCESS (a simplejwt access token from seed 2's) for BASE.
rest_credentials() {
  local base=$1 name=bench$RANDOM$RANDOM password=bench-passphrase-1
  post "$base/api/create/" "{\"username\":\"${name}k\",\"email\":\"${name}k@example.com\",\"password\":\"$password\"}" >/dev/null
  KEY=$(post "$base/api/token/" "{\"username\":\"${name}k\",\"password\":\"$password\"}" | json 'd["token"]')
  post "$base/auth/register/" "{\"username\":\"${name}j\",\"email\":\"${name}j@example.com\",\"password\":\"$password\"}" >/dev/null
  ACCESS=$(post "$base/auth/login/" "{\"username\":\"${name}j\",\"password\":\"$password\"}" | json 'd["data"]["access"]')
}

printf '\0\0\0\0\0' >"$WORK/empty.grpc"
# grpc_status PORT PATH [HEADER]: the grpc-status of one call (trailers), or "none".
grpc_status() {
  local args=(-s --http2-prior-knowledge -o /dev/null -D - -H 'content-type: application/grpc'
    -H 'te: trailers' --data-binary "@$WORK/empty.grpc")
  [ -n "${3:-}" ] && args+=(-H "$3")
  curl "${args[@]}" "http://127.0.0.1:$1$2" | tr -d '\r' | awk -F': ' 'tolower($1)=="grpc-status" {s=$2} END {print s==""?"none":s}'
}
# h2load_rate NAME PORT PATH [HEADER]: req/s of a gRPC call under h2load -c4 -m32 -t1,
# checked to answer grpc-status 0 before and after.
h2load_rate() {
  local name=$1 port=$2 path=$3 header=${4:-} status
  for when in before after; do
    status=$(grpc_status "$port" "$path" "$header")
    [ "$status" = 0 ] || fail "$name: grpc-status $status $when the run"
    [ "$when" = after ] && break
    local args=(-c4 -m32 -t1 -D "$SECS" --warm-up-time=1 -H 'content-type: application/grpc'
      -H 'te: trailers' -d "$WORK/empty.grpc")
    [ -n "$header" ] && args+=(-H "$header")
    h2load "${args[@]}" "http://127.0.0.1:$port$path" >"$WORK/$name.h2load"
  done
  local requests
  requests=$(awk '/^requests:/ {print $2, $8, $10, $12}' "$WORK/$name.h2load")
  read -r total succeeded failed errored <<<"$requests"
  [ "$failed" = 0 ] && [ "$errored" = 0 ] && [ "$succeeded" = "$total" ] \
    || { cat "$WORK/$name.h2load" >&2; fail "$name: h2load saw failures"; }
  awk '/^finished in/ {gsub(",", "", $4); print $4}' "$WORK/$name.h2load"
}
# wrk_rate NAME URL HEADER: req/s of a GET under wrk -t1 -c16, every answer 2xx.
wrk_rate() {
  local name=$1 url=$2 header=$3
  curl -sSf -o /dev/null -H "$header" "$url" || fail "$name: $url does not answer 2xx"
  wrk -t1 -c16 -d"${SECS}s" -H "$header" "$url" >"$WORK/$name.wrk"
  if grep -q 'Non-2xx\|Socket errors' "$WORK/$name.wrk"; then
    cat "$WORK/$name.wrk" >&2; fail "$name: wrk saw errors"
  fi
  awk '/^Requests\/sec:/ {print $2}' "$WORK/$name.wrk"
}
# loadgen_rate NAME PORT ARGS…: the rate the load generator reports (it exits non-zero on any
# unexpected answer).
loadgen_rate() {
  local name=$1 port=$2; shift 2
  "$BIN/examples/loadgen" --target "http://127.0.0.1:$port" --seconds "$SECS" "$@" >"$WORK/$name.loadgen" \
    || { cat "$WORK/$name.loadgen" >&2; fail "$name: the load generator saw unexpected answers"; }
  sed -n 's/.* rate=\([0-9.]*\)\/s .*/\1/p' "$WORK/$name.loadgen"
}
ratio() { python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print(f'{a / b:.2f}')" "$1" "$2"; }

say "memory: idle RSS after start, then peak RSS during $LOGINS concurrent logins (fresh SQLite)"
start_authd memory 27011 "sqlite://$WORK/memory.sqlite3"
sleep 2
IDLE_RSS=$(rss_mib "$PID_memory" VmRSS)
"$BIN/examples/login_flood" --target http://127.0.0.1:27011 --logins "$LOGINS" --answer-within 60 \
  --server-pid "$PID_memory" >"$WORK/flood.txt" || { cat "$WORK/flood.txt" >&2; fail "login flood failed"; }
PEAK_RSS=$(rss_mib "$PID_memory" VmHWM)
stop_pid "$PID_memory"

say "authd on SQLite and on PostgreSQL (a fresh database), and the Django reference (gunicorn, sync workers, one per core)"
start_authd sqlite 27001 "sqlite://$WORK/bench.sqlite3"
rest_credentials http://127.0.0.1:27001
SQLITE_KEY=$KEY SQLITE_ACCESS=$ACCESS
PG_DB=authd_bench_$$
su postgres -c "psql -q -d postgres -c 'CREATE DATABASE $PG_DB OWNER authd_test'" >/dev/null
start_authd postgres 27002 "${PG_ADMIN_URL%/postgres}/$PG_DB"
rest_credentials http://127.0.0.1:27002
PG_ACCESS=$ACCESS
DJANGO_PORT=27003
PORT=$DJANGO_PORT WORKERS=$CORES RUN_DIR=$WORK/django "$DJANGO_REFERENCE/run.sh" >/dev/null
rest_credentials http://127.0.0.1:$DJANGO_PORT
DJANGO_KEY=$KEY DJANGO_ACCESS=$ACCESS

# Every ratio's two sides alternate: three rounds of half the run's seconds each, all the
# servers up side by side, and the ratio quoted is the median of the rounds' ratios. The
# machine's speed swings between minutes, so two sides measured minutes apart (Django's
# after authd's, as this script once did) decided a ratio by when each ran.
ROUND_SECS=$(( (SECS + 1) / 2 ))
median() { python3 -c "import statistics, sys; print(statistics.median(map(float, sys.argv[1:])))" "$@"; }
# quoted RATIOS NUMERATORS DENOMINATORS [MARK]: "0.71 (27581.9 ÷ 38662.5": the median ratio,
# then MARK (× for a multiple), and the medians of its two sides (the caller closes the
# parenthesis with its unit).
quoted() {
  local -n ratios=$1 tops=$2 bottoms=$3
  printf '%.2f%s (%s ÷ %s' "$(median "${ratios[@]}")" "${4:-}" "$(median "${tops[@]}")" "$(median "${bottoms[@]}")"
}

say "gRPC: Health/Check (the no-op), GetMe on SQLite, GetMe on PostgreSQL, h2load -c4 -m32 -t1, alternating"
HEALTH_SEEN=() GETME_SEEN=() GETME_PG_SEEN=() GETME_RATIOS=() GETME_PG_RATIOS=()
for round in 1 2 3; do
  health=$(SECS=$ROUND_SECS h2load_rate health 27001 /grpc.health.v1.Health/Check)
  getme=$(SECS=$ROUND_SECS h2load_rate getme 27001 /auth.v1.AuthService/GetMe "authorization: Bearer $SQLITE_ACCESS")
  getme_pg=$(SECS=$ROUND_SECS h2load_rate getme-pg 27002 /auth.v1.AuthService/GetMe "authorization: Bearer $PG_ACCESS")
  HEALTH_SEEN+=("$health") GETME_SEEN+=("$getme") GETME_PG_SEEN+=("$getme_pg")
  GETME_RATIOS+=("$(ratio "$getme" "$health")") GETME_PG_RATIOS+=("$(ratio "$getme_pg" "$getme")")
  echo "  round $round: Health/Check $health, GetMe $getme, GetMe on PostgreSQL $getme_pg req/s" >&2
done

say "REST: authd's /healthz (the no-op), /api/me/ (DRF key), /auth/me/ (JWT), and Django's, wrk -t1 -c16, alternating"
NOOP_SEEN=() KEY_SEEN=() JWT_SEEN=() DJANGO_KEY_SEEN=() DJANGO_JWT_SEEN=()
NOOP_RATIOS=() NOOP_SHARES=() JWT_SHARES=() KEY_RATIOS=() JWT_RATIOS=()
for round in 1 2 3; do
  noop=$(SECS=$ROUND_SECS wrk_rate rest-noop http://127.0.0.1:27001/healthz "Accept: application/json")
  key=$(SECS=$ROUND_SECS wrk_rate rest-key http://127.0.0.1:27001/api/me/ "Authorization: Token $SQLITE_KEY")
  django_key=$(SECS=$ROUND_SECS wrk_rate django-key "http://127.0.0.1:$DJANGO_PORT/api/me/" "Authorization: Token $DJANGO_KEY")
  jwt=$(SECS=$ROUND_SECS wrk_rate rest-jwt http://127.0.0.1:27001/auth/me/ "Authorization: Bearer $SQLITE_ACCESS")
  django_jwt=$(SECS=$ROUND_SECS wrk_rate django-jwt "http://127.0.0.1:$DJANGO_PORT/auth/me/" "Authorization: Bearer $DJANGO_ACCESS")
  NOOP_SEEN+=("$noop") KEY_SEEN+=("$key") JWT_SEEN+=("$jwt")
  DJANGO_KEY_SEEN+=("$django_key") DJANGO_JWT_SEEN+=("$django_jwt")
  KEY_RATIOS+=("$(ratio "$key" "$django_key")") JWT_RATIOS+=("$(ratio "$jwt" "$django_jwt")")
  NOOP_RATIOS+=("$(ratio "$noop" "$django_key")") NOOP_SHARES+=("$(ratio "$key" "$noop")")
  JWT_SHARES+=("$(ratio "$jwt" "$noop")")
  echo "  round $round: authd /healthz $noop, /api/me/ $key, /auth/me/ $jwt; Django /api/me/ $django_key, /auth/me/ $django_jwt req/s" >&2
done

say "Login (loadgen, 16 in flight) and the raw argon2id ceiling on $CORES cores, alternating"
LOGINS_SEEN=() ARGON2_SEEN=() LOGIN_RATIOS=()
for round in 1 2 3; do
  login=$(SECS=$ROUND_SECS loadgen_rate login 27001 --rpc login --concurrency 16)
  "$BIN/examples/argon2_ceiling" --seconds "$ROUND_SECS" >"$WORK/argon2.txt"
  argon2=$(sed -n 's/.* rate=\([0-9.]*\)\/s/\1/p' "$WORK/argon2.txt")
  LOGINS_SEEN+=("$login") ARGON2_SEEN+=("$argon2") LOGIN_RATIOS+=("$(ratio "$login" "$argon2")")
  echo "  round $round: Login $login/s, argon2id $argon2/s, ratio ${LOGIN_RATIOS[-1]}" >&2
done

say "Refresh on SQLite and on PostgreSQL (loadgen, 32 in flight, each its own session), alternating"
REFRESH_SQLITE_SEEN=() REFRESH_PG_SEEN=()
for round in 1 2 3; do
  refresh_sqlite=$(SECS=$ROUND_SECS loadgen_rate refresh-sqlite 27001 --rpc refresh --concurrency 32)
  refresh_pg=$(SECS=$ROUND_SECS loadgen_rate refresh-pg 27002 --rpc refresh --concurrency 32)
  REFRESH_SQLITE_SEEN+=("$refresh_sqlite") REFRESH_PG_SEEN+=("$refresh_pg")
  echo "  round $round: Refresh on SQLite $refresh_sqlite/s, on PostgreSQL $refresh_pg/s" >&2
done
REFRESH_SQLITE=$(median "${REFRESH_SQLITE_SEEN[@]}") REFRESH_PG=$(median "${REFRESH_PG_SEEN[@]}")
HEALTH=$(median "${HEALTH_SEEN[@]}")

MODE=full; [ "$QUICK" = 1 ] && MODE=quick
cat <<TABLE

authd benchmark ($MODE run: 3 alternating rounds of ${ROUND_SECS}s for each rate, medians quoted, $CORES cores, $(date -u +%Y-%m-%dT%H:%MZ), authd $AUTHD, commit $(git rev-parse --short HEAD))

| figure, measured in this run | value | target |
|---|---|---|
| gRPC GetMe ÷ Health/Check, h2load -c4 -m32 -t1 | $(quoted GETME_RATIOS GETME_SEEN HEALTH_SEEN) req/s) | ≥ 0.50 |
| REST GET /api/me/ (DRF key), authd ÷ Django, wrk -t1 -c16 | $(quoted KEY_RATIOS KEY_SEEN DJANGO_KEY_SEEN ×) req/s) | ≥ 50× |
| REST GET /auth/me/ (JWT), authd ÷ Django, wrk -t1 -c16 | $(quoted JWT_RATIOS JWT_SEEN DJANGO_JWT_SEEN ×) req/s) | ≥ 50× |
| the REST no-op: authd's GET /healthz ÷ Django's /api/me/; /api/me/ and /auth/me/ ÷ /healthz | $(quoted NOOP_RATIOS NOOP_SEEN DJANGO_KEY_SEEN ×) req/s); $(printf '%.2f' "$(median "${NOOP_SHARES[@]}")") and $(printf '%.2f' "$(median "${JWT_SHARES[@]}")") | (the most a REST ratio could be in this run) |
| Login ÷ raw argon2id verifies on all cores | $(quoted LOGIN_RATIOS LOGINS_SEEN ARGON2_SEEN) /s) | ≥ 0.9 |
| Refresh on SQLite / on PostgreSQL, 32 in flight | $REFRESH_SQLITE / $REFRESH_PG /s (rounds ${REFRESH_SQLITE_SEEN[*]} / ${REFRESH_PG_SEEN[*]}) | ≥ 4000 on both |
| the same, ÷ Health/Check of this run | $(ratio "$REFRESH_SQLITE" "$HEALTH") / $(ratio "$REFRESH_PG" "$HEALTH") | (4000 ÷ the 108k the target was set beside: 0.037) |
| GetMe on PostgreSQL ÷ GetMe on SQLite, h2load | $(quoted GETME_PG_RATIOS GETME_PG_SEEN GETME_SEEN) req/s) | ≥ 0.8 |
| idle RSS after start / peak during $LOGINS concurrent logins | $IDLE_RSS / $PEAK_RSS MiB | ≤ 30 / ≤ 150 MiB |
TABLE
