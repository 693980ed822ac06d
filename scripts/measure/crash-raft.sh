#!/usr/bin/env bash
# Crash recovery of the Raft nodes (lin-kv-raft, txn-rw-register's strict
# mode) on eddy under --nemesis partition,kill,pause.
#   valid    validity over seeds 1..$SEEDS (or the list $SEEDS, e.g.
#            SEEDS="3 4") at 3 and 5 nodes, each binary,
#            with and without --kill-wipes-disk ($WIPE: "no yes", "no",
#            "yes"; $BINS: "lin-kv txn"; $NODES: "3 5"); one line per run:
#            binary, nodes, wipe, seed, valid? (every checker), the
#            workload checker's valid? alone (linearizability, or Elle's
#            strict serializability: safety, where the stats checker also
#            wants an ok of every kind: availability), ok fraction of ops,
#            and when a majority was up and connected, with what the ops
#            of a kind that never succeeded got then (crash-raft-health.py);
#            then each run's class and, per series, "safe x/n, valid x/n,
#            valid on runs with >= 5 s healthy majority x/y"
#            (crash-raft-health.py --series)
#   cost     the cost of durability: lin-kv-raft on $COST_NODES ("3 5")
#            nodes, no faults, --rate $RATE (1000) for $SECS (10) s, at
#            each --concurrency of $CONC ("10n 20n 40n"), seeds
#            $COST_SEEDS ("1 2 3"), with fsync and with -sync=false
#            alternately; one line per run (scripts/measure/disk-cost.sh:
#            ok ops/s, write+cas p50/p99, fsyncs per committed op, the
#            cluster's and each node's, from the nodes' own counters,
#            records per sync, bytes per op, largest data directory).
#            QUIET=1 runs each under the quiet lock; STRACE=1 checks the
#            counters against strace (QUIET=1 uses chrt -r 1: under
#            chrt -f 1 spinning nodes starved eddy on two cores)
#   disk     the same counts over a $DISK_SECS (60) s run at --rate
#            $DISK_RATE (200), --concurrency 10n: is the data directory
#            bounded by snapshots?
#   recovery lin-kv-raft on 3 nodes under --nemesis kill every 2 s, seeds
#            1..$REC_SEEDS (3): time from a restart to the node's first ok
#            reply, and from a leader's kill to a new leader's first
#            heartbeat (crash-raft-analyze.py)
# Usage: scripts/measure/crash-raft.sh [valid|cost|disk|recovery]...
# Runs are $PAR at a time; with $KEEP set, the folders of runs that are
# not valid are copied there ($KEEP_ALL: every run's folder); $LINKV_BIN
# replaces bin/lin-kv-raft (e.g. a build to compare); every run is 20 s
# of workload with a nemesis op every 3 s on average, the brief's command:
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

# one BIN NODES WIPE SEED prints: bin nodes wipe seed valid safe ok-fraction
# and the healthy-majority summary (crash-raft-health.py --summary).
one() {
	local bin=$1 n=$2 wipe=$3 seed=$4
	local dir="$store/$bin-$n-$wipe-$seed" args=() nodeargs=()
	case $bin in
	lin-kv) args=(-w lin-kv --bin "${LINKV_BIN:-bin/lin-kv-raft}") ;;
	txn) args=(-w txn-rw-register --bin bin/txn-rw-register) ;;
	esac
	# Wiped disks: the node is told to expect them (-amnesia).
	[ "$wipe" = yes ] && args+=(--kill-wipes-disk) && nodeargs=(-- -amnesia)
	bin/eddy test -q "${args[@]}" --node-count "$n" --concurrency 2n --time-limit 20 \
		--nemesis partition,kill,pause --nemesis-interval 3 --seed "$seed" --store "$dir" "${nodeargs[@]}" >/dev/null 2>&1 || true
	local res="$dir/latest/results.json"
	if [ ! -f "$res" ]; then
		printf '%s\t%s\t%s\t%s\tCRASHED\tCRASHED\n' "$bin" "$n" "$wipe" "$seed"
		return
	fi
	if [ "$(jq -r '."valid?"' "$res")" != true ] && [ -n "${KEEP:-}" ]; then
		mkdir -p "$KEEP" && cp -r "$dir" "$KEEP/" # kept to see why
	fi
	if [ -n "${KEEP_ALL:-}" ]; then
		mkdir -p "$KEEP_ALL" && cp -r "$dir" "$KEEP_ALL/"
	fi
	local health
	health=$(python3 scripts/measure/crash-raft-health.py --summary "$dir/latest" || echo '?')
	jq -r --arg b "$bin" --arg n "$n" --arg w "$wipe" --arg s "$seed" --arg h "$health" \
		'[$b, $n, $w, $s, (."valid?"|tostring), (.workload."valid?"|tostring),
		  ((.stats."ok-count" // 0) / ([.stats.count // 1, 1] | max) * 100 | floor | tostring) + "%",
		  $h] | @tsv' "$res"
}
export -f one
export store

