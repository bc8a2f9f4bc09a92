#!/usr/bin/env bash
# The whole test suite, on both storage backends:
#   1. `cargo test`: unit tests, and the integration suite with a fresh SQLite file per test;
#   2. the integration suite again with a fresh PostgreSQL database per test, when
#      AUTHD_TEST_POSTGRES_URL names a server where the role may CREATE DATABASE
#      (`bash .ci/postgres` starts one and prints its URL).
# Without PostgreSQL the second run is skipped, and says so; in CI (CI=true) it is required.
# Extra arguments go to both cargo runs (e.g. a test name filter).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --locked "$@"

url=${AUTHD_TEST_POSTGRES_URL:-}
if [ -z "$url" ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "CI requires the PostgreSQL run: AUTHD_TEST_POSTGRES_URL is not set" >&2
    exit 1
  fi
  echo
  echo "NOTE: skipped the PostgreSQL run of the integration suite (SQLite only)."
  echo "      Run it with: AUTHD_TEST_POSTGRES_URL=\$(bash .ci/postgres) scripts/test.sh"
  exit 0
fi

# Each test creates its own database; drop what earlier runs left behind.
drop_test_databases() {
  psql "$url" -tA -c "SELECT datname FROM pg_database WHERE datname LIKE 'authd\_test\_%'" |
    while read -r name; do
      [ -n "$name" ] && psql "$url" -q -c "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)"
    done
}
drop_test_databases
echo
echo "==> the integration suite on PostgreSQL"
AUTHD_TEST_BACKEND=postgres cargo test --locked --test api "$@"
drop_test_databases
