#!/usr/bin/env bash
# An A/B of two builds of authd on one figure, for deciding whether a change is kept.
#
#   scripts/ab.sh BEFORE_BIN AFTER_BIN FIGURE [ROUNDS]
#   FIGURE: getme | health (h2load -c4 -m32 -t1), api-me | auth-me | healthz (wrk -t1 -c16),
#           refresh (the load generator, 32 in flight), login (the load generator, 16 in flight)
#   AB_BACKEND=postgres   both servers on fresh PostgreSQL databases instead of SQLite files
#   AB_SECS=4             seconds per run
#
# Both servers run side by side for the whole A/B, and the runs alternate (A, B, A, B, …),
# so a change in the machine's speed lands on both sides of a round instead of on one
# build: the machines here swing by a third between minutes. It prints each round and the
# median of the per-round ratios B ÷ A, the figure to quote. Beside each rate it prints the
# server's CPU time per answered request (all its threads, from /proc, over the run): on a
# saturated machine a change that saves work shows there even when the rates cannot tell
# the builds apart (a login's hashing hides the rest). Every run is checked like
# bench.sh's: a run with a failed request, a non-2xx answer or an unexpected gRPC code
# stops the A/B. Needs h2load, wrk and (for PostgreSQL) what scripts/bench.sh installs;
# the load generator comes from `cargo build --release --example loadgen`.
set -euo pipefail
[ $# -ge 3 ] || { sed -n '2,9p' "$0" >&2; exit 2; }
BEFORE=$1 AFTER=$2 FIGURE=$3 ROUNDS=${4:-6}
SECS=${AB_SECS:-4} BACKEND=${AB_BACKEND:-sqlite}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LOADGEN=$ROOT/target/release/examples/loadgen
WORK=$(mktemp -d "${TMPDIR:-/tmp}/authd-ab.XXXXXX")
PIDS=() DATABASES=()
fail() { echo "ab: $*" >&2; exit 1; }
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for db in "${DATABASES[@]}"; do
    su postgres -c "psql -q -d postgres -c 'DROP DATABASE IF EXISTS $db WITH (FORCE)'" >/dev/null 2>&1 || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
printf '\0\0\0\0\0' >"$WORK/empty.grpc"
post() { curl -sSf -X POST "$1" -H 'Content-Type: application/json' -d "$2"; }
json() { python3 -c 'import json,sys; print(eval(sys.argv[1], {"d": json.load(sys.stdin)}))' "$1"; }

# start SIDE BIN PORT: a server on a fresh database, with a DRF key and a JWT of its own.
start() {
  local side=$1 bin=$2 port=$3 url base=http://127.0.0.1:$3 name=ab$RANDOM$RANDOM password=ab-passphrase-1
  if [ "$BACKEND" = postgres ]; then
    local db=authd_ab_$$_$side admin
    admin=$(bash "$ROOT/.ci/postgres")
    su postgres -c "psql -q -d postgres -c 'CREATE DATABASE $db OWNER authd_test'" >/dev/null
    DATABASES+=("$db")
    url=${admin%/postgres}/$db
  else
    url=sqlite://$WORK/$side.sqlite3
  fi
  "$bin" --listen "127.0.0.1:$port" --database-url "$url" --ip-limit 0 >"$WORK/$side.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 100); do curl -sf "$base/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
  curl -sf "$base/readyz" >/dev/null || { cat "$WORK/$side.log" >&2; fail "$side did not start"; }
  post "$base/api/create/" "{\"username\":\"${name}k\",\"email\":\"${name}k@example.com\",\"password\":\"$password\"}" >/dev/null
  post "$base/api/token/" "{\"username\":\"${name}k\",\"password\":\"$password\"}" | json 'd["token"]' >"$WORK/$side.key"
  post "$base/auth/register/" "{\"username\":\"${name}j\",\"email\":\"${name}j@example.com\",\"password\":\"$password\"}" >/dev/null
  post "$base/auth/login/" "{\"username\":\"${name}j\",\"password\":\"$password\"}" | json 'd["data"]["access"]' >"$WORK/$side.jwt"
}

h2load_rate() { # URL [HEADER]
  local args=(-c4 -m32 -t1 -D "$SECS" --warm-up-time=1 -H 'content-type: application/grpc'
    -H 'te: trailers' -d "$WORK/empty.grpc")
  [ -n "${2:-}" ] && args+=(-H "$2")
  h2load "${args[@]}" "$1" >"$WORK/run.out"
  # Every stream must end in grpc-status 0: h2load counts HTTP statuses only.
  local status
  status=$(curl -s --http2-prior-knowledge -o /dev/null -D - -H 'content-type: application/grpc' \
    -H 'te: trailers' ${2:+-H "$2"} --data-binary "@$WORK/empty.grpc" "$1" \
    | tr -d '\r' | awk -F': ' 'tolower($1)=="grpc-status" {print $2}')
  [ "$status" = 0 ] || fail "$1: grpc-status ${status:-none}"
  awk '/^requests:/ && ($8 != $2) {bad=1} /^finished in/ {gsub(",", "", $4); rate=$4}
       END {if (bad) exit 1; print rate}' "$WORK/run.out" || { cat "$WORK/run.out" >&2; fail "$1: failed requests"; }
  awk '/^requests:/ {print $8}' "$WORK/run.out" >"$WORK/requests"
}
wrk_rate() { # URL [HEADER]
  wrk -t1 -c16 -d"${SECS}s" ${2:+-H "$2"} "$1" >"$WORK/run.out"
  ! grep -q 'Non-2xx\|Socket errors' "$WORK/run.out" || { cat "$WORK/run.out" >&2; fail "$1: errors"; }
  awk '/^Requests\/sec:/ {print $2}' "$WORK/run.out"
  awk '/ requests in / {print $1}' "$WORK/run.out" >"$WORK/requests"
}

# rate SIDE PORT: one run of FIGURE against that side.
rate() {
  local base=http://127.0.0.1:$2
  case $FIGURE in
    getme) h2load_rate "$base/auth.v1.AuthService/GetMe" "authorization: Bearer $(cat "$WORK/$1.jwt")" ;;
    health) h2load_rate "$base/grpc.health.v1.Health/Check" ;;
    api-me) wrk_rate "$base/api/me/" "Authorization: Token $(cat "$WORK/$1.key")" ;;
    auth-me) wrk_rate "$base/auth/me/" "Authorization: Bearer $(cat "$WORK/$1.jwt")" ;;
    healthz) wrk_rate "$base/healthz" ;;
    refresh | login)
      local in_flight=32
      [ "$FIGURE" = login ] && in_flight=16
      "$LOADGEN" --target "$base" --seconds "$SECS" --rpc "$FIGURE" --concurrency "$in_flight" >"$WORK/run.out" \
        || { cat "$WORK/run.out" >&2; fail "$FIGURE: the load generator saw unexpected answers"; }
      sed -n 's/.* rate=\([0-9.]*\)\/s .*/\1/p' "$WORK/run.out"
      sed -n 's/.* requests=\([0-9]*\) .*/\1/p' "$WORK/run.out" >"$WORK/requests" ;;
    *) fail "unknown figure $FIGURE" ;;
  esac
}

