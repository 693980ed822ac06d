#!/usr/bin/env bash
# Runs paxos-register on lin-kv for SECONDS at a high rate and prints the
# largest node data directory seen (eddy's per-node working directories,
# polled every second) and the nodes' last disk stats lines.
#
#   scripts/measure/paxos-disk.sh SECONDS [EDDY FLAGS...]
set -u
cd "$(dirname "$0")/../.."
secs=$1; shift
store=$(mktemp -d /tmp/paxos-disk.XXXXXX)
before=$(ls -d /tmp/eddy-nodes-* 2>/dev/null)
bin/eddy test -q -w lin-kv --bin bin/paxos-register --node-count 3 --concurrency 12 --rate 1000 \
	--time-limit "$secs" --seed 1 --store "$store" "$@" -- -stats-every 1s >/dev/null 2>&1 &
pid=$!
max=0
while kill -0 "$pid" 2>/dev/null; do
	for d in $(ls -d /tmp/eddy-nodes-* 2>/dev/null); do
		case "$before" in *"$d"*) continue ;; esac
		for n in "$d"/*/; do
			[ -d "$n" ] || continue
			s=$(du -sb "$n" 2>/dev/null | cut -f1)
			[ -n "$s" ] && [ "$s" -gt "$max" ] && max=$s
		done
	done
	sleep 1
done
wait "$pid"
echo "largest node directory: $max bytes"
python3 scripts/measure/paxos-crash-analyze.py "$store/latest"
