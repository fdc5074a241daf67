#!/usr/bin/env bash
# The test command: installs the real components the tests need (cached),
# then runs every test, unit and end-to-end. Extra arguments go to `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-deps.sh
go vet ./...
scripts/check-dockerfile.sh
# The benchmark harness's smoke run (tiny sizes, ~20 s) proves every bench
# path still works and holds the proxy to its KMS calls per request; it
# asserts no timing.
SSEPROXY_BENCH_SMOKE=1 go test -count=1 -timeout 20m "$@" ./...
