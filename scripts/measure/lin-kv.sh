#!/usr/bin/env bash
# Runs the lin-kv workload on a node binary once per seed and prints one
# summary line per run: verdict, ok-fraction, counts, write p50, and the time
# from each partition start / heal to the first ok write after it.
#
#   scripts/measure/lin-kv.sh BIN LABEL SEEDS... -- EXTRA EDDY FLAGS
#   e.g. scripts/measure/lin-kv.sh lin-kv-raft A 1 2 3 -- --node-count 3 --concurrency 4n \
#            --rate 30 --time-limit 60 --nemesis partition --nemesis-interval 10
#
# Pipe the output to a file and summarise it with scripts/measure/lin-kv-summary.py FILE.
set -u
cd "$(dirname "$0")/../.."
bin=$1 label=$2; shift 2
seeds=()
while [ "$1" != "--" ]; do seeds+=("$1"); shift; done
shift
for seed in "${seeds[@]}"; do
	store=$(mktemp -d "/tmp/linkv-$label-$seed.XXXXXX")
	bin/eddy test -q -w lin-kv --bin "bin/$bin" --seed "$seed" --store "$store" "$@" >/dev/null 2>&1
	rc=$?
	echo "$label seed=$seed rc=$rc $(python3 scripts/measure/lin-kv-analyze.py "$store/latest")"
done
