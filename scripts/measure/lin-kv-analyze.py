#!/usr/bin/env python3
"""Summarise one eddy lin-kv run: validity, ok-fraction, and for each nemesis
event the time until the first write/cas invoked after it completed :ok."""
import json, sys
d = sys.argv[1]
r = json.load(open(d + '/results.json'))
ops = [json.loads(l) for l in open(d + '/history.jsonl')]
inv = {}
oks = []  # (invoke time, complete time, f)
nem = []
for o in ops:
    if o.get('process') == 'nemesis':
        if o['type'] == 'info' and isinstance(o.get('value'), (list, str)) and o['f'] in ('start-partition', 'stop-partition'):
            nem.append((o['time'], o['f']))
        continue
    if o['type'] == 'invoke':
        inv[o['process']] = o['time']
    elif o['type'] == 'ok' and o['f'] in ('write', 'cas'):
        oks.append((inv.get(o['process'], o['time']), o['time'], o['f']))
gaps = []
seen = set()
for t, f in nem:
    if (t // 1_000_000, f) in seen:
        continue
    seen.add((t // 1_000_000, f))
    after = [c for (i, c, _) in oks if i >= t]
    if after:
        gaps.append((f, round((min(after) - t) / 1e6, 1)))
lat = sorted((c - i) / 1e6 for (i, c, _) in oks)
p50 = lat[len(lat) // 2] if lat else None
st = r['stats']
print(json.dumps({'valid': r['valid?'], 'ok_fraction': r['availability']['ok-fraction'],
                  'msgs_per_op': r['net']['servers'].get('msgs-per-op'),
                  'count': st['count'], 'ok': st['ok-count'], 'fail': st['fail-count'], 'info': st['info-count'],
                  'write_p50_ms': p50, 'first_write_after_nemesis_ms': gaps}))
