#!/usr/bin/env python3
"""One summary line for a paxos-register lin-kv run folder (see paxos-crash.sh)."""
import json
import re
import sys
from pathlib import Path

run = Path(sys.argv[1])
res = json.loads((run / "results.json").read_text())


def failed(x, path=""):
    """The innermost checkers that failed."""
    out = []
    if isinstance(x, dict):
        kids = [(k, v) for k, v in x.items() if isinstance(v, dict)]
        for k, v in kids:
            out += failed(v, f"{path}/{k}")
        if x.get("valid?") is False and not any(v.get("valid?") is False for _, v in kids):
            out.append(path or "/")
    return out


bad = failed(res)
stats = res.get("stats", {})
q = res.get("perf", {}).get("latency-quantiles", {}).get("write", {})
# nX.log is a node's first process, nX.K.log its K-th (after a kill);
# restart_serving_ms marks with "b" the restarts that found a blank disk.
first, restart, serving, ops, syncs, nbytes = [], [], [], 0, 0, 0
for log in sorted((run / "node-logs").glob("*.log")):
    last = None
    for line in log.read_text(errors="replace").splitlines():
        m = re.search(r"first client answer.*after_ms=(\d+)", line)
        if m:
            (restart if log.name.count(".") > 1 else first).append(int(m.group(1)))
        m = re.search(r"msg=serving.*after_ms=(\d+) blank=(\w+)", line)
        if m and log.name.count(".") > 1:
            serving.append("%s%s" % (m.group(1), "b" if m.group(2) == "true" else ""))
        if "disk stats" in line:
            last = line
    # Each process counts from its start: add up every process's last line.
    if last:
        f = dict(re.findall(r"(\w+)=(\d+)", last))
        ops += int(f.get("ops", 0))
        syncs += int(f.get("log_syncs", 0)) + int(f.get("state_syncs", 0))
        nbytes += int(f.get("log_bytes", 0)) + int(f.get("state_bytes", 0))
print(
    "valid=%s failed=%s ok=%d/%d write_p50=%s write_p99=%s first_answer_ms=%s restart_answer_ms=%s restart_serving_ms=%s syncs_per_op=%s bytes_per_op=%s node_ops=%d"
    % (
        res.get("valid?"),
        ",".join(bad) or "-",
        stats.get("ok-count", 0),
        stats.get("count", 0),
        q.get("0.5"),
        q.get("0.99"),
        sorted(first),
        sorted(restart),
        sorted(serving, key=lambda v: int(v.rstrip("b"))),
        "%.2f" % (syncs / ops) if ops else "-",
        "%.0f" % (nbytes / ops) if ops else "-",
        ops,
    )
)
