#!/usr/bin/env bash
# Measures txn-rw-register's read-committed mode under kills: Fly.io's 6c
# command (--availability total, read committed, rate 1000) on 3 nodes with
# --nemesis partition,kill,pause, for seeds 1..SEEDS, with the disks kept
# and with --kill-wipes-disk. One TSV line per run:
#   disks seed valid valid-but-availability workload-valid ok-fraction ok-count kills anomaly-types
# "valid" is every checker; "valid-but-availability" every checker but
# availability (a transaction sent to a killed or paused node times out,
# which --availability total counts against the run); "workload-valid" is
# Elle's read-committed check alone; kills counts the nodes killed, over
# every kill op of the nemesis.
# Usage: scripts/measure/txn-crash.sh [SEEDS] [TIME_LIMIT_S] (SEEDS: a
# count, seeds 1..SEEDS, or a list such as "3 4"); PAR=n runs n
# at once (default 2); W=txn-list-append runs that workload instead;
# DISKS="wiped" runs one series only; AVAIL= (empty) runs without
# --availability total (AVAIL=total by default, Fly.io's). Needs bin/eddy
# and bin/txn-rw-register (scripts/build.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
seeds=${1:-10}
limit=${2:-20}
par=${PAR:-2}
workload=${W:-txn-rw-register}
disks_list=${DISKS:-kept wiped}
avail=()
[ -n "${AVAIL-total}" ] && avail=(--availability "${AVAIL-total}")
store=$(mktemp -d /tmp/txn-crash.XXXXXX)
trap 'rm -rf "$store"' EXIT

one() { # disks seed
	local dir=$store/$1-$2 wipe=()
	[ "$1" = wiped ] && wipe=(--kill-wipes-disk)
	bin/eddy test -w "$workload" --bin bin/txn-rw-register --node-count 3 --concurrency 2n \
		--time-limit "$limit" --rate 1000 --consistency-models read-committed "${avail[@]}" \
		--nemesis partition,kill,pause "${wipe[@]}" --store "$dir" --seed "$2" -q read-committed >/dev/null 2>&1 || true
	python3 - "$1" "$2" "$dir/latest" <<'PY'
import json, sys
disks, seed, d = sys.argv[1:]
r = json.load(open(d + "/results.json"))
kills = 0  # nodes killed, over every kill op
for line in open(d + "/history.jsonl"):
    op = json.loads(line)
    if op.get("f") == "kill" and isinstance(op.get("value"), dict):
        kills += sum(1 for v in op["value"].values() if v == "killed")
w = r.get("workload", {})
others = all(v.get("valid?") is not False for k, v in r.items() if isinstance(v, dict) and k != "availability")
print("\t".join(str(x) for x in [disks, seed, r.get("valid?"), others, w.get("valid?"),
    r.get("availability", {}).get("ok-fraction"), r.get("stats", {}).get("ok-count"), kills,
    ",".join(w.get("anomaly-types", [])) or "-"]))
PY
}

printf 'disks\tseed\tvalid\tvalid-but-availability\tworkload-valid\tok-fraction\tok-count\tkills\tanomaly-types\n'
for disks in $disks_list; do
	for seed in $(case $seeds in *[!0-9]*) echo "$seeds" ;; *) seq 1 "$seeds" ;; esac); do
		one "$disks" "$seed" &
		while [ "$(jobs -rp | wc -l)" -ge "$par" ]; do wait -n; done
	done
done
wait
