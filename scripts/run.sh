#!/usr/bin/env bash
# Builds our node binary for a workload and runs it with the book's / Fly.io's
# flags (partitions included) on eddy, then on the real Maelstrom too when one
# is installed ($MAELSTROM, or `maelstrom` on PATH), with identical flags.
#
#   scripts/run.sh WORKLOAD [extra flags...]      e.g. scripts/run.sh broadcast --time-limit 5
#
# Extra flags are appended, so they override the defaults. ENGINE=eddy or
# ENGINE=maelstrom runs only that one. Exits non-zero when any run is not valid.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
	echo "usage: scripts/run.sh WORKLOAD [extra flags...]" >&2
	echo "workloads: echo unique-ids broadcast g-set g-counter pn-counter lin-kv txn-rw-register" >&2
	exit 2
}
[ $# -ge 1 ] || usage
workload=$1
shift

case "$workload" in
echo)            bin=echo;            flags=(--node-count 1 --time-limit 10) ;;
unique-ids)      bin=unique-ids;      flags=(--time-limit 30 --rate 1000 --node-count 3 --availability total --nemesis partition) ;;
broadcast)       bin=broadcast;       flags=(--node-count 5 --time-limit 20 --rate 10 --nemesis partition) ;;
g-set)           bin=g-set;           flags=(--node-count 3 --time-limit 20 --rate 10 --nemesis partition) ;;
g-counter)       bin=g-counter;       flags=(--node-count 3 --rate 100 --time-limit 20 --nemesis partition) ;;
pn-counter)      bin=pn-counter;      flags=(--node-count 3 --rate 100 --time-limit 20 --nemesis partition) ;;
lin-kv)          bin=lin-kv-raft;     flags=(--node-count 3 --concurrency 4n --rate 30 --time-limit 60 --nemesis partition) ;;
txn-rw-register) bin=txn-rw-register; flags=(--node-count 2 --concurrency 2n --time-limit 20 --rate 1000 --consistency-models read-committed --availability total --nemesis partition read-committed) ;;
*) usage ;;
esac

mkdir -p bin
go build -o bin/ "./nodes/$bin" ./tests/eddy/cmd/eddy

engine=${ENGINE:-all}
maelstrom=${MAELSTROM:-$(command -v maelstrom || true)}
args=(test -w "$workload" --bin "bin/$bin" "${flags[@]}" "$@")
status=0

if [ "$engine" != maelstrom ]; then
	echo "== eddy ${args[*]}"
	code=0
	bin/eddy "${args[@]}" || code=$?
	case $code in
	0) echo "eddy: valid" ;;
	1) echo "eddy: INVALID"; status=1 ;;
	*) echo "eddy: exit $code (2 unknown, 254 bad arguments, 255 crashed)"; status=1 ;;
	esac
	if [ -f store/latest/report.html ]; then
		echo "report: $(cd store/latest && pwd -P)/report.html"
	fi
fi

if [ "$engine" != eddy ]; then
	if [ -n "$maelstrom" ] && [ -x "$maelstrom" ]; then
		echo "== $maelstrom ${args[*]}"
		code=0
		"$maelstrom" "${args[@]}" || code=$?
		if [ $code -eq 0 ]; then echo "maelstrom: valid"; else echo "maelstrom: exit $code"; status=1; fi
	elif [ "$engine" = maelstrom ]; then
		echo "ENGINE=maelstrom but no maelstrom found: set \$MAELSTROM or put maelstrom on PATH" >&2
		exit 2
	else
		echo "(no real maelstrom found via \$MAELSTROM or PATH; ran eddy only)"
	fi
fi
exit $status
