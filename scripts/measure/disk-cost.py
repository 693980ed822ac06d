#!/usr/bin/env python3
"""The cost of durability of one eddy lin-kv run, from its history and the
nodes' own disk counters (the Host's "disk stats" lines, -stats-every), and
optionally from strace logs of the same nodes to check the counters.

  disk-cost.py [--ops log|all] [--strace DIR] [--header] NAME RUN_DIR

Prints one tab-separated line (--header: the column names first):
  run        NAME
  valid      the run's valid?
  ok/s       ok ops per second of the time limit
  p50, p99   write and cas latency, ok ones only (ms)
  ops        the committed ops the ratios divide by: with --ops log (the
             default, Raft: reads take no log entry) writes and cas answered
             ok or with a definite key-does-not-exist / precondition-failed;
             with --ops all (Paxos: reads are rounds that write too) every
             op answered ok or fail
  ops/s      those per second of the time limit
  fsyncs/op  fsyncs of files and directories, all nodes, per op (from the
             nodes' counters; 0 with -sync=false)
  per-node   the same, each node (n0/n1/...)
  syncs/op   log and stable-value syncs the nodes asked for, per op, as
             fsyncs/op but counted with -sync=false too (no snapshots or
             directories)
  rec/sync   log records (Raft entries, Paxos accepts) per log sync
  in/apply   inputs handed to the cores per drained Output with writes
  bytes/op   bytes written to the store's files per op, all nodes
  strace     with --strace: the fsync and fdatasync calls in the strace
             logs that each node made up to its last stats line, summed,
             then the counters' sum (strace/counters), then all the
             calls strace logged

A node's last stats line counts its work up to when it was logged: run
with a -stats-every well under eddy's --recovery so that the idle nodes
log once more after the last op.
"""
import argparse
import datetime
import glob
import json
import os
import re
import sys


def history(d, ops_kind):
    limit = json.load(open(os.path.join(d, 'test.json')))['time-limit-s']
    inv, lat, ops, ok = {}, [], 0, 0
    for line in open(os.path.join(d, 'history.jsonl')):
        o = json.loads(line)
        if o.get('process') == 'nemesis':
            continue
        if o['type'] == 'invoke':
            inv[o['process']] = o['time']
            continue
        err = o.get('error')
        code = err[0] if isinstance(err, list) and err else err
        if o['type'] == 'ok':
            ok += 1
            if o['f'] in ('write', 'cas'):
                lat.append((o['time'] - inv[o['process']]) / 1e6)
        if ops_kind == 'all':
            ops += o['type'] in ('ok', 'fail')
        elif o['f'] in ('write', 'cas') and (
                o['type'] == 'ok' or code in ('key-does-not-exist', 'precondition-failed')):
            ops += 1
    lat.sort()
    return limit, ok, ops, lat


def node_stats(d):
    """The last disk stats line of each node, as a dict of ints with the
    line's time (s since the epoch) under 'at'."""
    out = {}
    for log in sorted(glob.glob(os.path.join(d, 'node-logs', '*.log'))):
        last = None
        for line in open(log, errors='replace'):
            if 'msg="disk stats"' in line:
                last = line
        if last:
            node = re.search(r'node=(\S+)', last).group(1)
            out[node] = {k: int(v) for k, v in re.findall(r'(\w+)=(\d+)(?=\s|$)', last)}
            t = re.search(r'time=(\S+)', last).group(1).replace('Z', '+00:00')
            out[node]['at'] = datetime.datetime.fromisoformat(t).timestamp()
    return out


def strace_fsyncs(st, stats):
    """fsync and fdatasync calls in the strace logs of st (strace -ttt,
    openat traced to tell the node by its store's file names): in all, and
    those each node made up to its last stats line, summed."""
    total = upto = 0
    for f in glob.glob(os.path.join(st, 'st.*')):
        node, calls = None, []
        for line in open(f, errors='replace'):
            m = re.search(r'openat\(.*"[^"]*/([A-Za-z0-9_-]+)\.[^"/]*\.(?:wal|state|lock)"', line)
            if m and node is None:
                node = m.group(1)
            m = re.search(r'^(?:\d+\s+)?(\d+\.\d+) f(?:data)?sync\(\d+', line)
            if m:
                calls.append(float(m.group(1)))
        total += len(calls)
        at = stats.get(node, {}).get('at')
        if at is not None:
            upto += sum(1 for t in calls if t <= at)
    return total, upto


COLUMNS = ['run', 'valid', 'ok/s', 'p50', 'p99', 'ops', 'ops/s', 'fsyncs/op', 'per-node', 'syncs/op',
           'rec/sync', 'in/apply', 'bytes/op', 'strace']


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ops', choices=('log', 'all'), default='log')
    ap.add_argument('--strace')
    ap.add_argument('--header', action='store_true')
    ap.add_argument('name')
    ap.add_argument('run_dir')
    a = ap.parse_args()
    d = a.run_dir
    valid = json.load(open(os.path.join(d, 'results.json')))['valid?']
    limit, ok, ops, lat = history(d, a.ops)
    stats = node_stats(d)
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] if lat else float('nan')
    per = lambda x: x / max(ops, 1)
    tot = lambda k: sum(s.get(k, 0) for s in stats.values())
    fsyncs = tot('fsyncs') + tot('dir_fsyncs')
    nodes = '/'.join(f"{per(s.get('fsyncs', 0) + s.get('dir_fsyncs', 0)):.3f}" for _, s in sorted(stats.items()))
    syncs = tot('log_syncs') + tot('state_syncs')
    rps = f"{tot('records') / tot('log_syncs'):.2f}" if tot('log_syncs') else '-'
    ipa = f"{tot('inputs') / tot('applies'):.2f}" if tot('applies') else '-'
    tr = '-'
    if a.strace:
        total, upto = strace_fsyncs(a.strace, stats)
        tr = f"{upto}/{fsyncs} (all {total})"
    row = [a.name, str(valid), f"{ok / limit:.0f}", f"{q(0.5):.1f}", f"{q(0.99):.1f}", str(ops), f"{ops / limit:.0f}",
           f"{per(fsyncs):.3f}", nodes, f"{per(syncs):.3f}", rps, ipa, f"{per(tot('file_bytes')):.0f}", tr]
    if a.header:
        print('\t'.join(COLUMNS))
    print('\t'.join(row))


if __name__ == '__main__':
    sys.exit(main())
