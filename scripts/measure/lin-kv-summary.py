#!/usr/bin/env python3
"""Aggregates scripts/measure/lin-kv.sh output files: valid count, ok-fraction, write p50 and recovery gaps."""
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
