#!/usr/bin/env bash
# One eddy lin-kv run of a durable binary, no faults, and its cost of
# durability (disk-cost.py): the nodes log their disk counters every 10 ms
# (-stats-every), and a wrapper polls each node's data directory with du
# every second. Shared by crash-raft.sh (cost, disk) and paxos-cost.sh.
#
#   scripts/measure/disk-cost.sh NAME BIN log|all EDDY-ARGS... [-- NODE-ARGS...]
#
# log|all is disk-cost.py's --ops (log: writes and cas, for Raft; all:
# every answered op, for Paxos, whose reads write too). EDDY-ARGS must
# give --node-count, --concurrency, --rate, --time-limit and --seed.
# Prints disk-cost.py's line with the largest data directory seen (KiB)
# appended; HEADER=1 prints the column names first.
#   STRACE=1  also run the nodes under strace (fsync, fdatasync and openat,
#             through seccomp) and print strace's count beside the
#             counters' (it slows the nodes: for checking the counters)
#   QUIET=1   run eddy under `flock /tmp/quiet.lock chrt -r 1` (one timing
#             measurement on the machine at a time, real-time priority);
#             or run a whole sweep under it (crash-raft.sh cost)
#   KEEP=DIR  keep the run folder there
set -euo pipefail
cd "$(dirname "$0")/../.."
name=$1 bin=$(realpath "$2") ops=$3
shift 3
eddyargs=() nodeargs=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do eddyargs+=("$1"); shift; done
[ $# -gt 0 ] && shift
nodeargs=("$@" -stats-every 10ms)
work=$(mktemp -d)
chmod 755 "$work" # the nodes (another uid in their sandbox) reach the wrapper
trap 'rm -rf "$work"' EXIT
st="$work/st"
mkdir -p "$st" && chmod 777 "$st"
run="$bin"
if [ -n "${STRACE:-}" ]; then
	run="strace -f -ttt --seccomp-bpf -qq -s 200 -e trace=fsync,fdatasync,openat -o \"$st/st.\$\$.\$(date +%s%N)\" $bin"
fi
cat >"$st/node.sh" <<WRAP
#!/bin/sh
( while sleep 1; do du -sk . | cut -f1; done >"$st/du.\$\$.\$(date +%s%N)" ) &
exec $run "\$@"
WRAP
chmod +x "$st/node.sh"
lock=()
[ -n "${QUIET:-}" ] && lock=(flock /tmp/quiet.lock chrt -r 1)
"${lock[@]}" bin/eddy test -q -w lin-kv --bin "$st/node.sh" --recovery 0 --store "$work/run" \
	"${eddyargs[@]}" -- "${nodeargs[@]}" >"$work/eddy.out" 2>&1 || true
if [ ! -f "$work/run/latest/results.json" ]; then
	printf '%s\tCRASHED\n' "$name"
	tail -5 "$work/eddy.out" | sed "s/^/$name: /" >&2
	exit 0
fi
[ -n "${KEEP:-}" ] && mkdir -p "$KEEP" && cp -r "$work/run/latest/." "$KEEP/$name"
args=(--ops "$ops")
[ -n "${STRACE:-}" ] && args+=(--strace "$st")
[ -n "${HEADER:-}" ] && args+=(--header)
du=$(cat "$st"/du.* 2>/dev/null | sort -n | tail -1 || true)
python3 scripts/measure/disk-cost.py "${args[@]}" "$name" "$work/run/latest" |
	awk -v du="${du:-0}" 'NR==1 && ENVIRON["HEADER"] != "" {print $0 "\tmax-dir-KiB"; next} {print $0 "\t" du}'
