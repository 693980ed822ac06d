#!/usr/bin/env bash
# Rate sweep for a lin-kv node without partitions: for each --rate, one run
# and one line with validity, ok-fraction, the answered fraction (ok, or a
# definite answer from the data: 20 key-does-not-exist, 22 precondition
# failed), the answers per second of the main phase and the write p50/p99.
#
#   scripts/measure/lin-kv-throughput.sh BIN "RATES" -- EXTRA EDDY FLAGS
#   e.g. scripts/measure/lin-kv-throughput.sh lin-kv-raft "800 1600 3200 6400" -- \
#            --node-count 5 --latency 1 --concurrency 10n --time-limit 20
set -u
cd "$(dirname "$0")/../.."
bin=$1 rates=$2; shift 2
[ "${1:-}" = "--" ] && shift
for rate in $rates; do
	store=$(mktemp -d "/tmp/linkv-rate-$bin-$rate.XXXXXX")
	bin/eddy test -q -w lin-kv --bin "bin/$bin" --rate "$rate" --store "$store" "$@" >/dev/null 2>&1
	rc=$?
	python3 - "$store/latest" "$rate" "$rc" <<'PY'
import json, sys
d, rate, rc = sys.argv[1], sys.argv[2], sys.argv[3]
r = json.load(open(d + '/results.json'))
limit = json.load(open(d + '/test.json'))['time-limit-s']
ops = [json.loads(l) for l in open(d + '/history.jsonl')]
inv, lat, answered, n, t0, main = {}, [], 0, 0, None, 0
for o in ops:
    if o.get('process') == 'nemesis':
        continue
    if o['type'] == 'invoke':
        inv[o['process']] = o['time']
        t0 = o['time'] if t0 is None else t0
        continue
    n += 1
    err = o.get('error')
    code = err[0] if isinstance(err, list) and err else err
    if o['type'] == 'ok' or code in ('key-does-not-exist', 'precondition-failed'):
        answered += 1
        if o['time'] - t0 <= limit * 1e9:
            main += 1  # answered within the main phase (the rate's window)
    if o['type'] == 'ok' and o['f'] in ('write', 'cas'):
        lat.append((o['time'] - inv[o['process']]) / 1e6)
lat.sort()
print(json.dumps({'rate': int(rate), 'rc': int(rc), 'valid': r['valid?'], 'ok_fraction': r['availability']['ok-fraction'],
                  'answered_fraction': round(answered / n, 4) if n else None, 'ops': n,
                  'answered_per_s': round(main / limit), 'write_p50_ms': round(lat[len(lat) // 2], 1) if lat else None,
                  'write_p99_ms': round(lat[int(len(lat) * .99)], 1) if lat else None}))
PY
done
