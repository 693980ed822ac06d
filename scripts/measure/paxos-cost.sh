#!/usr/bin/env bash
# The cost of durability for paxos-register, counted as crash-raft.sh cost
# counts it for lin-kv-raft (scripts/measure/disk-cost.sh, the nodes' own
# disk counters): 3 nodes, no faults, --rate $RATE (1000) for $SECS (10)
# s, at each --concurrency of $CONC ("10n 20n 40n"), seeds $COST_SEEDS
# ("1 2 3"), with fsync and with -sync=false alternately. A committed op
# is every op answered ok or fail (reads are Paxos rounds that write too).
# Per run: valid?, ok ops/s, write+cas p50/p99 (ms, ok only), fsyncs per
# op for the cluster and per node, log records (accepts, promises) per
# log sync, inputs per drained Output with writes (most inputs write
# nothing: replies to a proposer, forwards to a busy one), bytes per op.
# QUIET=1 runs each under the quiet lock; STRACE=1 checks the counters
# against strace.
#
#   scripts/measure/paxos-cost.sh [BIN_DIR]   (default bin)
set -euo pipefail
cd "$(dirname "$0")/../.."
bindir=$(cd "${1:-bin}" && pwd)
[ -x "$bindir/paxos-register" ] || { echo "no paxos-register in $bindir" >&2; exit 1; }
[ -x bin/eddy ] || scripts/build.sh >/dev/null
header=1
for conc in ${CONC:-10n 20n 40n}; do
	for seed in ${COST_SEEDS:-1 2 3}; do
		order="sync nosync"
		[ $((seed % 2)) = 0 ] && order="nosync sync"
		for s in $order; do
			flags=()
			[ "$s" = nosync ] && flags=(-sync=false)
			HEADER=$header scripts/measure/disk-cost.sh "paxos-n3-$conc-s$seed-$s" "$bindir/paxos-register" all \
				--node-count 3 --concurrency "$conc" --rate "${RATE:-1000}" --time-limit "${SECS:-10}" \
				--seed "$seed" -- "${flags[@]}"
			header=
		done
	done
done