# cpu_ticks PID: the process's user + system CPU time so far, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# measure SIDE PORT PID: "RATE CPU_US" of one run: the rate, and the server's CPU
# microseconds per answered request.
measure() {
  local before after rate
  before=$(cpu_ticks "$3")
  rate=$(rate "$1" "$2")
  after=$(cpu_ticks "$3")
  python3 -c "import os, sys; ticks = os.sysconf('SC_CLK_TCK'); print(sys.argv[1], f'{($after - $before) / ticks * 1e6 / int(sys.argv[2]):.1f}')" \
    "$rate" "$(cat "$WORK/requests")"
}

start a "$BEFORE" 27201
PID_A=${PIDS[-1]}
start b "$AFTER" 27202
PID_B=${PIDS[-1]}
RATIOS=() CPU_RATIOS=()
for round in $(seq 1 "$ROUNDS"); do
  run_a=$(measure a 27201 "$PID_A")
  run_b=$(measure b 27202 "$PID_B")
  read -r a cpu_a <<<"$run_a"
  read -r b cpu_b <<<"$run_b"
  r=$(python3 -c "print(f'{$b / $a:.3f}')")
  c=$(python3 -c "print(f'{$cpu_b / $cpu_a:.3f}')")
  RATIOS+=("$r") CPU_RATIOS+=("$c")
  echo "round $round: A $a/s ($cpu_a µs CPU each)  B $b/s ($cpu_b µs)  B÷A $r (CPU $c)"
done
python3 -c "
import statistics, sys
rates, cpus = sys.argv[1:$ROUNDS + 1], sys.argv[$ROUNDS + 1:]
print(f'$FIGURE on $BACKEND, $ROUNDS rounds: median B÷A {statistics.median(map(float, rates)):.3f};'
      f' server CPU per request, median B÷A {statistics.median(map(float, cpus)):.3f}')" "${RATIOS[@]}" "${CPU_RATIOS[@]}"
