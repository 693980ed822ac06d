#!/usr/bin/env python3
"""Where a write's time goes in a stored bin/kafka run on two or more nodes.

Usage: scripts/measure/kafka-path.py RUN-DIR...   (a run folder holding
net-journal.jsonl, e.g. STORE=DIR scripts/measure/kafka.sh 5b's
DIR/5b-1/kafka/latest)

Every write (send, commit_offsets) is followed through the net journal by
its Raft entry, which names the client and msg_id. Stages, each the median
and mean in ms over the writes that went through it:

  hold      client request received -> the leader's append carrying it
            leaves (leader's clients), or -> the follower's forward
            leaves (followers' clients): the flush period's wait, and the
            node's loop and fsync before it sends
  fwd       forward received by the leader -> its append leaves
  append    append leaves -> the follower's answer leaves (the net both
            ways one way, the follower's fsync)
  commit    answer received by the leader -> the reply leaves (leader's
            clients) or -> the commit index leaves (followers' clients)
  apply     commit index received -> the follower's reply leaves
  total     client request received -> reply leaves

Stages are measured between the journal's send and recv times, so the net
(eddy's delivery) lies between one stage's end and the next one's start:
`net` is the sum of those gaps per write.
"""
import base64
import bisect
import collections
import json
import os
import statistics
import sys


def entries(m):
    for e in m.get("e") or []:
        d = e.get("d")
        if not d:
            continue
        try:
            c = json.loads(base64.b64decode(d))
        except ValueError:
            continue
        yield e.get("i", 0), (c.get("c"), c.get("id"))


def analyze(run):
    rows = [json.loads(l) for l in open(os.path.join(run, "net-journal.jsonl"))]
    inn, out = {}, {}  # (client, msg_id) -> time the node got it / replied
    node_of = {}
    fwd_send, fwd_recv = {}, {}  # write -> time
    app_send, app_recv = {}, {}  # (write, follower) -> time of the first append carrying it
    first_app = {}  # write -> (time, follower) of the first append sent
    index = {}  # write -> raft index
    # (kind, follower) -> [(time, index)]: answers to appends, commit
    # indexes sent to followers, in time order
    acks = collections.defaultdict(list)
    commits = collections.defaultdict(list)
    for r in rows:
        b, t, kind = r["body"], r["time"], r["type"]
        typ = b.get("type")
        if typ in ("send", "commit_offsets") and kind == "recv":
            inn[(r["src"], b["msg_id"])] = t
            node_of[(r["src"], b["msg_id"])] = r["dest"]
        elif typ in ("send_ok", "commit_offsets_ok", "error") and kind == "send" and r["dest"].startswith("c"):
            out.setdefault((r["dest"], b.get("in_reply_to")), t)
        elif typ == "raft":
            m = b["m"]
            y = m.get("y")
            if y == 3:  # a forwarded proposal
                for _, w in entries(m):
                    (fwd_send if kind == "send" else fwd_recv).setdefault(w, t)
            elif y == 12:  # an append
                for i, w in entries(m):
                    (app_send if kind == "send" else app_recv).setdefault((w, m.get("o")), t)
                    if kind == "send":
                        first_app.setdefault(w, (t, m.get("o")))
                    index.setdefault(w, i)
                if "c" in m:
                    commits[(kind, m.get("o"))].append((t, m["c"]))
            elif y == 13:
                acks[(kind, m.get("f"))].append((t, m.get("i", 0)))
    for xs in list(acks.values()) + list(commits.values()):
        xs.sort()

    def first(xs, after, idx):
        """The time of the first (time, index) at or after `after` whose
        index reaches idx."""
        k = bisect.bisect_left(xs, (after, -1))
        while k < len(xs) and xs[k][1] < idx:
            k += 1
        return xs[k][0] if k < len(xs) else None

    stages = {k: [] for k in ("hold", "fwd", "append", "commit", "apply", "net", "total")}
    for w, t0 in inn.items():
        if w not in out or w not in index:
            continue
        node, idx = node_of[w], index[w]
        if w not in first_app:
            continue
        ta, follower = first_app[w]
        tar = app_recv.get((w, follower))
        if tar is None:
            continue
        ack = first(acks[("send", follower)], tar, idx)
        if ack is None:
            continue
        ack_recv = first(acks[("recv", follower)], ack, idx)
        if ack_recv is None:
            continue
        leader_client = w not in fwd_send
        tout = out[w]
        net = (tar - ta) + (ack_recv - ack)
        if leader_client:
            stages["hold"].append(ta - t0)
            stages["commit"].append(tout - ack_recv)
        else:
            fs, fr = fwd_send.get(w), fwd_recv.get(w)
            if fr is None:
                continue
            cs = first(commits[("send", node)], ack_recv, idx)
            cr = first(commits[("recv", node)], cs, idx) if cs is not None else None
            if cs is None or cr is None:
                continue
            stages["hold"].append(fs - t0)
            stages["fwd"].append(ta - fr)
            stages["commit"].append(cs - ack_recv)
            stages["apply"].append(tout - cr)
            net += (fr - fs) + (cr - cs)
        stages["append"].append(ack - ta)
        stages["net"].append(net)
        stages["total"].append(tout - t0)
    return stages


def main():
    print("run\twrites\t" + "\t".join(f"{k} p50/mean ms" for k in ("hold", "fwd", "append", "commit", "apply", "net", "total")))
    for run in sys.argv[1:]:
        st = analyze(run)
        cells = []
        for k in ("hold", "fwd", "append", "commit", "apply", "net", "total"):
            xs = st[k]
            cells.append(f"{statistics.median(xs) / 1e6:.2f}/{statistics.mean(xs) / 1e6:.2f}" if xs else "-")
        print(f"{run}\t{len(st['total'])}\t" + "\t".join(cells))


if __name__ == "__main__":
    main()
