#!/usr/bin/env bash
# The REST gateway against its own OpenAPI document: schemathesis generates requests for
# every operation (examples, coverage and fuzzing phases) against a live authd and fails on
# any 5xx and on any response outside the document (status, body schema, headers, content
# type, 405 with Allow). Usage: scripts/contract.sh [path to schemathesis]
#
# The server is the debug binary on a fresh SQLite file, with cheap argon2 parameters so
# the run takes seconds; the contract does not depend on hashing cost.
set -euo pipefail
cd "$(dirname "$0")/.."

schemathesis=${1:-${SCHEMATHESIS:-.venv/bin/schemathesis}}
cargo build --locked --bin authd

work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
target/debug/authd --listen 127.0.0.1:0 --address-file "$work/address" \
  --database-url "sqlite://$work/authd.db" --argon2-memory-kib 64 --argon2-iterations 1 \
  2>"$work/log" &
pid=$!
for _ in $(seq 1 300); do
  [ -s "$work/address" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/log" >&2; exit 1; }
  sleep 0.1
done
address=$(cat "$work/address")

"$schemathesis" run "http://$address/api/openapi.json" \
  --phases examples,coverage,fuzzing,stateful \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,unsupported_method,allow_header_conformance,missing_required_header \
  --max-examples "${CONTRACT_EXAMPLES:-150}" --workers 2 --warnings off
