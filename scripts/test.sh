#!/usr/bin/env bash
# Runs every test: formatting, vet, unit and end-to-end tests under the race
# detector, a short fuzzing budget for the decoders, and eddy runs of the
# node binaries. CI (.ci/run) calls this script.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "gofmt"
unformatted=$(gofmt -l lib nodes tests)
if [ -n "$unformatted" ]; then
	echo "not gofmt-formatted:"; echo "$unformatted"; exit 1
fi

step "go vet"
go vet ./...

step "build"
scripts/build.sh >/dev/null

step "go test -race"
go test -race -count=1 -parallel 8 -timeout 15m ./...

step "fuzz (short budget)"
FUZZTIME=${FUZZTIME:-10s}
go test -run '^$' -fuzz '^FuzzDecodeLine$' -fuzztime "$FUZZTIME" ./lib/node

step "eddy end-to-end runs"
scripts/e2e.sh

printf '\nall tests passed\n'
