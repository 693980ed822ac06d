#!/usr/bin/env python3
"""Where the main phase's op rate went, per stored eddy run.

Usage: scripts/measure/kafka-sched.py RUN-DIR...   (a run folder holding
test.json and history.jsonl, e.g. STORE=DIR scripts/measure/kafka.sh's
DIR/5a-1/kafka/latest)

eddy's schedule (tests/eddy/sched.go, Jepsen's gen/stagger as its
interpreter runs it) sends op k+1 at the later of due(k+1) = sent(k) +
gap(k) and the moment a client thread is free, and never catches up. The
gaps come from the run's seed (math/rand/v2's PCG on eddy's stream 2,
uniform below 2/rate), so each op's delay past its due time splits into:

  thread  waiting for a client thread (every thread busy with an op)
  late    the rest: eddy's wake-up and dispatch, measured as the
          invocation time the history records minus max(due, thread free)

Per run it prints: the seed, ops invoked in the main phase, ideal (the ops
the seed's gaps fit in the time limit with no delay at all), ops/s and
ideal ops/s, the share of the ideal reached, and the mean thread wait and
lateness per op in microseconds. Then what kept the ok-fraction (every
completion, the final phase's included, as eddy and Maelstrom count it)
from 1: completions, the workload's client crashes (always :info), the
other non-ok completions by f, type and error, and the ok-fraction with
the crashes left out.
"""
import collections
import json
import os
import sys

M64 = (1 << 64) - 1
STREAM_THREADS = 2  # tests/eddy/run.go: streamThreads


class PCG:
    """math/rand/v2's PCG (128-bit LCG, DXSM output), as Go seeds it."""

    def __init__(self, seed1, seed2):
        self.hi, self.lo = seed1 & M64, seed2 & M64

    def uint64(self):
        mul = (2549297995355413924 << 64) | 4865540595714422341
        inc = (6364136223846793005 << 64) | 1442695040888963407
        state = (((self.hi << 64) | self.lo) * mul + inc) & ((1 << 128) - 1)
        self.hi, self.lo = state >> 64, state & M64
        hi = self.hi
        hi ^= hi >> 32
        hi = (hi * 0xDA942042E4DD58B5) & M64
        hi ^= hi >> 48
        hi = (hi * (self.lo | 1)) & M64
        return hi

    def float64(self):
        return ((self.uint64() << 11 & M64) >> 11) / (1 << 53)


def gaps(seed, rate):
    """The schedule's gaps in ns, as tests/eddy/sched.go draws them."""
    r = PCG(seed, STREAM_THREADS)
    gap_max = int(2 / rate * 1e9)
    while True:
        yield int(r.float64() * gap_max)


# The first gaps of seed 1 at rate 1000, pinned in eddy's
# TestStaggerGapsPinned (tests/eddy/sched_rate_test.go): a check that the
# port above draws what eddy draws.
PINNED = [1352911, 922772, 1017094]


def analyze(run):
    test = json.load(open(os.path.join(run, "test.json")))
    seed, rate, limit = test["seed"], test["rate"], test["time-limit-s"] * 1e9
    n = test["concurrency"]
    ops = [json.loads(l) for l in open(os.path.join(run, "history.jsonl"))]
    ops = [o for o in ops if not o.get("final?") and o.get("process") != "nemesis"]
    inv = sorted((o["time"], o["process"]) for o in ops if o["type"] == "invoke")
    # The main phase: ops invoked within the time limit of the first (the
    # final phase's opening crashes carry no final? mark).
    start = inv[0][0]
    inv = [(t, p) for t, p in inv if t < start + limit]
    done = {}  # process -> completion times, in order
    for o in ops:
        if o["type"] != "invoke":
            done.setdefault(o["process"], []).append(o["time"])
    # Each invocation's completion: the process's next completion.
    seen = {}
    spans = []
    for t, p in inv:
        i = seen.get(p, 0)
        seen[p] = i + 1
        spans.append((t, done[p][i] if i < len(done.get(p, [])) else float("inf"), p % n))
    g = gaps(seed, rate)
    free = [0.0] * n  # when each thread is free again
    thread = late = 0.0
    prev = None
    for t, end, th in spans:
        if prev is not None:
            due = prev + next(g)
            ready = max(due, min(free))
            thread += max(0.0, ready - due)
            late += t - ready
        free[th] = end
        prev = t
    # The ideal: the seed's gaps with no delay, from the first op.
    g, at, ideal = gaps(seed, rate), 0, 0
    while at < limit:
        ideal += 1
        at += next(g)
    count = len(inv)
    k = max(len(spans) - 1, 1)
    # The ok-fraction's complement, from every completion.
    comp = [json.loads(l) for l in open(os.path.join(run, "history.jsonl"))]
    comp = [o for o in comp if o["type"] != "invoke" and o.get("process") != "nemesis"]
    crashes = sum(1 for o in comp if o["f"] == "crash")
    other = collections.Counter(f'{o["f"]}:{o["type"]}:{o.get("error")}' for o in comp
                                if o["type"] != "ok" and o["f"] != "crash")
    oks = sum(1 for o in comp if o["type"] == "ok")
    ok_no_crash = oks / max(len(comp) - crashes, 1)
    return (seed, count, ideal, thread / k / 1e3, late / k / 1e3, limit,
            len(comp), crashes, other, ok_no_crash)


def main():
    g = gaps(1, 1000)
    assert [next(g) for _ in PINNED] == PINNED, "the PCG port no longer matches eddy's gaps"
    print("run\tseed\tops\tideal\tops/s\tideal/s\treached\tthread-us/op\tlate-us/op\t"
          "completions\tcrashes\tother-non-ok\tok-fraction-without-crashes")
    for run in sys.argv[1:]:
        seed, count, ideal, thread, late, limit, comp, crashes, other, okx = analyze(run)
        s = limit / 1e9
        rest = " ".join(f"{k}={v}" for k, v in sorted(other.items())) or "-"
        print(f"{run}\t{seed}\t{count}\t{ideal}\t{count / s:.0f}\t{ideal / s:.0f}\t"
              f"{count / ideal:.4f}\t{thread:.1f}\t{late:.1f}\t{comp}\t{crashes}\t{rest}\t{okx:.4f}")


if __name__ == "__main__":
    main()
