#!/usr/bin/env bash
# Measures the broadcast and g-set nodes (lib/gossip) on eddy, with
# Maelstrom's default 10 s recovery:
#   fly     the Fly.io 3a-3e commands, one run each
#   seeds   the 25-node efficiency command (3d/3e) over $SEEDS seeds:
#           min / median / max of msgs-per-op and of the median and max
#           stable latencies ($ARGS: extra flags for the node, e.g.
#           ARGS="--no-align")
#   sweep   the same command for each --batch-ms in $BATCHES ($SWEEP_SEEDS
#           seeds each): the messages / latency trade-off
#   matrix  validity over 1, 5, 25 nodes x every topology x partitions x
#           exponential latency x $SEEDS seeds, plus g-set with partitions
# Usage: scripts/measure/broadcast.sh [fly|seeds|sweep|matrix|all]...
# Each run prints: name, seed, valid?, msgs-per-op, median, max (ms), lost,
# and the longest silence of the network journal in the main phase
# ("gap", ms; meaningful for the 20 s runs without faults): a gap of
# hundreds of ms means the host stalled (CPU starvation), which inflates
# latencies regardless of the node.
set -euo pipefail
cd "${ROOT:-$(dirname "$0")/../..}"
[ -x bin/eddy ] && [ -x bin/broadcast ] && [ -x bin/g-set ] || scripts/build.sh >/dev/null
SEEDS=${SEEDS:-10}
SWEEP_SEEDS=${SWEEP_SEEDS:-3}
BATCHES=${BATCHES:-"100 200 300 400 500 600 800"}
PAR=${PAR:-2} # parallel runs in the matrix (latency figures are measured one at a time)
# NICE=-10 raises eddy's and the nodes' priority on a shared host (root only),
# so that other jobs' load does not stall the runs.
NICE=${NICE:-}
store=$(mktemp -d)
trap 'rm -rf "$store"' EXIT

EFF=(--node-count 25 --time-limit 20 --rate 100 --latency 100)

# run NAME SEED EDDY-ARGS... prints one tab-separated line of figures.
run() {
	local name=$1 seed=$2; shift 2
	local dir="$store/$name-$seed"
	${NICE:+nice -n "$NICE"} bin/eddy test --seed "$seed" --store "$dir" -q "$@" >/dev/null 2>&1 || true
	local res="$dir/latest/results.json"
	if [ ! -f "$res" ]; then
		printf '%s\t%s\tCRASHED\n' "$name" "$seed"
		return
	fi
	local gap
	gap=$(grep -o '"time":[0-9]*' "$dir/latest/net-journal.jsonl" | cut -d: -f2 | sort -n |
		awk 'NR==1{t0=$1/1e6+1000} {t=$1/1e6; if (NR>1 && p>t0 && p<t0+19000 && t-p>g) g=t-p; p=t} END{printf "%.0f", g}')
	jq -r --arg n "$name" --arg s "$seed" --arg gap "$gap" \
		'[$n, $s, (."valid?"|tostring), (.net.servers."msgs-per-op" // 0 | tostring),
		  (.workload."stable-latencies"."0.5" // "-" | tostring), (.workload."stable-latencies"."1" // "-" | tostring),
		  (.workload."lost-count" // 0 | tostring), $gap] | @tsv' "$res"
	rm -rf "$dir"
}

header() { printf '\n## %s\nname\tseed\tvalid\tmsgs-per-op\tmedian\tmax\tlost\tgap\n' "$1"; }

# summary reads run lines and prints min / median / max of columns 4-6.
summary() {
	local in n v
	in=$(cat)
	n=$(echo "$in" | wc -l)
	v=$(echo "$in" | awk -F'\t' '$3=="true"' | wc -l)
	echo "runs $n, valid $v"
	for c in 4:msgs-per-op 5:median-latency 6:max-latency; do
		echo "$in" | cut -f"${c%%:*}" | sort -g |
			awk -v name="${c#*:}" '{a[NR]=$1} END{printf "%s: min %s  median %s  max %s\n", name, a[1], a[int((NR+1)/2)], a[NR]}'
	done
}

fly() {
	header "Fly.io 3a-3e (seed 1)"
	run 3a 1 -w broadcast --bin bin/broadcast --node-count 1 --time-limit 20 --rate 10
	run 3b 1 -w broadcast --bin bin/broadcast --node-count 5 --time-limit 20 --rate 10
	run 3c 1 -w broadcast --bin bin/broadcast --node-count 5 --time-limit 20 --rate 10 --nemesis partition
	run 3d/3e 1 -w broadcast --bin bin/broadcast "${EFF[@]}"
}

seeds() {
	header "25 nodes, rate 100, latency 100, 20 s: $SEEDS seeds ${ARGS:+(node flags: $ARGS)}"
	local out
	# shellcheck disable=SC2086 # ARGS: extra node flags, split on spaces
	out=$(for s in $(seq 1 "$SEEDS"); do run eff "$s" -w broadcast --bin bin/broadcast "${EFF[@]}" ${ARGS:+-- $ARGS}; done)
	echo "$out"
	echo "$out" | summary
}

sweep() {
	for b in $BATCHES; do
		header "--batch-ms $b ($SWEEP_SEEDS seeds)"
		local out
		out=$(for s in $(seq 1 "$SWEEP_SEEDS"); do run "batch$b" "$s" -w broadcast --bin bin/broadcast "${EFF[@]}" -- --batch-ms "$b"; done)
		echo "$out"
		echo "$out" | summary
	done
}

matrix() {
	header "validity: partitions + exponential latency, $SEEDS seeds per cell"
	local jobs=()
	for n in 1 5 25; do
		for topo in grid line total tree2 tree3 tree4; do
			for s in $(seq 1 "$SEEDS"); do
				jobs+=("bc-n$n-$topo $s -w broadcast --bin bin/broadcast --node-count $n --topology $topo --time-limit 10 --rate 100 --latency 100 --latency-dist exponential --nemesis partition --nemesis-interval 2")
			done
		done
	done
	for n in 5 25; do
		for s in $(seq 1 "$SEEDS"); do
			jobs+=("gset-n$n $s -w g-set --bin bin/g-set --node-count $n --time-limit 10 --rate 100 --latency 100 --latency-dist exponential --nemesis partition --nemesis-interval 2")
		done
	done
	local out
	out=$(printf '%s\n' "${jobs[@]}" | xargs -P "$PAR" -I{} bash -c "$(declare -f run); store='$store' NICE='$NICE' run {}")
	echo "$out" | sort
	echo "$out" | awk -F'\t' '{n[$1]++; v[$1]+=($3=="true")} END{for (c in n) printf "%s: %d/%d valid\n", c, v[c], n[c]}' | sort -V
	echo "$out" | awk -F'\t' '{n++; v+=($3=="true")} END{printf "total: %d/%d valid\n", v, n}'
}

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(all)
for t in "${targets[@]}"; do
	case $t in
	fly | seeds | sweep | matrix) "$t" ;;
	all) fly; seeds; sweep; matrix ;;
	*) echo "unknown target $t" >&2; exit 254 ;;
	esac
done
