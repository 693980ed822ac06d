#!/usr/bin/env bash
# Measures the kafka node (lib/kafkalog) on eddy with Fly.io's commands:
#   5a        --node-count 1 --concurrency 2n --time-limit 20 --rate 1000
#   5b        the same with --node-count 2 (5c runs the same command)
#   part3     5b's command at 3 nodes with --nemesis partition
#   part5     the same at 5 nodes
# over seeds 1..$SEEDS, and, for comparison, the kafkafix test node
# (an in-memory single node, no replication) on 5a's command ("ceiling":
# the op rate eddy itself reaches on this host).
# Usage: scripts/measure/kafka.sh [5a|5b|part3|part5|ceiling|all]...
# ($ARGS: extra flags for the kafka node, e.g. ARGS="--flush=10ms")
# Each run prints: name, seed, valid?, servers msgs-per-op, ok-fraction,
# client ops/s issued in the main phase, send p99 (ms); each name ends with
# a summary line (valid count, median of each figure).
set -euo pipefail
cd "${ROOT:-$(dirname "$0")/../..}"
[ -x bin/eddy ] && [ -x bin/kafka ] && [ -x bin/kafkafix ] || scripts/build.sh >/dev/null
SEEDS=${SEEDS:-10}
TIME=${TIME:-20}
store=$(mktemp -d)
trap 'rm -rf "$store"' EXIT

FLY=(-w kafka --concurrency 2n --time-limit "$TIME" --rate 1000)

# run NAME SEED BIN EDDY-ARGS... prints one tab-separated line of figures.
run() {
	local name=$1 seed=$2 bin=$3; shift 3
	local dir="$store/$name-$seed"
	bin/eddy test --seed "$seed" --store "$dir" -q --bin "$bin" "$@" >/dev/null 2>&1 || true
	local run
	run=$(ls -d "$dir"/kafka/*/ 2>/dev/null | tail -1)
	python3 - "$name" "$seed" "$run" "$TIME" <<'PY'
import json, sys
name, seed, run, limit = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
try:
    r = json.load(open(run + "results.json"))
except Exception:
    print(f"{name}\t{seed}\tno-result"); sys.exit()
ops = 0
for line in open(run + "history.jsonl"):
    o = json.loads(line)
    if o["type"] == "invoke" and o["time"] < limit * 1e9:
        ops += 1
send = r["perf"]["latency-quantiles"].get("send", {})
print(f'{name}\t{seed}\t{r["valid?"]}\t{r["net"]["servers"]["msgs-per-op"]:.3f}\t'
      f'{r["availability"]["ok-fraction"]:.4f}\t{ops/limit:.0f}\t{send.get("0.99", "-")}')
PY
}

# series NAME BIN EDDY-ARGS... runs every seed, then a summary line.
series() {
	local name=$1 bin=$2; shift 2
	local out="$store/$name.tsv"
	for seed in $(seq 1 "$SEEDS"); do
		run "$name" "$seed" "$bin" "$@" | tee -a "$out"
	done
	python3 - "$name" "$out" <<'PY'
import statistics, sys
name, path = sys.argv[1], sys.argv[2]
rows = [l.split("\t") for l in open(path).read().splitlines()]
ok = [r for r in rows if len(r) == 7]
valid = sum(r[2] == "True" for r in ok)
def med(i):
    xs = [float(r[i]) for r in ok if r[i] != "-"]
    return statistics.median(xs) if xs else float("nan")
print(f"{name}\tsummary\tvalid {valid}/{len(rows)}\tmsgs-per-op {med(3):.3f}\tok-fraction {med(4):.4f}\t"
      f"ops/s {med(5):.0f}\tsend-p99 {med(6):.0f} ms")
PY
}

echo -e "name\tseed\tvalid\tmsgs-per-op\tok-fraction\tops/s\tsend-p99-ms"
for what in "${@:-all}"; do
	case $what in
	# shellcheck disable=SC2086 # ARGS: extra node flags, split on spaces
	5a | all) series 5a bin/kafka "${FLY[@]}" --node-count 1 ${ARGS:+-- $ARGS} ;;&
	# shellcheck disable=SC2086
	5b | all) series 5b bin/kafka "${FLY[@]}" --node-count 2 ${ARGS:+-- $ARGS} ;;&
	# shellcheck disable=SC2086
	part3 | all) series part3 bin/kafka "${FLY[@]}" --node-count 3 --nemesis partition ${ARGS:+-- $ARGS} ;;&
	# shellcheck disable=SC2086
	part5 | all) series part5 bin/kafka "${FLY[@]}" --node-count 5 --nemesis partition ${ARGS:+-- $ARGS} ;;&
	ceiling | all) series ceiling bin/kafkafix "${FLY[@]}" --node-count 1 -- correct ;;
	5a | 5b | part3 | part5) ;;
	*) echo "unknown: $what" >&2; exit 2 ;;
	esac
done
