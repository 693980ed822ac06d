#!/usr/bin/env bash
# Crash recovery of the Raft nodes (lin-kv-raft, txn-rw-register's strict
# mode) on eddy under --nemesis partition,kill,pause.
#   valid    validity over seeds 1..$SEEDS at 3 and 5 nodes, each binary,
#            with and without --kill-wipes-disk ($WIPE: "no yes", "no",
#            "yes"; $BINS: "lin-kv txn"; $NODES: "3 5"); one line per run:
#            binary, nodes, wipe, seed, valid? (every checker), the
#            workload checker's valid? alone (linearizability, or Elle's
#            strict serializability: safety, where the stats checker also
#            wants an ok of every kind: availability), ok fraction of ops
# Usage: scripts/measure/crash-raft.sh valid
# Runs are $PAR at a time; every run is 20 s of workload with a nemesis op
# every 3 s on average, the brief's command:
#   bin/eddy test -w lin-kv --bin bin/lin-kv-raft --node-count N --concurrency 2n
#     --time-limit 20 --nemesis partition,kill,pause --nemesis-interval 3 --seed S
set -euo pipefail
cd "${ROOT:-$(dirname "$0")/../..}"
[ -x bin/eddy ] && [ -x bin/lin-kv-raft ] && [ -x bin/txn-rw-register ] || scripts/build.sh >/dev/null
SEEDS=${SEEDS:-10}
PAR=${PAR:-2}
WIPE=${WIPE:-"no yes"}
BINS=${BINS:-"lin-kv txn"}
NODES=${NODES:-"3 5"}
store=$(mktemp -d)
trap 'rm -rf "$store"' EXIT

# one BIN NODES WIPE SEED prints: bin nodes wipe seed valid ok-fraction.
one() {
	local bin=$1 n=$2 wipe=$3 seed=$4
	local dir="$store/$bin-$n-$wipe-$seed" args=()
	case $bin in
	lin-kv) args=(-w lin-kv --bin bin/lin-kv-raft) ;;
	txn) args=(-w txn-rw-register --bin bin/txn-rw-register) ;;
	esac
	[ "$wipe" = yes ] && args+=(--kill-wipes-disk)
	bin/eddy test -q "${args[@]}" --node-count "$n" --concurrency 2n --time-limit 20 \
		--nemesis partition,kill,pause --nemesis-interval 3 --seed "$seed" --store "$dir" >/dev/null 2>&1 || true
	local res="$dir/latest/results.json"
	if [ ! -f "$res" ]; then
		printf '%s\t%s\t%s\t%s\tCRASHED\tCRASHED\n' "$bin" "$n" "$wipe" "$seed"
		return
	fi
	jq -r --arg b "$bin" --arg n "$n" --arg w "$wipe" --arg s "$seed" \
		'[$b, $n, $w, $s, (."valid?"|tostring), (.workload."valid?"|tostring),
		  ((.stats."ok-count" // 0) / ([.stats.count // 1, 1] | max) * 100 | floor | tostring) + "%"] | @tsv' "$res"
	rm -rf "$dir"
}
export -f one
export store

valid() {
	printf 'bin\tnodes\twipe\tseed\tvalid\tsafe\tok\n'
	local jobs=()
	for bin in $BINS; do
		for wipe in $WIPE; do
			for n in $NODES; do
				for seed in $(seq 1 "$SEEDS"); do
					jobs+=("$bin $n $wipe $seed")
				done
			done
		done
	done
	printf '%s\n' "${jobs[@]}" | xargs -P "$PAR" -L 1 bash -c 'one "$@"' _ | tee "$store/valid.tsv"
	awk -F'\t' '{k=$1" "$2" nodes wipe="$3; n[k]++; if ($5=="true") v[k]++; if ($6=="true") w[k]++}
		END{for (k in n) printf "%s: valid %d/%d, workload (safety) valid %d/%d\n", k, v[k]+0, n[k], w[k]+0, n[k]}' "$store/valid.tsv" | sort
}

for what in "${@:-valid}"; do
	case $what in
	valid) valid ;;
	*) echo "usage: $0 [valid]" >&2; exit 2 ;;
	esac
done
