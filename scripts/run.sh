#!/usr/bin/env bash
# Builds one of our node binaries and runs it end to end on eddy with the book's /
# Fly.io's flags (partitions included), then on the real Maelstrom too when one is
# installed ($MAELSTROM, or `maelstrom` on PATH), with identical flags.
#
#   scripts/run.sh NAME [extra flags or args for the binary...]
#
# NAME is a workload or one of our binaries (the README's table), e.g.
#   scripts/run.sh g-counter
#   scripts/run.sh paxos-register --time-limit 10     lin-kv on bin/paxos-register
#   scripts/run.sh txn-list-append                    that workload on bin/txn-rw-register
#   scripts/run.sh maelfix echo echo-alter            eddy's test double: workload, then its mode
#
# The flags are a scenario of the workload's grade suite
# (tests/eddy/grade/suites/<workload>.json, read through `eddy suite`), so
# scripts/run.sh and `eddy grade` run the same commands. Extra flags are appended,
# so they override the scenario's. ENGINE=eddy or ENGINE=maelstrom runs only that
# one. Exits non-zero when any run is not valid.
set -euo pipefail
cd "$(dirname "$0")/.."

# name: workload, binary, suite, scenario, arguments for the binary.
table="
echo             echo             echo             echo             1
unique-ids       unique-ids       unique-ids       unique-ids       2
broadcast        broadcast        broadcast        broadcast        3c
g-set            g-set            g-set            g-set            g-set-partition
g-counter        g-counter        g-counter        g-counter        4
pn-counter       pn-counter       pn-counter       pn-counter       pn-partition
lin-kv           lin-kv           lin-kv-raft      lin-kv           raft
lin-kv-raft      lin-kv           lin-kv-raft      lin-kv           raft
paxos-register   lin-kv           paxos-register   lin-kv           raft
txn-rw-register  txn-rw-register  txn-rw-register  txn-rw-register  6c  read-committed
txn-list-append  txn-list-append  txn-rw-register  txn-rw-register  6c  read-committed
kafka            kafka            kafka            kafka            5b
"
# maelfix's correct mode for each workload.
maelfix_modes="
echo echo
unique-ids unique-ids
broadcast broadcast
g-set g-set
g-counter g-counter
pn-counter pn-counter
lin-kv lin-kv-proxy
txn-rw-register txn-serial
txn-list-append txn-serial
"

usage() {
	echo "usage: scripts/run.sh NAME [extra flags or args for the binary...]" >&2
	echo "       scripts/run.sh maelfix WORKLOAD [MODE] [extra flags...]" >&2
	echo "names: $(echo "$table" | awk 'NF { printf "%s ", $1 } END { print "maelfix" }')" >&2
	exit 2
}
[ $# -ge 1 ] || usage
name=$1
shift

if [ "$name" = maelfix ]; then
	[ $# -ge 1 ] || usage
	fixture_workload=$1
	shift
	row=$(echo "$table" | awk -v w="$fixture_workload" '$1 == w { print; exit }')
	[ -n "$row" ] || { echo "unknown workload $fixture_workload" >&2; usage; }
	read -r _ workload _ suite scenario _ <<<"$row"
	mode=$(echo "$maelfix_modes" | awk -v w="$workload" '$1 == w { print $2 }')
	if [ $# -ge 1 ] && [ "${1#-}" = "$1" ]; then
		mode=$1
		shift
	fi
	bin=maelfix pkg=./tests/fixtures/maelfix binargs=("$mode")
else
	row=$(echo "$table" | awk -v n="$name" '$1 == n { print; exit }')
	[ -n "$row" ] || { echo "unknown name: $name" >&2; usage; }
	read -r _ workload bin suite scenario rest <<<"$row"
	read -r -a binargs <<<"${rest:-}"
	pkg=./nodes/$bin
fi

mkdir -p bin
go build -o bin/ "$pkg" ./tests/eddy/cmd/eddy

flags=()
while IFS= read -r w; do flags+=("$w"); done < <(bin/eddy suite -w "$suite" --flags "$scenario")
suite_args=()
while IFS= read -r w; do suite_args+=("$w"); done < <(bin/eddy suite -w "$suite" --args "$scenario")
[ ${#flags[@]} -gt 0 ] || { echo "no flags for scenario $scenario of the $suite suite" >&2; exit 2; }

engine=${ENGINE:-all}
maelstrom=${MAELSTROM:-$(command -v maelstrom || true)}
args=(test -w "$workload" --bin "bin/$bin" "${flags[@]}" "$@" ${suite_args[@]+"${suite_args[@]}"} ${binargs[@]+"${binargs[@]}"})
status=0

if [ "$engine" != maelstrom ]; then
	echo "== eddy ${args[*]}   (scenario $scenario of the $suite suite)"
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
