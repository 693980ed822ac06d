#!/usr/bin/env bash
# The cost of durability for paxos-register, counted the way
# crash-raft.sh cost counts it for lin-kv-raft: 3 nodes, no faults,
# --rate $RATE (1000) for $SECS (10) s, --concurrency $CONC (12), seed
# $SEED (1), with fsync and with -sync=false. Nodes run under strace
# (fsync and write calls only, through seccomp). Per run: valid?, ok ops/s,
# write+cas p50/p99 (ms, ok only), answered ops (ok, or a definite error),
# fsyncs per answered op for the cluster and per node, bytes written to
# synced files per answered op, and from the nodes' -stats-every lines the
# inputs handed to the cores, the drained Outputs with writes (applies: one
# sync each) and the log records written: records per apply says how many
# writes one sync covered, inputs per apply how many inputs (most inputs
# write nothing: replies to a proposer, forwards to a busy one).
#
#   scripts/measure/paxos-cost.sh [BIN_DIR]   (default bin)
set -euo pipefail
cd "$(dirname "$0")/../.."
bindir=$(cd "${1:-bin}" && pwd)
[ -x "$bindir/eddy" ] && [ -x "$bindir/paxos-register" ] || { echo "no eddy or paxos-register in $bindir" >&2; exit 1; }
store=$(mktemp -d)
chmod 755 "$store" # the nodes (another uid in their sandbox) reach the strace wrapper
trap 'rm -rf "$store"' EXIT

traced() {
	local name=$1; shift
	local st="$store/st-$name" dir="$store/run-$name"
	mkdir -p "$st" && chmod 777 "$st"
	cat >"$st/node.sh" <<WRAP
#!/bin/sh
exec strace -f --seccomp-bpf -qq -s 0 -e trace=fsync,fdatasync,write,pwrite64 \\
	-o "$st/st.\$\$.\$(date +%s%N)" "$bindir/paxos-register" "\$@"
WRAP
	chmod +x "$st/node.sh"
	"$bindir/eddy" test -q -w lin-kv --bin "$st/node.sh" --node-count 3 --concurrency "${CONC:-12}" \
		--rate "${RATE:-1000}" --time-limit "${SECS:-10}" --seed "${SEED:-1}" --store "$dir" "$@" >/dev/null 2>&1 || true
	python3 - "$name" "$dir/latest" "$st" <<'PY'
import glob, json, re, sys
name, d, st = sys.argv[1:]
r = json.load(open(d + '/results.json'))
limit = json.load(open(d + '/test.json'))['time-limit-s']
inv, lat, answered, ok = {}, [], 0, 0
for line in open(d + '/history.jsonl'):
    o = json.loads(line)
    if o.get('process') == 'nemesis':
        continue
    if o['type'] == 'invoke':
        inv[o['process']] = o['time']
        continue
    if o['type'] in ('ok', 'fail'):
        answered += 1
    if o['type'] == 'ok':
        ok += 1
        if o['f'] in ('write', 'cas'):
            lat.append((o['time'] - inv[o['process']]) / 1e6)
fsyncs = written = 0
for f in glob.glob(st + '/st.*'):
    files, calls = set(), list(open(f))
    for l in calls:
        m = re.search(r'f(?:data)?sync\((\d+)\)', l)
        if m:
            fsyncs += 1
            files.add(m.group(1))
    for l in calls:
        m = re.search(r'(?:pwrite64|write)\((\d+),.*= (\d+)$', l.strip())
        if m and m.group(1) in files:
            written += int(m.group(2))
inputs = applies = records = 0
for log in glob.glob(d + '/node-logs/*.log'):
    last = None
    for line in open(log, errors='replace'):
        if 'disk stats' in line:
            last = line
    if last:
        f = dict(re.findall(r'(\w+)=(\d+)', last))
        inputs += int(f.get('inputs', 0))
        applies += int(f.get('applies', 0))
        records += int(f.get('records', 0))
lat.sort()
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] if lat else float('nan')
per = lambda x: x / max(answered, 1)
# Without fsync the files are not told from other descriptors: no bytes.
nbytes = f"{per(written):.0f}" if fsyncs else "-"
ipa = f"{inputs / applies:.2f}" if applies else "-"
rpa = f"{records / applies:.2f}" if applies else "-"
print(f"{name}\t{r['valid?']}\t{ok / limit:.0f}\t{q(0.5):.1f}\t{q(0.99):.1f}\t{answered}\t"
      f"{per(fsyncs):.3f}\t{per(fsyncs) / 3:.3f}\t{nbytes}\t{ipa}\t{rpa}")
PY
}

printf 'run\tvalid\tok/s\twrite-p50\twrite-p99\tanswered\tfsyncs/op\tper-node\tbytes/op\tinputs/apply\trecords/apply\n'
traced sync -- -stats-every 1s
traced nosync -- -sync=false -stats-every 1s
