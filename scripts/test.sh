#!/usr/bin/env bash
# Runs every test: formatting, vet, unit and end-to-end tests, a short
# fuzzing budget for the decoders, and eddy runs of the node binaries. CI
# (.ci/run) calls this script.
#
# Usage: scripts/test.sh [-long]
#
# The default run is meant to stay within 6 minutes on two cores. -long (or
# MAELKIT_LONG=1 in the environment) exports MAELKIT_LONG=1, which
# lib/testenv reads: the soaks and seed sweeps run in full, every package
# runs under the race detector, and scripts/e2e.sh runs every line.
set -euo pipefail
cd "$(dirname "$0")/.."

long=
[ "${MAELKIT_LONG:-0}" = 0 ] || long=1
case ${1:-} in
-long) long=1 ;;
"") ;;
*) echo "usage: scripts/test.sh [-long]" >&2; exit 254 ;;
esac
if [ -n "$long" ]; then export MAELKIT_LONG=1; else unset MAELKIT_LONG; fi

step() { printf '\n== %s\n' "$*"; }

step "gofmt"
unformatted=$(gofmt -l lib nodes tests)
if [ -n "$unformatted" ]; then
	echo "not gofmt-formatted:"; echo "$unformatted"; exit 1
fi

step "go vet"
go vet ./...

# staticcheck, pinned (2026.2.2 supports Go 1.26): installed from the
# module proxy on first use, then reused from where go install puts it.
step "staticcheck"
staticcheck_version=v0.8.2
gobin=$(go env GOBIN)
[ -n "$gobin" ] || gobin="$(go env GOPATH)/bin"
staticcheck="$gobin/staticcheck"
if ! "$staticcheck" -version 2>/dev/null | grep -qF "(${staticcheck_version#v})"; then
	go install "honnef.co/go/tools/cmd/staticcheck@$staticcheck_version"
fi
"$staticcheck" ./...

step "build"
scripts/build.sh >/dev/null

# The deterministic cores: sans-I/O state machines tested in single-goroutine
# simulations. With no goroutine, channel or lock in their code or tests the
# race detector has nothing to find there, and it makes their simulations
# about six times slower, so the default run tests them without it (next to
# the race-detector run of everything else); -long runs them under -race too.
# A package that starts using goroutines must leave this list.
cores=(lib/counter lib/crdt lib/gossip lib/gset lib/kv lib/paxos lib/raft lib/rsm lib/sim lib/txn)
if [ -n "$long" ]; then
	step "go test -race (long)"
	go test -race -count=1 -parallel 8 -timeout 60m ./...
else
	files=()
	for c in "${cores[@]}"; do files+=("$c"/*.go); done
	concurrent=$(grep -lE '^[[:space:]]*go [[:alnum:]_(]|"sync(/atomic)?"|chan ' "${files[@]}" || true)
	if [ -n "$concurrent" ]; then
		echo "goroutines, channels or locks in a package tested without -race (scripts/test.sh cores):"
		echo "$concurrent"; exit 1
	fi
	others=$(go list ./... | grep -vxF -f <(printf 'maelkit/%s\n' "${cores[@]}"))
	step "go test (deterministic cores) and go test -race (the rest), side by side"
	go test -count=1 -parallel 8 -timeout 15m "${cores[@]/#/./}" &
	pure=$!
	# shellcheck disable=SC2086 # one package path per word
	race_ok=0; go test -race -count=1 -parallel 8 -timeout 15m $others || race_ok=$?
	pure_ok=0; wait "$pure" || pure_ok=$?
	[ "$race_ok" -eq 0 ] && [ "$pure_ok" -eq 0 ] || exit 1
fi

step "fuzz (short budget)"
FUZZTIME=${FUZZTIME:-10s}
go test -run '^$' -fuzz '^FuzzDecodeLine$' -fuzztime "$FUZZTIME" ./lib/node

step "eddy end-to-end runs"
scripts/e2e.sh

printf '\nall tests passed\n'
