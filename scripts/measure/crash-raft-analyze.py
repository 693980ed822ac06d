#!/usr/bin/env python3
"""Recovery figures of a Raft node run on eddy under kills, from its folder.

Usage: crash-raft-analyze.py RUN_DIR [ELECTION_TIMEOUT_MS]

restart->answer: for every restart of a node (eddy sends it a new init),
the time until that node first sends a client an ok reply (read_ok,
write_ok, cas_ok, txn_ok): when it serves again.
leader kill->new leader: for every kill that hit the node leading at that
moment (the last sender of Raft heartbeats before it) and left a majority
up, the time until another node sends its first heartbeat of a higher
term.
Prints one line per figure: count, p50, p90, max (ms).
"""
import json
import sys

HEARTBEAT = 14  # raft.MsgHeartbeat


def quantiles(xs):
    if not xs:
        return 'none'
    xs = sorted(xs)
    q = lambda p: xs[min(len(xs) - 1, int(p * len(xs)))]
    return f'n={len(xs)} p50={q(0.5):.0f} p90={q(0.9):.0f} max={xs[-1]:.0f}'


def main():
    d = sys.argv[1]
    inits = {}      # node -> [init send times]
    answers = {}    # node -> [ok reply times]
    beats = []      # (time, src, term)
    with open(d + '/net-journal.jsonl') as f:
        for line in f:
            ev = json.loads(line)
            if ev['type'] != 'send':
                continue
            b = ev.get('body') or {}
            t = b.get('type', '')
            if t == 'init':
                inits.setdefault(ev['dest'], []).append(ev['time'])
            elif ev['dest'].startswith('c') and t.endswith('_ok') and t != 'init_ok':
                answers.setdefault(ev['src'], []).append(ev['time'])
            elif t == 'raft' and (b.get('m') or {}).get('y') == HEARTBEAT:
                beats.append((ev['time'], ev['src'], b['m'].get('t', 0)))
    kills = []  # (time, node) of kills that left a majority up
    nodes = set(inits)
    down = set()
    with open(d + '/history.jsonl') as f:
        for line in f:
            op = json.loads(line)
            if op.get('process') != 'nemesis' or not isinstance(op.get('value'), dict):
                continue
            hit = [n for n, v in op['value'].items() if v in ('killed', 'started')]
            if op['f'] == 'kill':
                down |= set(hit)
                if len(nodes) - len(down) > len(nodes) // 2:
                    kills += [(op['time'], n) for n in hit]
            elif op['f'] == 'start':
                down -= set(hit)
    restart = []
    for node, ts in inits.items():
        ans = sorted(answers.get(node, []))
        for t0 in ts[1:]:
            later = [a for a in ans if a > t0]
            if later:
                restart.append((later[0] - t0) / 1e6)
    failover = []
    beats.sort()
    for tk, node in kills:
        before = [b for b in beats if b[0] < tk]
        if not before or before[-1][1] != node:
            continue
        term = before[-1][2]
        after = [b for b in beats if b[0] > tk and b[1] != node and b[2] > term]
        if after:
            failover.append((after[0][0] - tk) / 1e6)
    print('restart->answer ms:', quantiles(restart))
    print('leader kill->new leader ms:', quantiles(failover))


if __name__ == '__main__':
    main()
