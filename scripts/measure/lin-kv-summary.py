#!/usr/bin/env python3
"""Aggregates scripts/measure/lin-kv.sh output files: valid count, ok-fraction, write p50,
recovery gaps, the majority side's served fraction and longest gap, and (Raft) the time
from the leader's loss to a new leader."""
import json, sys, statistics
for path in sys.argv[1:]:
    rows = []
    for l in open(path):
        label, seed, rc, js = l.split(' ', 3)
        rows.append((label, seed, rc, json.loads(js)))
    if not rows: continue
    oks = [r[3]['ok_fraction'] for r in rows]
    valid = sum(1 for r in rows if r[3]['valid'] is True)
    starts = [g for r in rows for (f, g) in r[3]['first_write_after_nemesis_ms'] if f == 'start-partition']
    stops = [g for r in rows for (f, g) in r[3]['first_write_after_nemesis_ms'] if f == 'stop-partition']
    p50 = [r[3]['write_p50_ms'] for r in rows]
    def q(xs, p):
        xs = sorted(xs); return xs[min(len(xs)-1, int(p*len(xs)))] if xs else None
    print(f"{path}: runs={len(rows)} valid={valid} ok-fraction mean={statistics.mean(oks):.3f} min={min(oks):.3f} max={max(oks):.3f} "
          f"msgs-per-op mean={statistics.mean(r[3]['msgs_per_op'] or 0 for r in rows):.2f} write-p50 median={statistics.median(p50):.1f}ms | first ok write after partition start: p50={q(starts,.5)} p90={q(starts,.9)} max={max(starts) if starts else None} ms; after heal: p50={q(stops,.5)} p90={q(stops,.9)} max={max(stops) if stops else None} ms; infos={sum(r[3]['info'] for r in rows)}")
    for key, what in (('majority_side', 'majority side'), ('connected_side', 'connected majority (one-way links too)')):
        maj = [r[3].get(key) for r in rows if (r[3].get(key) or {}).get('ops')]
        if maj:
            print(f"  {what} during partitions: ops={sum(m['ops'] for m in maj)} served mean={statistics.mean(m['served'] for m in maj):.4f} "
                  f"min={min(m['served'] for m in maj):.4f} "
                  f"longest gap max={max(m['max_gap_ms'] for m in maj)} ms")
    lost = [x for r in rows for x in r[3].get('leader_lost', [])]
    if lost:
        ms = [x['ms'] for x in lost]
        ticks = [x['ticks'] for x in lost if x['ticks'] is not None]
        print(f"  leader cut off: {len(lost)} times; new leader after p50={q(ms,.5)} max={max(ms)} ms = "
              f"p50={q(ticks,.5)} max={max(ticks) if ticks else None} ticks (3 election timeouts = 30 ticks)")
