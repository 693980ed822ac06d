#!/usr/bin/env python3
"""When could a cluster answer, and did it? From eddy run folders.

Usage: crash-raft-health.py [--summary] RUN_DIR [MIN_STRETCH_S]
       crash-raft-health.py --series RUN_DIR...

Replays the nemesis ops of history.jsonl (kill/start, pause/resume,
start-partition/stop-partition with the grudge eddy records: node -> the
nodes it drops) into a timeline and finds the healthy stretches: times at
which some node is up (running, not paused) and reaches, in both
directions, enough up nodes to make a majority with itself (what a Raft
leader or a Paxos proposer needs; a one-way link counts as cut). Prints the
stretches, then for every kind of op (:f) its ok count over the run, and
for the ops invoked inside a healthy stretch of at least MIN_STRETCH_S (2)
seconds: how many, and how they completed (ok, fail by error code, info),
with the delay from the stretch's start to the first ok. A kind of op with
no ok at all whose ops ran inside long healthy stretches points at the
node, not the nemesis. --summary prints one line instead: the healthy
time and longest stretch, and for each kind with no ok, the ops invoked
inside long healthy stretches and how they ended.

--series takes many run folders (e.g. scripts/measure/crash-raft.sh's
KEEP_ALL folders, or paxos-crash.sh's stores: DIR/latest), groups them by
binary, node count and wiped disks (from test.json), prints one line per
run with its class, then per series: safe x/n (the workload checker),
valid x/n (every checker), and valid on the runs with at least
HEALTHY_S (5) s of healthy majority in all (with --kill-wipes-disk, in
all before the first kill that wiped a majority but not every node at
once: the survivors' state cannot be relearned then without guessing,
and the consensus nodes do not guess). The classes of a run that is
not valid: (a) unsafe (the workload checker failed; "wiped a majority"
when one kill took a majority down with --kill-wipes-disk), (b) only
:stats failed (some kind of op never succeeded) with less than HEALTHY_S
s of healthy majority, (c) the same with HEALTHY_S s or more. For (c) it
says whether the kinds without an ok are cas ops answered definitely
without a match in healthy stretches (a cas on a key no write reached yet
fails with key-does-not-exist; lin-kv's cas compares with a value drawn
from 0..4, so each precondition-failed had about a 1/5 chance to match:
the chance of none is (4/5)^n), else "look": what those ops got.
"""
import glob
import json
import os
import sys
from collections import Counter, defaultdict

HEALTHY_S = 5.0
DEFINITE = {'key-does-not-exist', 'precondition-failed', 20, 22}


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


def analyze(d, min_stretch=2.0):
    """The healthy stretches of run folder d and the ops against them."""
    nodes = json.load(open(d + '/test.json'))['nodes']
    running = {n: True for n in nodes}
    paused = {n: False for n in nodes}
    grudge = {}
    events = []  # (time s, healthy?) after every nemesis completion
    ops = []     # (invoke time, f, type, error code, completion time)
    inv = {}
    end = 0.0
    most_killed, most_killed_at = 0, 0.0  # the most nodes one kill op took down, and when
    majority_killed_at = None  # the first kill op that took a majority, not all, down
    for line in open(d + '/history.jsonl'):
        o = json.loads(line)
        t = o['time'] / 1e9
        end = max(end, t)
        if o['process'] == 'nemesis':
            v = o.get('value')
            f = o['f']
            if isinstance(v, dict):
                k = sum(1 for kw in v.values() if kw == 'killed')
                if f == 'kill' and k > most_killed:
                    most_killed, most_killed_at = k, t
                if f == 'kill' and majority(len(nodes)) <= k < len(nodes) and majority_killed_at is None:
                    majority_killed_at = t
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
    lines, no_ok, kinds = [], [], {}
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
            # Over the whole run: how the ops of this kind ended.
            kinds[f] = Counter(typ if typ != 'fail' else f'fail:{code}' for _, g, typ, code, _ in ops if g == f)
            kinds[f]['in-healthy'] = sum(tally.values())
            kinds[f]['in-healthy-definite'] = sum(v for k, v in tally.items()
                                                  if k.startswith('fail:') and _code(k[5:]) in DEFINITE)
    return dict(head=head, lines=lines, no_ok=no_ok, total=total, longest=longest,
                most_killed=most_killed, most_killed_at=most_killed_at, nodes=nodes, kinds=kinds,
                stretches=stretches, majority_killed_at=majority_killed_at)


def _code(s):
    return int(s) if s.isdigit() else s


def failed_checkers(res):
    return sorted(k for k, v in res.items() if isinstance(v, dict) and v.get('valid?') is False)


