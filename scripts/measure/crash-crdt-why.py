#!/usr/bin/env python3
"""Says why a crash-crdt.sh run of broadcast, g-set or a counter was not
valid, from its folder (history.jsonl, net-journal.jsonl, test.json).

Usage: scripts/measure/crash-crdt-why.py RUN-DIR...

For each run: a node eddy stopped reading (it answered a closed
client), the kills (time, nodes, whether the disks were wiped) and
  - broadcast, g-set: each lost value, the node that acknowledged it and
    when, when a peer first received it (or never), and the node's next
    kill after the acknowledgement;
  - counters: the final reads against the acceptable sums, and for each
    wiping kill, the adds the node acknowledged after the last entries it
    sent that a peer received, and their sum: what no peer could hand back.
"""
import json
import sys


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def secs(ns):
    return f"{ns / 1e9:.2f}s"


def kills(hist):
    """(time, [nodes]) of every kill completion that took a node."""
    out = []
    for op in hist:
        if op.get("process") == "nemesis" and op.get("f") == "kill" and isinstance(op.get("value"), dict):
            nodes = sorted(n for n, v in op["value"].items() if v == "killed")
            if nodes:
                out.append((op["time"], nodes))
    return out


def values_in(body):
    """The values a gossip message carries."""
    vs = set()
    for run in body.get("v") or []:
        vs.update(run.get("v") or [])
    return vs


def gossip(d, hist, journal, ks, nodes):
    res = json.load(open(f"{d}/results.json"))
    lost = res["workload"].get("lost") or []
    if not lost:
        print("  no lost value; failed:", [k for k, v in res.items() if isinstance(v, dict) and v.get("valid?") is False])
    field = "message" if "broadcast" in json.load(open(f"{d}/test.json"))["workload"] else "element"
    asked = {}  # (client, msg_id) -> (node, value)
    acked = {}  # value -> (node, time)
    first_peer = {}  # value -> time a node other than the acker first received it
    for e in journal:
        b, src, dest = e["body"], e["src"], e["dest"]
        if e["type"] == "recv" and b.get("type") in ("add", "broadcast") and field in b:
            asked[(src, b.get("msg_id"))] = (dest, b[field])
        if e["type"] == "send" and b.get("type") in ("add_ok", "broadcast_ok"):
            node, v = asked.get((dest, b.get("in_reply_to")), (None, None))
            if node is not None and v not in acked:
                acked[v] = (node, e["time"])
        if e["type"] == "recv" and src in nodes and dest in nodes:
            for v in values_in(b):
                if v in acked and acked[v][0] != dest and v not in first_peer:
                    first_peer[v] = e["time"]
    for v in lost:
        node, t = acked.get(v, ("?", 0))
        nxt = [k for k in ks if k[0] > t and node in k[1]]
        peer = secs(first_peer[v]) if v in first_peer else "never"
        kill = f"{secs(nxt[0][0])} (with {','.join(nxt[0][1])})" if nxt else "none"
        print(f"  lost {v}: acked by {node} at {secs(t)}, first at a peer {peer}, next kill of {node} {kill}")


def counter(d, hist, journal, ks, nodes, wiped):
    res = json.load(open(f"{d}/results.json"))
    w = res["workload"]
    print(f"  final reads {w.get('final-reads')}, acceptable {w.get('acceptable')}")
    asked = {}  # (client, msg_id) -> (node, delta)
    adds = []  # (time, node, delta) of acknowledged adds
    synced = []  # (time, src) of peers' receipts of entries
    for e in journal:
        b, src, dest = e["body"], e["src"], e["dest"]
        if e["type"] == "recv" and b.get("type") == "add":
            asked[(src, b.get("msg_id"))] = (dest, b.get("delta"))
        if e["type"] == "send" and b.get("type") == "add_ok":
            node, delta = asked.get((dest, b.get("in_reply_to")), (None, None))
            if node is not None:
                adds.append((e["time"], node, delta))
        if e["type"] == "recv" and src in nodes and dest in nodes and b.get("entries"):
            synced.append((e["time"], src))
    if not wiped:
        return
    for t, ns in ks:
        for n in ns:
            last = max((s for s, src in synced if src == n and s < t), default=0)
            since = [a for a in adds if a[1] == n and last <= a[0] < t]
            # adds acked before the node's last kill are not this kill's
            prev = max((k for k, kn in ks if n in kn and k < t), default=0)
            since = [a for a in since if a[0] > prev]
            if since:
                print(f"  wipe of {n} at {secs(t)}: last entries a peer got from it {secs(last)}; "
                      f"acked after that: {[(secs(a[0]), a[2]) for a in since]}, sum {sum(a[2] for a in since)}")


def main():
    for d in sys.argv[1:]:
        test = json.load(open(f"{d}/test.json"))
        hist, journal = load(f"{d}/history.jsonl"), load(f"{d}/net-journal.jsonl")
        nodes = set(test["nodes"])
        wiped = test.get("kill-wipes-disk", False)
        ks = kills(hist)
        print(f"{d}: {test['workload']} {len(nodes)} nodes seed {test['seed']} wipes {wiped}")
        with open(f"{d}/jepsen.log") as f:
            for line in f:
                if "reads nothing more" in line:  # eddy, like Maelstrom, gave up on a node
                    print("  " + line.strip())
        print("  kills:", ", ".join(f"{secs(t)} {'+'.join(ns)}" + (" (all)" if len(ns) == len(nodes) else "") for t, ns in ks) or "none")
        if test["workload"] in ("broadcast", "g-set"):
            gossip(d, hist, journal, ks, nodes)
        elif test["workload"] in ("g-counter", "pn-counter"):
            counter(d, hist, journal, ks, nodes, wiped)


if __name__ == "__main__":
    main()
