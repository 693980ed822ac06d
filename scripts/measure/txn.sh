#!/usr/bin/env bash
# Measures txn-rw-register's read-committed mode on Fly.io's 6a, 6b (both
# variants) and 6c commands (6c with --nemesis partition typed correctly),
# for seeds 1..SEEDS, and once more per seed checked as strict-serializable
# to show the anomalies the mode allows; then both modes side by side on the
# issue's strict-serializable goal command (3 nodes, rate 100, partitions),
# both checked as strict-serializable, for both workloads. One TSV line per
# run:
#   challenge seed valid ok-fraction p50-ms p99-ms servers-msgs-per-op anomaly-types
# Usage: scripts/measure/txn.sh [SEEDS] [TIME_LIMIT_S] [CHALLENGES...]
# Needs bin/eddy and bin/txn-rw-register (scripts/build.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
seeds=${1:-10}
limit=${2:-20}
shift $(($# < 2 ? $# : 2))
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(6a 6b 6b-partition 6c 6c-as-strict-serializable 6c-list-append
	goal-read-committed goal-default-mode goal-list-append-read-committed goal-list-append-default-mode)
store=$(mktemp -d /tmp/txn-measure.XXXXXX)
trap 'rm -rf "$store"' EXIT

common=(--bin bin/txn-rw-register --concurrency 2n --time-limit "$limit" -q)
fly="-w txn-rw-register --rate 1000 --node-count"
goal="--rate 100 --node-count 3 --consistency-models strict-serializable --nemesis partition"
rw="-w txn-rw-register"
la="-w txn-list-append"
# Each run: eddy's options, then after "|" the binary's arguments (the mode).
declare -A runs=(
	[6a]="$fly 1 --consistency-models read-uncommitted --availability total|read-committed"
	[6b]="$fly 2 --consistency-models read-uncommitted|read-committed"
	[6b-partition]="$fly 2 --consistency-models read-uncommitted --availability total --nemesis partition|read-committed"
	[6c]="$fly 2 --consistency-models read-committed --availability total --nemesis partition|read-committed"
	[6c-as-strict-serializable]="$fly 2 --consistency-models strict-serializable --nemesis partition|read-committed"
	[6c-list-append]="${fly/rw-register/list-append} 2 --consistency-models read-committed --availability total --nemesis partition|read-committed"
	[goal-read-committed]="$rw $goal|read-committed"
	[goal-default-mode]="$rw $goal|"
	[goal-list-append-read-committed]="$la $goal|read-committed"
	[goal-list-append-default-mode]="$la $goal|"
)

summarise() { # results.json -> valid ok p50 p99 msgs-per-op anomalies
	python3 - "$1" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
q = r.get("perf", {}).get("latency-quantiles", {}).get("txn", {})
w = r.get("workload", {})
print("\t".join(str(x) for x in [
    r.get("valid?"), r.get("availability", {}).get("ok-fraction"), q.get("0.5"), q.get("0.99"),
    r.get("net", {}).get("servers", {}).get("msgs-per-op"),
    ",".join(w.get("anomaly-types", [])) or "-"]))
EOF
}

printf 'challenge\tseed\tvalid\tok-fraction\tp50-ms\tp99-ms\tmsgs-per-op\tanomaly-types\n'
for name in "${names[@]}"; do
	for seed in $(seq 1 "$seeds"); do
		spec=${runs[$name]}
		# shellcheck disable=SC2086
		bin/eddy test "${common[@]}" ${spec%%|*} --store "$store" --seed "$seed" ${spec#*|} >/dev/null 2>&1 || true
		printf '%s\t%s\t%s\n' "$name" "$seed" "$(summarise "$store/latest/results.json")"
	done
done
