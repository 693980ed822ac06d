#!/usr/bin/env bash
# Where the test run's time goes: runs scripts/test.sh's go test step with
# -json, one package at a time (-p 1, so that a package's time is its own),
# and prints each package's seconds, their sum, and the slowest tests.
# The deterministic cores run without -race and the rest with it, as in
# scripts/test.sh; with -long every package runs under -race with
# MAELKIT_LONG=1. Needs python3.
# Usage: scripts/measure/test-time.sh [-long] [N slowest tests (15)]
set -euo pipefail
cd "$(dirname "$0")/../.."
long=
if [ "${1:-}" = -long ]; then long=1; shift; fi
top=${1:-15}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# The list of cores is scripts/test.sh's own.
read -ra cores <<<"$(sed -n 's/^cores=(\(.*\))$/\1/p' scripts/test.sh)"
if [ -n "$long" ]; then
	MAELKIT_LONG=1 go test -race -count=1 -p 1 -parallel 8 -timeout 60m -json ./... >"$out" || true
else
	unset MAELKIT_LONG
	go test -count=1 -p 1 -parallel 8 -timeout 15m -json "${cores[@]/#/./}" >"$out" || true
	# shellcheck disable=SC2046 # one package path per word
	go test -race -count=1 -p 1 -parallel 8 -timeout 15m -json \
		$(go list ./... | grep -vxF -f <(printf 'maelkit/%s\n' "${cores[@]}")) >>"$out" || true
fi
python3 - "$out" "$top" <<'PY'
import json, sys
pkgs, tests, failed = {}, [], []
for line in open(sys.argv[1]):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    act, pkg, test = e.get("Action"), e.get("Package", ""), e.get("Test")
    if act not in ("pass", "fail"):
        continue
    if test is None:
        pkgs[pkg] = e.get("Elapsed", 0)
    elif "/" not in test:
        tests.append((e.get("Elapsed", 0), pkg, test))
    if act == "fail":
        failed.append(pkg + (" " + test if test else ""))
for pkg, s in sorted(pkgs.items(), key=lambda kv: -kv[1]):
    print(f"{s:8.1f} s  {pkg}")
print(f"{sum(pkgs.values()):8.1f} s  sum over {len(pkgs)} packages")
print(f"\nslowest tests (parallel tests overlap):")
for s, pkg, test in sorted(tests, reverse=True)[: int(sys.argv[2])]:
    print(f"{s:8.1f} s  {pkg} {test}")
if failed:
    print("\nFAILED: " + ", ".join(failed))
    sys.exit(1)
PY