def classify(d):
    """One run folder: its series, seed, verdicts, health and class."""
    test = json.load(open(d + '/test.json'))
    res = json.load(open(d + '/results.json'))
    h = analyze(d)
    n = len(h['nodes'])
    wiped = bool(test.get('kill-wipes-disk'))
    series = (f"{os.path.basename(test['bin'])} {test['workload']} {n} nodes "
              f"{'wiped' if wiped else 'kept'}")
    valid = res.get('valid?') is True
    w = res.get('workload', {})
    safe = w.get('valid?') is True
    bad = failed_checkers(res)
    anomalies = w.get('anomaly-types') or []
    # Elle finds nothing to check when no transaction succeeded: that is
    # availability, not safety.
    empty = not safe and list(anomalies) == ['empty-transaction-graph']
    why = ''
    wiped_majority = ''
    total = h['total']
    if wiped and h['majority_killed_at'] is not None:
        # A majority's disks wiped at once, the others kept, lose what
        # only they held, and the survivors' state cannot be relearned
        # without guessing: the healthy time that counts is the time
        # before. (Every disk wiped at once is a new cluster.)
        t = h['majority_killed_at']
        total = sum(min(b, t) - a for a, b in h['stretches'] if a < t)
        wiped_majority = (f"a kill wiped a majority, not all, at {t:.1f} s (healthy before: {total:.1f} s)")
    if wiped and h['most_killed'] >= majority(n):
        wiped_majority = '; '.join(x for x in [f"one kill wiped {h['most_killed']} of {n} nodes at once "
                                               f"({h['most_killed_at']:.1f} s)", wiped_majority] if x)
    if valid:
        cls = 'valid'
    elif not safe and not empty:
        cls = '(a) unsafe'
        why = '; '.join(x for x in [wiped_majority, 'anomalies: ' + (','.join(anomalies) or '?')] if x)
    else:
        cls = '(b)' if total < HEALTHY_S else '(c)'
        others = [c for c in bad if c not in ('stats', 'workload')]
        notes = [f'failed: {",".join(bad)}'] if others else []
        if wiped_majority:
            notes.append(wiped_majority)
        if empty:
            notes.append('no transaction succeeded (empty-transaction-graph)')
        for f, k in sorted(h['kinds'].items()):
            pf = k.get('fail:precondition-failed', 0) + k.get('fail:22', 0)
            if f == 'cas' and k['in-healthy-definite']:
                rest = k['in-healthy'] - k['in-healthy-definite']
                notes.append(f"cas: {k['in-healthy']} in healthy stretches, "
                             f"{'all' if not rest else k['in-healthy-definite']} answered definitely without a match"
                             f"{f' ({rest} unavailable or timed out)' if rest else ''}; in the run "
                             f"{k.get('fail:key-does-not-exist', 0) + k.get('fail:20', 0)} key-does-not-exist, "
                             f"{pf} precondition-failed: chance of no match {0.8 ** pf:.2f}")
            else:
                got = ', '.join(f'{x} {v}' for x, v in sorted(k.items()) if not x.startswith('in-healthy'))
                notes.append(f"{'look: ' if cls == '(c)' else ''}no ok {f} ({got}; "
                             f"{k['in-healthy']} invoked in healthy stretches of 2 s+, "
                             f"{k['in-healthy-definite']} answered definitely)")
        why = '; '.join(notes)
    return dict(series=series, seed=test.get('seed'), valid=valid, safe=safe, total=total,
                longest=h['longest'], cls=cls, why=why)


def series(dirs):
    runs = []
    for d in dirs:
        d = d.rstrip('/')
        if not os.path.exists(d + '/results.json') and os.path.isdir(d + '/latest'):
            d += '/latest'
        try:
            runs.append(classify(d))
        except (OSError, ValueError, KeyError) as e:
            print(f'{d}: no result ({e})')
    runs.sort(key=lambda r: (r['series'], r['seed'] or 0))
    print('series\tseed\tvalid\tsafe\thealthy s\tlongest s\tclass\twhy')
    for r in runs:
        print(f"{r['series']}\t{r['seed']}\t{r['valid']}\t{r['safe']}\t{r['total']:.1f}\t"
              f"{r['longest']:.1f}\t{r['cls']}\t{r['why']}")
    by = defaultdict(list)
    for r in runs:
        by[r['series']].append(r)
    for s, rs in sorted(by.items()):
        ok = [r for r in rs if r['total'] >= HEALTHY_S]
        cls = Counter(r['cls'] for r in rs if not r['valid'])
        print(f"{s}: safe {sum(r['safe'] for r in rs)}/{len(rs)}, valid {sum(r['valid'] for r in rs)}/{len(rs)}, "
              f"valid on runs with >= {HEALTHY_S:g} s healthy majority {sum(r['valid'] for r in ok)}/{len(ok)}"
              + (' (not valid: ' + ', '.join(f'{k} {v}' for k, v in sorted(cls.items())) + ')' if cls else ''))


def main():
    args = sys.argv[1:]
    if args and args[0] == '--series':
        series([d for a in args[1:] for d in (glob.glob(a) or [a])])
        return
    summary = bool(args) and args[0] == '--summary'
    if summary:
        args = args[1:]
    h = analyze(args[0], float(args[1]) if len(args) > 1 else 2.0)
    if summary:
        print('; '.join([h['head']] + h['no_ok']))
        return
    print(h['head'])
    print('\n'.join(h['lines']))


if __name__ == '__main__':
    main()
