#!/usr/bin/env bash
# Measures eddy's own per-op cost with a do-nothing node: echo at --rate R
# (default 1000 and 5000) on one node with --concurrency 2n, over seeds
# 1..$SEEDS (default 3), $TIME seconds each (default 10). For each run it
# prints the ops/s issued in the main phase and their fraction of the rate,
# the mean gap between invocations (the schedule's 1/rate when eddy keeps
# up), op latency p50/p99 (invoke to completion, µs), and the op's round
# trip split into stages from the history and the network journal (µs,
# medians): inv>send (invoke recorded to the request's send: encoding),
# send>recv (the request reaches the node's stdin writer), recv>reply (stdin
# write, the node, stdout read and parse, to the reply's send), reply>recv
# (the reply reaches the client), recv>done (to the completion recorded).
# Usage: scripts/measure/overhead.sh [RATE...]   (EDDY=path, BIN=path)
set -euo pipefail
cd "${ROOT:-$(dirname "$0")/../..}"
EDDY=${EDDY:-bin/eddy}
BIN=${BIN:-bin/echo}
[ -x "$EDDY" ] && [ -x "$BIN" ] || scripts/build.sh >/dev/null
SEEDS=${SEEDS:-3}
TIME=${TIME:-10}
store=$(mktemp -d)
trap 'rm -rf "$store"' EXIT

echo -e "rate\tseed\tops/s\tfraction\tgap-us\tp50-us\tp99-us\tinv>send\tsend>recv\trecv>reply\treply>recv\trecv>done"
for rate in "${@:-1000 5000}"; do
	for seed in $(seq 1 "$SEEDS"); do
		dir="$store/$rate-$seed"
		"$EDDY" test -w echo --bin "$BIN" --node-count 1 --concurrency 2n --time-limit "$TIME" \
			--rate "$rate" --seed "$seed" --store "$dir" -q >/dev/null 2>&1 || true
		run=$(ls -d "$dir"/echo/*/ 2>/dev/null | grep -v latest | tail -1)
		python3 - "$rate" "$seed" "$run" "$TIME" <<'PY'
import json, statistics, sys
rate, seed, run, limit = float(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
try:
    hist = [json.loads(l) for l in open(run + "history.jsonl")]
    jour = [json.loads(l) for l in open(run + "net-journal.jsonl")]
    nodes = json.load(open(run + "test.json"))["nodes"]
except Exception:
    print(f"{rate:.0f}\t{seed}\tno-result"); sys.exit()
def q(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))] if xs else float("nan")
invokes = [o for o in hist if o["type"] == "invoke"]
first = invokes[0]["time"] if invokes else 0
main = [o for o in invokes if o["time"] < first + limit * 1e9]
gaps = [b["time"] - a["time"] for a, b in zip(main, main[1:])]
# Each thread's ops, in order, pair with its client's requests and replies:
# thread t talks through client c(2N+t) (c0.. init, then one setup client
# per node), as long as no op ends :info (a do-nothing node has none).
conc = 2 * len(nodes)
ops = {}
pending = {}
for o in hist:
    if o["type"] == "invoke":
        pending[o["process"]] = o["time"]
    else:
        ops.setdefault(o["process"] % conc, []).append((pending.pop(o["process"]), o["time"]))
lat = [c - i for t in ops.values() for (i, c) in t]
req, rep = {}, {}
for e in jour:
    b = e["body"]
    if e["src"].startswith("c") and "msg_id" in b:
        req.setdefault((e["src"], b["msg_id"]), {})[e["type"]] = e["time"]
    elif e["dest"].startswith("c") and "in_reply_to" in b:
        rep.setdefault((e["dest"], b["in_reply_to"]), {})[e["type"]] = e["time"]
st = [[], [], [], [], []]
for t, lst in ops.items():
    c = f"c{2 * len(nodes) + t}"
    for k, (i, d) in enumerate(lst, start=1):
        a, b = req.get((c, k), {}), rep.get((c, k), {})
        if {"send", "recv"} <= a.keys() and {"send", "recv"} <= b.keys():
            for s, v in zip(st, (a["send"] - i, a["recv"] - a["send"], b["send"] - a["recv"], b["recv"] - b["send"], d - b["recv"])):
                s.append(v)
us = lambda v: f"{v / 1e3:.0f}"
print(f"{rate:.0f}\t{seed}\t{len(main) / limit:.0f}\t{len(main) / limit / rate:.3f}\t"
      f"{us(statistics.mean(gaps)) if gaps else '-'}\t{us(q(lat, .5))}\t{us(q(lat, .99))}\t"
      + "\t".join(us(statistics.median(s)) if s else "-" for s in st))
PY
	done
done
