#!/usr/bin/env bash
# End-to-end runs of our node binaries through eddy's command line, with
# short time limits. Each `run` line below is one `eddy test`, $PAR (2) at a
# time; each prints its verdict and seed, a failed run also the end of its
# output, and the script fails if any run did.
#
# Usage: scripts/e2e.sh [-long]
#
# The default runs the lines marked quick: our binaries and command-line
# features that the Go end-to-end tests (tests/e2e, which call eddy.Run)
# do not run. The lines marked long repeat runs of those tests through the
# command line; -long (or MAELKIT_LONG=1, which scripts/test.sh -long sets)
# runs them too.
set -euo pipefail
cd "$(dirname "$0")/.."
long=
[ "${MAELKIT_LONG:-0}" = 0 ] || long=1
case ${1:-} in
-long) long=1 ;;
"") ;;
*) echo "usage: scripts/e2e.sh [-long]" >&2; exit 254 ;;
esac
PAR=${PAR:-2}
[ -x bin/eddy ] || scripts/build.sh >/dev/null
store=$(mktemp -d)
trap 'rm -rf "$store"' EXIT

# one I NAME EDDY-ARGS... runs one test into its own store.
one() {
	local i=$1 name=$2; shift 2
	local out code=0
	out=$(bin/eddy test --quiet --store "$store/$i" "$@" 2>&1) || code=$?
	if [ "$code" -eq 0 ]; then
		# --quiet prints nothing: the seed is in the run's test.json.
		printf '%-52s valid (seed %s)\n' "$name" "$(grep -o '"seed": *[0-9]*' "$store/$i/latest/test.json" | grep -o '[0-9]*$')"
	else
		printf '%-52s FAILED (exit %d)\n%s\n' "$name" "$code" "$(echo "$out" | tail -20)"
		# --quiet keeps the verdict to the run folder.
		[ -f "$store/$i/latest/jepsen.log" ] && tail -20 "$store/$i/latest/jepsen.log"
		touch "$store/failed"
	fi
}

# run quick|long NAME EDDY-ARGS... starts one test when a slot is free.
n=0
run() {
	local mode=$1; shift
	[ "$mode" = quick ] || [ -n "$long" ] || return 0
	while [ "$(jobs -rp | wc -l)" -ge "$PAR" ]; do wait -n || true; done
	n=$((n + 1))
	one "$n" "$@" &
}

run long "echo, 1 node" -w echo --bin bin/echo --node-count 1 --time-limit 3
run quick "echo, 5 nodes" -w echo --bin bin/echo --node-count 5 --time-limit 3 --rate 50
run quick "unique-ids, partitions, total availability" -w unique-ids --bin bin/unique-ids --node-count 3 \
	--time-limit 5 --rate 500 --availability total --nemesis partition --nemesis-interval 1
run long "g-counter, partitions, total availability" -w g-counter --bin bin/g-counter --node-count 3 \
	--time-limit 5 --rate 100 --availability total --nemesis partition --nemesis-interval 1 --recovery 3
run long "pn-counter, partitions, total availability" -w pn-counter --bin bin/pn-counter --node-count 3 \
	--time-limit 5 --rate 100 --availability total --nemesis partition --nemesis-interval 1 --recovery 3
run long "pn-counter, 25 nodes, latency 100, partitions" -w pn-counter --bin bin/pn-counter --node-count 25 \
	--latency 100 --time-limit 5 --rate 100 --availability total --nemesis partition --nemesis-interval 1 --recovery 3
run long "broadcast, 1 node" -w broadcast --bin bin/broadcast --node-count 1 --time-limit 3 --recovery 1
run long "broadcast, 5 nodes, exponential, partitions" -w broadcast --bin bin/broadcast --node-count 5 --time-limit 5 \
	--rate 50 --latency 20 --latency-dist exponential --nemesis partition --nemesis-interval 1 --recovery 5
run quick "broadcast, 25 nodes, tree4, latency 100" -w broadcast --bin bin/broadcast --node-count 25 --time-limit 5 \
	--rate 100 --latency 100 --topology tree4 --recovery 2
run long "g-set, 5 nodes, partitions" -w g-set --bin bin/g-set --node-count 5 --time-limit 5 --rate 50 \
	--nemesis partition --nemesis-interval 1 --recovery 5
run long "lin-kv-raft, 3 nodes, partitions" -w lin-kv --bin bin/lin-kv-raft --node-count 3 --concurrency 2n \
	--time-limit 5 --rate 30 --nemesis partition --nemesis-interval 1
run long "paxos-register, 3 nodes, partitions" -w lin-kv --bin bin/paxos-register --node-count 3 --concurrency 2n \
	--time-limit 5 --rate 30 --nemesis partition --nemesis-interval 1
run long "txn-rw-register, strict-serializable, partitions" -w txn-rw-register --bin bin/txn-rw-register --node-count 3 \
	--concurrency 2n --time-limit 5 --rate 100 --nemesis partition --nemesis-interval 1
run quick "txn-rw-register read-committed (6c), partitions" -w txn-rw-register --bin bin/txn-rw-register --node-count 2 \
	--concurrency 2n --time-limit 5 --rate 1000 --consistency-models read-committed --availability total \
	--nemesis partition --nemesis-interval 1 read-committed
wait
[ ! -e "$store/failed" ]