valid() {
	printf 'bin\tnodes\twipe\tseed\tvalid\tsafe\tok\thealthy majority\n'
	local jobs=()
	for bin in $BINS; do
		for wipe in $WIPE; do
			for n in $NODES; do
				for seed in $(case $SEEDS in *[!0-9]*) echo "$SEEDS" ;; *) seq 1 "$SEEDS" ;; esac); do
					jobs+=("$bin $n $wipe $seed")
				done
			done
		done
	done
	printf '%s\n' "${jobs[@]}" | xargs -P "$PAR" -L 1 bash -c 'one "$@"' _ | tee "$store/valid.tsv"
	# Each run classified, then per series: safe, valid, and valid on the
	# runs with at least 5 s of healthy majority (crash-raft-health.py).
	python3 scripts/measure/crash-raft-health.py --series "$store"/*-*-*-*/latest
}

# sweep LABEL BIN OPS NODES... runs disk-cost.sh over $CONC, $COST_SEEDS
# and both -sync settings, alternating (a seed's first run is with fsync
# for odd seeds, without for even ones), and prints one line per run.
sweep() {
	local label=$1 bin=$2 ops=$3 header=1; shift 3
	for n in "$@"; do
		for conc in ${CONC:-10n 20n 40n}; do
			for seed in ${COST_SEEDS:-1 2 3}; do
				local order="sync nosync"
				[ $((seed % 2)) = 0 ] && order="nosync sync"
				for s in $order; do
					local flags=()
					[ "$s" = nosync ] && flags=(-sync=false)
					HEADER=$header scripts/measure/disk-cost.sh "$label-n$n-$conc-s$seed-$s" "$bin" "$ops" \
						--node-count "$n" --concurrency "$conc" --rate "${RATE:-1000}" --time-limit "${SECS:-10}" \
						--seed "$seed" -- "${flags[@]}"
					header=
				done
			done
		done
	done
}

cost() {
	sweep lin-kv-raft "${LINKV_BIN:-bin/lin-kv-raft}" log ${COST_NODES:-3 5}
}

disk() {
	HEADER=1 scripts/measure/disk-cost.sh disk "${LINKV_BIN:-bin/lin-kv-raft}" log --node-count 3 \
		--concurrency 10n --rate "${DISK_RATE:-200}" --time-limit "${DISK_SECS:-60}" --seed 1
}

recovery() {
	for seed in $(seq 1 "${REC_SEEDS:-3}"); do
		local dir="$store/rec-$seed"
		bin/eddy test -q -w lin-kv --bin bin/lin-kv-raft --node-count 3 --concurrency 2n --rate 100 \
			--time-limit 20 --nemesis kill --nemesis-interval 2 --seed "$seed" --store "$dir" >/dev/null 2>&1 || true
		echo "seed $seed:"
		python3 scripts/measure/crash-raft-analyze.py "$dir/latest" | sed 's/^/  /'
	done
}

for what in "${@:-valid}"; do
	case $what in
	valid) valid ;;
	cost) cost ;;
	disk) disk ;;
	recovery) recovery ;;
	*) echo "usage: $0 [valid|cost|disk|recovery]..." >&2; exit 2 ;;
	esac
done
