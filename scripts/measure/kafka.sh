#!/usr/bin/env bash
# Measures the kafka node (lib/kafkalog) on eddy with Fly.io's commands:
#   5a        --node-count 1 --concurrency 2n --time-limit 20 --rate 1000
#   5b        the same with --node-count 2 (5c runs the same command)
#   part3     5b's command at 3 nodes with --nemesis partition
#   part5     the same at 5 nodes
#   kill      3 nodes under --nemesis partition,kill,pause --nemesis-interval 3
#             (the crash-recovery command of scripts/measure/crash-raft.sh,
#             on 5b's workload): disks kept across a kill
#   wipe      the same with --kill-wipes-disk (a killed node restarts empty)
# over seeds 1..$SEEDS (or the list $SEEDS, e.g. SEEDS="3 4"), and, for
# comparison, the kafkafix test node (an in-memory single node, no
# replication) on 5a's command ("ceiling": the op rate eddy itself reaches
# on this host).
# kill and wipe print per run: name, seed, valid? (every checker), the
# kafka checker's valid? alone (safety), its bad error types, ok-fraction,
# and the most nodes a single kill took down (a wipe of a majority at once
# loses what only they held, whatever the protocol); then a summary.
# Usage: scripts/measure/kafka.sh [5a|5b|part3|part5|kill|wipe|ceiling|all]...
# ($ARGS: extra flags for the kafka node, e.g. ARGS="--flush=10ms";
# $STORE: keep the runs there, for scripts/measure/kafka-net.py, instead of
# a temporary directory; $KAFKA: the kafka binary, bin/kafka by default,
# for an A/B of two builds)
# Each run prints: name, seed, valid?, servers msgs-per-op, ok-fraction,
# client ops/s issued in the main phase, send p99 (ms), and under
# partitions the majority side's ok-fraction (ops invoked during a
# partition on nodes that talk both ways with a majority, crashes aside)
# and how many such ops; each name ends with a summary line (valid count,
# median of each figure). CEILING_SEEDS (default 3) seeds for "ceiling";
# FIRST (default 1) the first seed of every series, so that one seed of two
# series can run interleaved: FIRST=4 SEEDS=4 CEILING_SEEDS=4 ... ceiling 5a.
set -euo pipefail
cd "${ROOT:-$(dirname "$0")/../..}"
[ -x bin/eddy ] && [ -x bin/kafka ] && [ -x bin/kafkafix ] || scripts/build.sh >/dev/null
SEEDS=${SEEDS:-10}
KAFKA=${KAFKA:-bin/kafka}
FIRST=${FIRST:-1}
TIME=${TIME:-20}
if [ -n "${STORE:-}" ]; then
	store=$STORE
	mkdir -p "$store"
else
	store=$(mktemp -d)
	trap 'rm -rf "$store"' EXIT
fi

FLY=(-w kafka --concurrency 2n --time-limit "$TIME" --rate 1000)

