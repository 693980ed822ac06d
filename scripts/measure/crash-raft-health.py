#!/usr/bin/env python3
"""When could a Raft cluster answer, and did it? From an eddy run's folder.

Usage: crash-raft-health.py [--summary] RUN_DIR [MIN_STRETCH_S]

Replays the nemesis ops of history.jsonl (kill/start, pause/resume,
start-partition/stop-partition with the grudge eddy records: node -> the
nodes it drops) into a timeline and finds the healthy stretches: times at
which some node is up (running, not paused) and reaches, in both
directions, enough up nodes to make a majority with itself (what a Raft
leader needs; a one-way link counts as cut). Prints the stretches, then
for every kind of op (:f) its ok count over the run, and for the ops
invoked inside a healthy stretch of at least MIN_STRETCH_S (2) seconds:
how many, and how they completed (ok, fail by error code, info), with
the delay from the stretch's start to the first ok. A kind of op with no
ok at all whose ops ran inside long healthy stretches points at the
node, not the nemesis. --summary prints one line instead: the healthy
time and longest stretch, and for each kind with no ok, the ops invoked
inside long healthy stretches and how they ended.
"""
import json
import sys
from collections import Counter, defaultdict


def majority(n):
    return n // 2 + 1


def healthy(nodes, up, grudge):
    """Whether some up node reaches a majority of nodes both ways."""
    need = majority(len(nodes))
    for lead in nodes:
        if not up[lead]:
            continue
        reach = 1
        for o in nodes:
            if o != lead and up[o] and o not in grudge.get(lead, ()) and lead not in grudge.get(o, ()):
                reach += 1
        if reach >= need:
            return True
    return False


def main():
    args = sys.argv[1:]
    summary = bool(args) and args[0] == '--summary'
    if summary:
        args = args[1:]
    d = args[0]
    min_stretch = float(args[1]) if len(args) > 1 else 2.0
    nodes = json.load(open(d + '/test.json'))['nodes']
    running = {n: True for n in nodes}
    paused = {n: False for n in nodes}
    grudge = {}
    events = []  # (time s, healthy?) after every nemesis completion
    ops = []     # (invoke time, f, type, error code, completion time)
    inv = {}
    end = 0.0
    for line in open(d + '/history.jsonl'):
        o = json.loads(line)
        t = o['time'] / 1e9
        end = max(end, t)
        if o['process'] == 'nemesis':
            v = o.get('value')
            f = o['f']
            if isinstance(v, dict):
                for n, kw in v.items():
                    if kw == 'killed':
                        running[n], paused[n] = False, False
                    elif kw == 'started':
                        running[n] = True
                    elif kw == 'paused':
                        paused[n] = True
                    elif kw == 'resumed':
                        paused[n] = False
            elif f == 'start-partition' and isinstance(v, list) and len(v) == 2:
                grudge = {k: set(x) for k, x in v[1].items()}
            elif f == 'stop-partition' and v == 'network-healed':
                grudge = {}
            up = {n: running[n] and not paused[n] for n in nodes}
            events.append((t, healthy(nodes, up, grudge)))
            continue
        if o['type'] == 'invoke':
            inv[o['process']] = (t, o['f'])
            continue
        err = o.get('error')
        code = err[0] if isinstance(err, list) and err else err
        start, f = inv.pop(o['process'], (t, o['f']))
        ops.append((start, f, o['type'], code, t))
    # Healthy stretches [a, b).
    stretches, cur, state = [], 0.0, True
    for t, h in events:
        if h and not state:
            cur = t
        elif not h and state and t > cur:
            stretches.append((cur, t))
        state = h
    if state:
        stretches.append((cur, end))
    stretches = [(a, b) for a, b in stretches if b > a]
    total = sum(b - a for a, b in stretches)
    longest = max((b - a for a, b in stretches), default=0.0)
    head = (f'healthy {total:.1f} s of {end:.1f}, longest {longest:.1f} s: ' +
            ' '.join(f'[{a:.1f},{b:.1f})' for a, b in stretches))
    lines, no_ok = [], []
    long_ = [(a, b) for a, b in stretches if b - a >= min_stretch]
    oks = Counter(f for _, f, typ, _, _ in ops if typ == 'ok')
    for f in sorted({f for _, f, _, _, _ in ops}):
        inside = defaultdict(Counter)
        first_ok = []
        for a, b in long_:
            for s, g, typ, code, t in ops:
                if g == f and a <= s < b:
                    inside[(a, b)][typ if typ != 'fail' else f'fail:{code}'] += 1
            ts = [t for s, g, typ, _, t in ops if g == f and typ == 'ok' and a <= t < b]
            if ts:
                first_ok.append(f'{min(ts) - a:.1f}s')
        tally = Counter()
        for c in inside.values():
            tally.update(c)
        how = ", ".join(f"{k} {v}" for k, v in sorted(tally.items())) or "none"
        lines.append(f'  {f}: {oks[f]} ok in the run; invoked in long healthy stretches: '
                     f'{sum(tally.values())} ({how}); first ok after stretch start: {", ".join(first_ok) or "-"}')
        if oks[f] == 0:
            no_ok.append(f'no ok {f}: {sum(tally.values())} in long healthy stretches ({how})')
    if summary:
        print('; '.join([head] + no_ok))
        return
    print(head)
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
