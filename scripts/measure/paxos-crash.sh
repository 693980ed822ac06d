#!/usr/bin/env bash
# Runs paxos-register on lin-kv once per seed and prints one line per run:
# the verdict, which checkers failed, ok counts, write p50/p99 (ms), the
# first client answer after each start (ms, from the nodes' logs), and the
# disk's work from the nodes' last -stats-every lines (syncs and bytes per
# answered op).
#
#   scripts/measure/paxos-crash.sh LABEL SEEDS... -- EDDY FLAGS [-- NODE FLAGS]
#   e.g. scripts/measure/paxos-crash.sh n3 1 2 3 -- --node-count 3 --concurrency 6 \
#            --time-limit 20 --nemesis partition,kill,pause --nemesis-interval 3
set -u
cd "$(dirname "$0")/../.."
label=$1; shift
seeds=()
while [ "$1" != "--" ]; do seeds+=("$1"); shift; done
shift
# With --kill-wipes-disk the nodes are told to expect wiped disks (-amnesia).
nodeflags=(-stats-every 1s)
case " $* " in *" --kill-wipes-disk "*) nodeflags+=(-amnesia) ;; esac
for seed in "${seeds[@]}"; do
	store=$(mktemp -d "/tmp/paxos-crash-$label-$seed.XXXXXX")
	MAELKIT_LOG=info bin/eddy test -q -w lin-kv --bin bin/paxos-register --seed "$seed" --store "$store" "$@" \
		-- "${nodeflags[@]}" >/dev/null 2>&1
	rc=$?
	echo "$label seed=$seed rc=$rc $(python3 scripts/measure/paxos-crash-analyze.py "$store/latest")"
done