# run NAME SEED BIN EDDY-ARGS... prints one tab-separated line of figures.
run() {
	local name=$1 seed=$2 bin=$3; shift 3
	local dir="$store/$name-$seed"
	# A run that has not ended after three times its time limit plus a
	# minute is stuck: killing eddy takes its nodes with it (Pdeathsig),
	# which matters when they run at real-time priority.
	timeout -s KILL $((3 * TIME + 60)) bin/eddy test --seed "$seed" --store "$dir" -q --bin "$bin" "$@" >/dev/null 2>&1 || true
	local run
	run=$(ls -d "$dir"/kafka/*/ 2>/dev/null | tail -1)
	python3 - "$name" "$seed" "$run" "$TIME" <<'PY'
import json, sys
name, seed, run, limit = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
try:
    r = json.load(open(run + "results.json"))
    test = json.load(open(run + "test.json"))
except Exception:
    print(f"{name}\t{seed}\tno-result"); sys.exit()
nodes = test["nodes"]
n, quorum = len(nodes), len(nodes) // 2 + 1
ops, inv, done, parts, cur = 0, {}, [], [], None
hist = [json.loads(l) for l in open(run + "history.jsonl")]
for o in hist:
    p = o.get("process")
    if p == "nemesis":
        if o["type"] != "info" or o.get("value") is None:
            continue
        if o["f"] == "start-partition" and isinstance(o["value"], list):
            cur = (o["time"], o["value"][1])
        elif o["f"] == "stop-partition" and cur:
            parts.append((cur[0], o["time"], cur[1]))
            cur = None
        continue
    if o["type"] == "invoke":
        inv[p] = o["time"]
        if o["time"] < limit * 1e9:
            ops += 1
        continue
    if o["f"] != "crash":
        done.append((inv.get(p, o["time"]), nodes[p % n], o["type"] == "ok"))
if cur:
    parts.append((cur[0], hist[-1]["time"], cur[1]))

# The majority side: clients of nodes that talk both ways with a majority
# (themselves included) during a partition; their ops invoked then.
def majority(grudge):
    return {a for a in nodes
            if sum(1 for b in nodes if b == a or (b not in grudge.get(a, []) and a not in grudge.get(b, []))) >= quorum}
side = [ok for (s, e, g) in parts for (t, nd, ok) in done if s <= t < e and nd in majority(g)]
maj = f"{sum(side) / len(side):.4f}" if side else "-"
send = r["perf"]["latency-quantiles"].get("send", {})
print(f'{name}\t{seed}\t{r["valid?"]}\t{r["net"]["servers"]["msgs-per-op"]:.3f}\t'
      f'{r["availability"]["ok-fraction"]:.4f}\t{ops/limit:.0f}\t{send.get("0.99", "-")}\t{maj}\t{len(side)}')
PY
}

# series NAME BIN EDDY-ARGS... runs every seed, then a summary line.
# seeds lists the seeds: $SEEDS itself when it is a list ("3 4"), else
# $FIRST..$SEEDS.
seeds() {
	case $SEEDS in
	*[!0-9]*) echo "$SEEDS" ;;
	*) seq "$FIRST" "$SEEDS" ;;
	esac
}

series() {
	local name=$1 bin=$2; shift 2
	local out="$store/$name.tsv"
	for seed in $(seeds); do
		run "$name" "$seed" "$bin" "$@" | tee -a "$out"
	done
	python3 - "$name" "$out" <<'PY'
import statistics, sys
name, path = sys.argv[1], sys.argv[2]
rows = [l.split("\t") for l in open(path).read().splitlines()]
ok = [r for r in rows if len(r) == 9]
valid = sum(r[2] == "True" for r in ok)
def med(i):
    xs = [float(r[i]) for r in ok if r[i] != "-" and (i != 7 or r[8] != "0")]
    return statistics.median(xs) if xs else float("nan")
print(f"{name}\tsummary\tvalid {valid}/{len(rows)}\tmsgs-per-op {med(3):.3f}\tok-fraction {med(4):.4f}\t"
      f"ops/s {med(5):.0f}\tsend-p99 {med(6):.0f} ms\tmajority-side ok {med(7):.4f}")
PY
}

# crash NAME EDDY-ARGS... runs every seed under kills, then a summary.
crash() {
	local name=$1; shift
	local out="$store/$name.tsv"
	echo -e "name\tseed\tvalid\tsafe\tbad-error-types\tok-fraction\tmost-killed-at-once"
	for seed in $(seeds); do
		local dir="$store/$name-$seed"
		timeout -s KILL $((3 * TIME + 60)) bin/eddy test --seed "$seed" --store "$dir" -q --bin "$KAFKA" "${FLY[@]}" --node-count 3 \
			--nemesis partition,kill,pause --nemesis-interval 3 "$@" >/dev/null 2>&1 || true
		python3 - "$name" "$seed" "$(ls -d "$dir"/kafka/*/ 2>/dev/null | tail -1)" <<'PY' | tee -a "$out"
import json, sys
name, seed, run = sys.argv[1:4]
try:
    r = json.load(open(run + "results.json"))
except Exception:
    print(f"{name}\t{seed}\tno-result"); sys.exit()
most = 0
for l in open(run + "history.jsonl"):
    o = json.loads(l)
    if o.get("process") == "nemesis" and o["f"] == "kill" and isinstance(o.get("value"), dict):
        most = max(most, sum(1 for v in o["value"].values() if v == "killed"))
w = r["workload"]
print(f'{name}\t{seed}\t{r["valid?"]}\t{w["valid?"]}\t{",".join(w.get("bad-error-types", [])) or "-"}\t'
      f'{r["availability"]["ok-fraction"]:.4f}\t{most}')
PY
	done
	python3 - "$name" "$out" <<'PY'
import statistics, sys
name, path = sys.argv[1], sys.argv[2]
rows = [l.split("\t") for l in open(path).read().splitlines()]
ok = [r for r in rows if len(r) == 7]
valid = sum(r[2] == "True" for r in ok)
safe = sum(r[3] == "True" for r in ok)
minority = [r for r in ok if int(r[6]) < 2]
print(f"{name}\tsummary\tvalid {valid}/{len(rows)}\tsafe {safe}/{len(rows)}\t"
      f"safe where no kill took a majority {sum(r[3] == 'True' for r in minority)}/{len(minority)}\t"
      f"ok-fraction {statistics.median(float(r[5]) for r in ok) if ok else float('nan'):.4f}")
PY
}

case " $* " in
*" kill "* | *" wipe "*) ;;
*) echo -e "name\tseed\tvalid\tmsgs-per-op\tok-fraction\tops/s\tsend-p99-ms\tmajority-ok\tmajority-ops" ;;
esac
for what in "${@:-all}"; do
	case $what in
	# shellcheck disable=SC2086 # ARGS: extra node flags, split on spaces
	5a | all) series 5a "$KAFKA" "${FLY[@]}" --node-count 1 ${ARGS:+-- $ARGS} ;;&
	# shellcheck disable=SC2086
	5b | all) series 5b "$KAFKA" "${FLY[@]}" --node-count 2 ${ARGS:+-- $ARGS} ;;&
	# shellcheck disable=SC2086
	part3 | all) series part3 "$KAFKA" "${FLY[@]}" --node-count 3 --nemesis partition ${ARGS:+-- $ARGS} ;;&
	# shellcheck disable=SC2086
	part5 | all) series part5 "$KAFKA" "${FLY[@]}" --node-count 5 --nemesis partition ${ARGS:+-- $ARGS} ;;&
	kill) crash kill ;;
	wipe) crash wipe --kill-wipes-disk -- -amnesia ;;
	ceiling | all) SEEDS=${CEILING_SEEDS:-3} series ceiling bin/kafkafix "${FLY[@]}" --node-count 1 -- correct ;;
	5a | 5b | part3 | part5 | kill | wipe) ;;
	*) echo "unknown: $what" >&2; exit 2 ;;
	esac
done
