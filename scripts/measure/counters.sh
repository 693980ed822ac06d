#!/usr/bin/env bash
# Measures a counter binary on eddy over seeds 1..N.
# Needs jq. Usage: scripts/measure/counters.sh WORKLOAD N [eddy flags...]   (run from the repo root)
# Prints one line per seed: seed, exit code, valid?, servers msgs-per-op,
# ok-fraction, final reads, acceptable, and conv-ms: the time from the final
# heal to the last delivered node-to-node message that carried entries (after
# it no replica's state changes; negative: all agreed before the heal).
set -u
w=$1; n=$2; shift 2
store=${STORE:-/tmp/counters/store}
printf 'seed\texit\tvalid\tmsgs-per-op\tok-fraction\tfinal-reads\tacceptable\tconv-ms\n'
for seed in $(seq 1 "$n"); do
	dir=$store/$w-$seed-$$
	bin/eddy test -w "$w" --bin "bin/$w" --store "$dir" --seed "$seed" -q "$@" >/dev/null 2>&1
	code=$?
	d=$dir/latest
	heal=$(jq -s '[.[] | select(.f == "stop-partition") | .time] | max // 0' "$d/history.jsonl")
	last=$(jq -s '[.[] | select(.type == "recv" and (.src | startswith("c") | not)
		and (.dest | startswith("c") | not) and .body.entries != null) | .time] | max // 0' "$d/net-journal.jsonl")
	jq -r --arg seed "$seed" --arg code "$code" --argjson heal "$heal" --argjson last "$last" \
		'[$seed, $code, ."valid?", .net.servers."msgs-per-op", .availability."ok-fraction",
		  (.workload."final-reads" | tostring), (.workload.acceptable | tostring),
		  (($last - $heal) / 1e6 | floor)] | @tsv' "$d/results.json"
done
