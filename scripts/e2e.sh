#!/usr/bin/env bash
# End-to-end runs of our node binaries through eddy's command line, with
# short time limits. Each `run` line below is one `eddy test`, $PAR (2) at a
# time; each prints its verdict and seed, a failed run also the end of its
# output, and the script fails if any run did.
#
# Usage: scripts/e2e.sh [-long]
#
# Each line names a scenario of a grade suite, so the workload flags have
# one source; the line adds overrides after them.
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

# one I NAME BIN SUITE SCENARIO OVERRIDES... runs one scenario of a grade
# suite (tests/eddy/grade/suites/SUITE.json, read through `eddy suite`, as
# scripts/run.sh does) into its own store. OVERRIDES follow the scenario's
# flags, so they win: the short time limits and this script's own cases.
one() {
	local i=$1 name=$2 bin=$3 suite=$4 scenario=$5; shift 5
	local out code=0 flags=() sargs=()
	while IFS= read -r w; do flags+=("$w"); done < <(bin/eddy suite -w "$suite" --flags "$scenario")
	while IFS= read -r w; do sargs+=("$w"); done < <(bin/eddy suite -w "$suite" --args "$scenario")
	if [ ${#flags[@]} -eq 0 ]; then
		printf '%-52s FAILED (no scenario %s in the %s suite)\n' "$name" "$scenario" "$suite"
		touch "$store/failed"
		return
	fi
	out=$(bin/eddy test --quiet --store "$store/$i" -w "$suite" --bin "bin/$bin" "${flags[@]}" "$@" \
		-- ${sargs[@]+"${sargs[@]}"} 2>&1) || code=$?
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

# run quick|long NAME BIN SUITE SCENARIO OVERRIDES... starts one test when
# a slot is free.
n=0
run() {
	local mode=$1; shift
	[ "$mode" = quick ] || [ -n "$long" ] || return 0
	while [ "$(jobs -rp | wc -l)" -ge "$PAR" ]; do wait -n || true; done
	n=$((n + 1))
	one "$n" "$@" &
}

fast="--nemesis-interval 1"
run long "echo, 1 node" echo echo 1 --time-limit 3
run quick "echo, 5 nodes" echo echo 1-multi --node-count 5 --time-limit 3
run quick "unique-ids, partitions, total availability" unique-ids unique-ids 2 --time-limit 5 --rate 500 $fast
run long "g-counter, partitions, total availability" g-counter g-counter 4 \
	--time-limit 5 --availability total $fast --recovery 3
run long "pn-counter, partitions, total availability" pn-counter pn-counter pn-partition \
	--time-limit 5 --availability total $fast --recovery 3
run long "pn-counter, 25 nodes, latency 100, partitions" pn-counter pn-counter pn-partition --node-count 25 \
	--latency 100 --time-limit 5 --availability total $fast --recovery 3
run long "broadcast, 1 node" broadcast broadcast 3a --time-limit 3 --recovery 1
run long "broadcast, 5 nodes, exponential, partitions" broadcast broadcast 3c --time-limit 5 \
	--rate 50 --latency 20 --latency-dist exponential $fast --recovery 5
run quick "broadcast, 25 nodes, tree4, latency 100" broadcast broadcast 3d --time-limit 5 --topology tree4 --recovery 2
run long "g-set, 5 nodes, partitions" g-set g-set g-set-partition --node-count 5 --time-limit 5 --rate 50 \
	$fast --recovery 5
run long "lin-kv-raft, 3 nodes, partitions" lin-kv-raft lin-kv raft --concurrency 2n --time-limit 5 $fast
run long "paxos-register, 3 nodes, partitions" paxos-register lin-kv raft --concurrency 2n --time-limit 5 $fast
run long "txn-rw-register, strict-serializable, partitions" txn-rw-register txn-rw-register 6b --node-count 3 \
	--rate 100 --consistency-models strict-serializable --nemesis partition $fast --time-limit 5
run quick "txn-rw-register read-committed (6c), partitions" txn-rw-register txn-rw-register 6c \
	--time-limit 5 $fast read-committed
wait
[ ! -e "$store/failed" ]
