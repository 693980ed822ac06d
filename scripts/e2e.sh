#!/usr/bin/env bash
# End-to-end runs of our node binaries on eddy, with short time limits.
# Each line is one `eddy test`; the script stops at the first failure and
# prints the verdict line of each run.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x bin/eddy ] || scripts/build.sh >/dev/null
store=$(mktemp -d)
trap 'rm -rf "$store"' EXIT

run() {
	local name=$1; shift
	printf '%-48s ' "$name"
	if out=$(bin/eddy test --quiet --store "$store" "$@" 2>&1); then
		# --quiet prints nothing: the seed is in the run's test.json.
		echo "valid (seed $(grep -o '"seed": *[0-9]*' "$store/latest/test.json" | grep -o '[0-9]*$'))"
	else
		code=$?
		echo "FAILED (exit $code)"; echo "$out" | tail -20
		# --quiet keeps the verdict to the run folder.
		[ -f "$store/latest/jepsen.log" ] && tail -20 "$store/latest/jepsen.log"
		exit 1
	fi
}

run "echo, 1 node" -w echo --bin bin/echo --node-count 1 --time-limit 3
run "echo, 5 nodes" -w echo --bin bin/echo --node-count 5 --time-limit 3 --rate 50
run "unique-ids, partitions, total availability" -w unique-ids --bin bin/unique-ids --node-count 3 \
	--time-limit 5 --rate 500 --availability total --nemesis partition --nemesis-interval 1
run "g-counter, partitions, total availability" -w g-counter --bin bin/g-counter --node-count 3 \
	--time-limit 5 --rate 100 --availability total --nemesis partition --nemesis-interval 1 --recovery 3
run "pn-counter, partitions, total availability" -w pn-counter --bin bin/pn-counter --node-count 3 \
	--time-limit 5 --rate 100 --availability total --nemesis partition --nemesis-interval 1 --recovery 3
run "pn-counter, 25 nodes, latency 100, partitions" -w pn-counter --bin bin/pn-counter --node-count 25 \
	--latency 100 --time-limit 5 --rate 100 --availability total --nemesis partition --nemesis-interval 1 --recovery 3
run "broadcast, 1 node" -w broadcast --bin bin/broadcast --node-count 1 --time-limit 3 --recovery 1
run "broadcast, 5 nodes, exponential, partitions" -w broadcast --bin bin/broadcast --node-count 5 --time-limit 5 \
	--rate 50 --latency 20 --latency-dist exponential --nemesis partition --nemesis-interval 1 --recovery 5
run "broadcast, 25 nodes, tree4, latency 100" -w broadcast --bin bin/broadcast --node-count 25 --time-limit 5 \
	--rate 100 --latency 100 --topology tree4 --recovery 2
run "g-set, 5 nodes, partitions" -w g-set --bin bin/g-set --node-count 5 --time-limit 5 --rate 50 \
	--nemesis partition --nemesis-interval 1 --recovery 5
run "lin-kv-raft, 3 nodes, partitions" -w lin-kv --bin bin/lin-kv-raft --node-count 3 --concurrency 2n \
	--time-limit 5 --rate 30 --nemesis partition --nemesis-interval 1
run "paxos-register, 3 nodes, partitions" -w lin-kv --bin bin/paxos-register --node-count 3 --concurrency 2n \
	--time-limit 5 --rate 30 --nemesis partition --nemesis-interval 1
run "txn-rw-register, strict-serializable, partitions" -w txn-rw-register --bin bin/txn-rw-register --node-count 3 \
	--concurrency 2n --time-limit 5 --rate 100 --nemesis partition --nemesis-interval 1
run "txn-rw-register read-committed (6c), partitions" -w txn-rw-register --bin bin/txn-rw-register --node-count 2 \
	--concurrency 2n --time-limit 5 --rate 1000 --consistency-models read-committed --availability total \
	--nemesis partition --nemesis-interval 1 read-committed
