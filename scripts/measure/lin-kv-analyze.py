#!/usr/bin/env python3
"""Summarise one eddy lin-kv run (a store directory): validity, ok-fraction,
message counts, write p50, and for each partition:

- first_write_after_nemesis_ms: time from each partition start / heal to
  the first write or cas invoked after it that completed :ok;
- majority_side: for clients of nodes that still reach a majority both ways
  (themselves included), the fraction of ops invoked during partitions that
  got a definite answer from the data (ok, or 20/22: the value said so),
  and the longest gap between two such answers for one node;
- connected_side: the same for clients of nodes in a strongly connected
  group of a majority, counting links that work one way (a node reaches
  the others of its group, directly or through members, and they reach it):
  the majority side plus, in the three-node majorities ring where every
  link works one way only, every node;
- leader_lost (Raft only, from the net journal): when a partition cut the
  leader off from a majority, the time until another node led (sent its
  first append or heartbeat of a higher term), in ms and in ticks (the
  old leader's heartbeat period before the partition)."""
import json, sys

d = sys.argv[1]
r = json.load(open(d + '/results.json'))
ops = [json.loads(l) for l in open(d + '/history.jsonl')]
test = json.load(open(d + '/test.json'))
nodes = test['nodes']
n = len(nodes)
quorum = n // 2 + 1

inv = {}
oks = []       # (invoke time, complete time) of ok writes/cas
done = []      # (invoke time, complete time, node, served?)
parts = []     # (start, end, grudge)
nem = []
cur = None
for o in ops:
    if o.get('process') == 'nemesis':
        if o['type'] != 'info' or o.get('value') is None:
            continue
        if o['f'] == 'start-partition' and isinstance(o['value'], list):
            cur = (o['time'], o['value'][1])
            nem.append((o['time'], o['f']))
        elif o['f'] == 'stop-partition':
            if cur:
                parts.append((cur[0], o['time'], cur[1]))
                cur = None
            nem.append((o['time'], o['f']))
        continue
    p = o['process']
    if o['type'] == 'invoke':
        inv[p] = o['time']
        continue
    t0 = inv.get(p, o['time'])
    if o['type'] == 'ok' and o['f'] in ('write', 'cas'):
        oks.append((t0, o['time']))
    err = o.get('error')
    code = err[0] if isinstance(err, list) and err else err
    served = o['type'] == 'ok' or code in ('key-does-not-exist', 'precondition-failed')
    done.append((t0, o['time'], nodes[p % n], served))
if cur:
    parts.append((cur[0], ops[-1]['time'], cur[1]))

