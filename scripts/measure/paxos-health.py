#!/usr/bin/env python3
"""When a run's cluster had a healthy majority, and whether it answered then.

For an eddy run folder (its history.jsonl and test.json), replays the
nemesis's completed ops (kill/start, pause/resume, start-/stop-partition with
its grudge) into a timeline, and prints one line per window in which a
majority of the nodes was up, unpaused and connected both ways (the largest
such group), with the answers (ok, or the definite errors 20 and 22: a timeout or a
temporarily-unavailable is no answer) completed in it by clients
bound to those nodes (worker thread mod node count, the thread being the
process mod the concurrency) and the longest span in it without one. A line
ends in GAP when that span is 2 s or more and an op was invoked on those
nodes in it at least 1 s before its end (time enough to be answered). The
first line sums the run up.

    scripts/measure/paxos-health.py RUN_DIR
"""
import itertools
import json
import sys
from pathlib import Path

run = Path(sys.argv[1])
test = json.loads((run / "test.json").read_text())
hist = [json.loads(l) for l in (run / "history.jsonl").read_text().splitlines() if l.strip()]


def first(d, *keys):
    for k in keys:
        if k in d:
            return d[k]
    raise KeyError(keys)


nodes = sorted(first(test, "nodes", "node-ids") if any(k in test for k in ("nodes", "node-ids"))
               else ["n%d" % i for i in range(first(test, "node-count", "node_count"))], key=lambda s: int(s[1:]))
conc = first(test, "concurrency")
limit = first(test, "time-limit-s", "time-limit") * 1e9
N = len(nodes)
quorum = N // 2 + 1

up = {n: True for n in nodes}
paused = {n: False for n in nodes}
grudge = {}  # node -> nodes it does not hear from
events = []  # (time, state snapshot) after each change
answers = []  # (time, node): ok or definite-error completions
invokes = []  # (time, node)


def snapshot():
    return (dict(up), dict(paused), {k: set(v) for k, v in grudge.items()})


events.append((0, snapshot()))
for o in hist:
    t = o["time"]
    if o.get("process") == "nemesis":
        f, v = o["f"], o.get("value")
        if f in ("kill", "start", "pause", "resume") and isinstance(v, dict):
            for n, what in v.items():
                if what == "killed":
                    up[n] = False
                elif what == "started":
                    up[n], paused[n] = True, False
                elif what == "paused":
                    paused[n] = True
                elif what == "resumed":
                    paused[n] = False
        elif f == "start-partition" and isinstance(v, list) and len(v) == 2 and isinstance(v[1], dict):
            grudge = {k: set(x) for k, x in v[1].items()}
        elif f == "stop-partition" and v is not None:
            grudge = {}
        else:
            continue
        events.append((t, snapshot()))
        continue
    node = nodes[(o["process"] % conc) % N]
    err = o.get("error")
    err = err[0] if isinstance(err, list) and err else err
    if o["type"] == "ok" or o["type"] == "fail" and err in ("key-does-not-exist", "precondition-failed"):
        answers.append((t, node))
    elif o["type"] == "invoke":
        invokes.append((t, node))


def healthy(state):
    """The largest group of up, unpaused nodes that all hear each other."""
    u, p, g = state
    live = [n for n in nodes if u[n] and not p[n]]
    for k in range(len(live), quorum - 1, -1):
        for grp in itertools.combinations(live, k):
            if all(a not in g.get(b, ()) and b not in g.get(a, ()) for a, b in itertools.combinations(grp, 2)):
                return frozenset(grp)
    return None


# Windows: maximal spans with the same healthy majority.
wins = []
for i, (t, st) in enumerate(events):
    end = events[i + 1][0] if i + 1 < len(events) else limit
    grp = healthy(st)
    if grp is None or end <= t:
        continue
    if wins and wins[-1][2] == grp and wins[-1][1] == t:
        wins[-1][1] = end
    else:
        wins.append([t, end, grp])

lines, worst, healthy_s, bugs = [], 0.0, 0.0, 0
for a, b, grp in wins:
    ts = [t for t, n in answers if a <= t < b and n in grp]
    marks = [a] + ts + [b]
    gap, bad = 0.0, False
    for x, y in zip(marks, marks[1:]):
        gap = max(gap, (y - x) / 1e9)
        if y - x >= 2e9 and any(x <= t <= y - 1e9 and n in grp for t, n in invokes):
            bad = True
    worst = max(worst, gap)
    bugs += bad
    healthy_s += (b - a) / 1e9
    lines.append("  %6.2f-%6.2f s %-16s answered=%-5d longest_unanswered=%.2f s%s" % (
        a / 1e9, b / 1e9, ",".join(sorted(grp, key=lambda s: int(s[1:]))), len(ts), gap, "  GAP" if bad else ""))
print("healthy_majority_s=%.1f of %.0f, windows=%d, longest_unanswered_in_healthy=%.2f s, gaps=%d" % (
    healthy_s, limit / 1e9, len(wins), worst, bugs))
print("\n".join(lines))
