#!/usr/bin/env bash
# Measures txn-rw-register's default (strict-serializable, Raft) mode on eddy:
# one JSON line per run (valid, ok-fraction, txn latency p50/p99, servers
# msgs-per-op, op count).
#
#   scripts/measure/txn-strict.sh WORKLOAD NODES SEEDS...
#   e.g. scripts/measure/txn-strict.sh txn-list-append 5 1 2 3 4 5 6 7 8 9 10
set -u
cd "$(dirname "$0")/../.."
w=$1 n=$2; shift 2
for s in "$@"; do
	store=$(mktemp -d "/tmp/txn-strict-$w-$n-$s.XXXXXX")
	bin/eddy test -q -w "$w" --bin bin/txn-rw-register --node-count "$n" --concurrency 2n --rate 100 \
		--time-limit 20 --nemesis partition --consistency-models strict-serializable --seed "$s" --store "$store" >/dev/null 2>&1
	python3 - "$store" "$w" "$n" "$s" <<'PY'
import json, sys
st, w, n, s = sys.argv[1:]
r = json.load(open(st + '/latest/results.json'))
q = r['perf']['latency-quantiles']['txn']
print(json.dumps({'w': w, 'n': int(n), 'seed': int(s), 'valid': r['valid?'], 'ok': r['availability']['ok-fraction'],
                  'p50': q['0.5'], 'p99': q['0.99'], 'mpo': r['net']['servers'].get('msgs-per-op'), 'count': r['stats']['count']}))
PY
done