gaps, seen = [], set()
for t, f in nem:
    if (t // 1_000_000, f) in seen:
        continue
    seen.add((t // 1_000_000, f))
    after = [c for (i, c) in oks if i >= t]
    if after:
        gaps.append((f, round((min(after) - t) / 1e6, 1)))
lat = sorted((c - i) / 1e6 for (i, c) in oks)
p50 = lat[len(lat) // 2] if lat else None


def majority_nodes(grudge):
    """Nodes that talk both ways with a majority (themselves included)."""
    out = set()
    for a in nodes:
        both = [b for b in nodes if b == a or (b not in grudge.get(a, []) and a not in grudge.get(b, []))]
        if len(both) >= quorum:
            out.add(a)
    return out


def connected_nodes(grudge):
    """Nodes in a strongly connected group of at least a quorum, over the
    links that work (a -> b unless b drops a)."""
    def reach(a):
        seen, todo = {a}, [a]
        while todo:
            x = todo.pop()
            for b in nodes:
                if b not in seen and x not in grudge.get(b, []):
                    seen.add(b)
                    todo.append(b)
        return seen
    r = {a: reach(a) for a in nodes}
    return {a for a in nodes if sum(1 for b in r[a] if a in r[b]) >= quorum}


def side_stats(pick):
    """Answered fraction and longest gap for clients of the nodes pick(grudge)
    chooses, over all partitions."""
    total = served = gap = 0
    for (s, e, g) in parts:
        for node in pick(g):
            mine = sorted((c for (i, c, nd, ok) in done if nd == node and s <= i < e and ok))
            allmine = [x for x in done if x[2] == node and s <= x[0] < e]
            total += len(allmine)
            served += sum(1 for x in allmine if x[3])
            prev = s
            for c in mine + [e]:
                gap = max(gap, c - prev)
                prev = c
    return {'ops': total, 'served': round(served / total, 4) if total else None, 'max_gap_ms': round(gap / 1e6, 1)}

# Raft leadership from the journal: appends (12) and heartbeats (14).
lost = []
try:
    beats = []  # (time, src, dest, term, type)
    pings = {}  # (pinger, msg_id) -> send time
    rtts = {}   # pinger -> [(time, rtt)]
    # The journal's clock starts before the history's: align them on the
    # first client request (the first invocation).
    first_inv = next(o['time'] for o in ops if o['type'] == 'invoke' and o.get('process') != 'nemesis')
    offset = None
    with open(d + '/net-journal.jsonl') as f:
        for line in f:
            if offset is None and '"type":"send"' in line and '"src":"c' in line and '"type":"init"' not in line:
                offset = json.loads(line)['time'] - first_inv
            if '"raft_p' in line:
                ev = json.loads(line)
                b = ev['body']
                # Pings are plain messages carrying the pinger's tick "t",
                # which the pong echoes: pair them by (pinger, peer, t).
                if ev['type'] == 'send' and b['type'] == 'raft_ping':
                    pings.setdefault((ev['src'], ev['dest'], b.get('t')), ev['time'])
                elif ev['type'] == 'recv' and b['type'] == 'raft_pong' and (ev['dest'], ev['src'], b.get('t')) in pings:
                    t0 = pings[(ev['dest'], ev['src'], b.get('t'))]
                    rtts.setdefault(ev['dest'], []).append((ev['time'] - (offset or 0), ev['time'] - t0))
                continue
            if '"raft"' not in line or '"type":"send"' not in line:
                continue
            ev = json.loads(line)
            m = ev['body'].get('m', {})
            if m.get('y') in (12, 14):
                beats.append((ev['time'] - (offset or 0), ev['src'], ev['dest'], m.get('t', 0), m['y']))

    def node_tick(node, t):
        """The node's tick at t, as lib/raftnode derives it from its pings
        (Jacobson/Karels; tick = srtt/2 + rttvar within [10 ms, 1 s])."""
        srtt = var = None
        for (at, rtt) in rtts.get(node, []):
            if at > t:
                break
            if srtt is None:
                srtt, var = rtt, rtt / 2
            else:
                var = (3 * var + abs(srtt - rtt)) / 4
                srtt = (7 * srtt + rtt) / 8
        if srtt is None:
            return 50e6
        return min(max(srtt / 2 + var, 10e6), 1e9)

    def median_tick(t, group):
        ts = sorted(node_tick(x, t) for x in group)
        return ts[len(ts) // 2] if ts else None

    for (s, e, g) in parts:
        before = [b for b in beats if b[0] < s]
        if not before:
            continue
        lead, term = before[-1][1], before[-1][3]
        if lead in majority_nodes(g) or not majority_nodes(g):
            continue  # the leader kept a majority, or nobody has one
        tick = median_tick(s, majority_nodes(g))
        nxt = [b for b in beats if b[0] >= s and b[1] != lead and b[3] > term]
        if nxt:
            ms = (nxt[0][0] - s) / 1e6
            lost.append({'ms': round(ms, 1), 'ticks': round(ms * 1e6 / tick, 1) if tick else None,
                         'in_partition': nxt[0][0] < e})
except FileNotFoundError:
    pass

st = r['stats']
print(json.dumps({'valid': r['valid?'], 'ok_fraction': r['availability']['ok-fraction'],
                  'msgs_per_op': r['net']['servers'].get('msgs-per-op'),
                  'count': st['count'], 'ok': st['ok-count'], 'fail': st['fail-count'], 'info': st['info-count'],
                  'write_p50_ms': p50, 'first_write_after_nemesis_ms': gaps,
                  'majority_side': side_stats(majority_nodes),
                  'connected_side': side_stats(connected_nodes),
                  'leader_lost': lost}))
