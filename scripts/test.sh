#!/usr/bin/env bash
# The test command: installs the real components the tests need (cached),
# then runs every test, unit and end-to-end. Extra arguments go to `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-deps.sh
go vet ./...
scripts/check-dockerfile.sh
go test -count=1 -timeout 20m "$@" ./...
