#!/usr/bin/env python3
"""Each node's disk work in an eddy run whose nodes logged "disk stats"
lines (-stats-every): how group commit went, node by node.

  disk-nodes.py RUN_DIR...

Per node, over the span of its stats lines (first to last, the run's
load): client answers, inputs handed to the core, inputs per drained
Output with writes (in/apply), log syncs per second and per 10 ms (the
Raft tick's floor, Timing.TickMin), log records per log sync (Raft
entries per append), fsyncs (files and directories) per second.
"""
import datetime
import glob
import os
import re
import sys


def lines(log):
    out = []
    for line in open(log, errors='replace'):
        if 'msg="disk stats"' not in line:
            continue
        f = {k: int(v) for k, v in re.findall(r'(\w+)=(\d+)(?=\s|$)', line)}
        t = re.search(r'time=(\S+)', line).group(1).replace('Z', '+00:00')
        f['at'] = datetime.datetime.fromisoformat(t).timestamp()
        f['node'] = re.search(r'node=(\S+)', line).group(1)
        out.append(f)
    return out


def main():
    print('run\tnode\tanswers\tinputs\tin/apply\tlog-syncs/s\tper-10ms\trec/sync\tfsyncs/s')
    for d in sys.argv[1:]:
        for log in sorted(glob.glob(os.path.join(d, 'node-logs', '*.log'))):
            ls = lines(log)
            if len(ls) < 2:
                continue
            a, b = ls[0], ls[-1]
            dt = b['at'] - a['at']
            dd = lambda k: b.get(k, 0) - a.get(k, 0)
            syncs = dd('log_syncs')
            print(f"{os.path.basename(d.rstrip('/'))}\t{b['node']}\t{b['ops']}\t{b['inputs']}\t"
                  f"{dd('inputs') / max(dd('applies'), 1):.2f}\t{syncs / dt:.0f}\t{syncs / dt / 100:.2f}\t"
                  f"{dd('records') / max(syncs, 1):.2f}\t{(dd('fsyncs') + dd('dir_fsyncs')) / dt:.0f}")


if __name__ == '__main__':
    main()
