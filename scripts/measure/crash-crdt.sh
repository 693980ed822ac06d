#!/usr/bin/env bash
# Crash validity of the CRDT, gossip and id nodes (broadcast, g-set,
# g-counter, pn-counter, unique-ids) on eddy under --nemesis
# partition,kill,pause: for one workload and node count, over $SEEDS, runs
#   bin/eddy test -w W --bin bin/W --node-count N --time-limit 20
#     --nemesis partition,kill,pause --nemesis-interval 3 --seed S [EXTRA...]
# (EXTRA: more eddy flags, e.g. --kill-wipes-disk) and prints one line per
# run, then a summary:
#   workload nodes wipe seed valid failed ok-fraction msgs-per-op max-kill
#   kills wipes detail
# failed: the checkers whose valid? is false ("-" if none); ok-fraction:
# availability's; msgs-per-op: the servers'; max-kill: the most nodes one
# kill took (Jepsen's targets: one, minority, majority, all...); kills:
# node kills in the run; wipes: the kills that emptied a directory (every
# kill with --kill-wipes-disk); detail: counters, final reads against the
# acceptable sums; broadcast and g-set, lost values; unique-ids, duplicates.
# Usage: scripts/measure/crash-crdt.sh WORKLOAD NODES [EXTRA...]
#   SEEDS   seeds (default "1 2 3 4 5 6 7 8 9 10")
#   PAR     runs at a time (default 2; 1 from 25 nodes on)
#   KEEP    if set, a directory where the folders of invalid runs are kept
#   NICE    niceness of the runs (default 10)
set -euo pipefail
cd "${ROOT:-$(dirname "$0")/../..}"
[ $# -ge 2 ] || { sed -n '2,/^set /p' "$0" | sed '$d' >&2; exit 254; }
w=$1 n=$2
shift 2
[ -x bin/eddy ] && [ -x "bin/$w" ] || scripts/build.sh >/dev/null
SEEDS=${SEEDS:-$(seq -s ' ' 1 10)}
if [ "$n" -ge 25 ]; then PAR=${PAR:-1}; else PAR=${PAR:-2}; fi
NICE=${NICE:-10}
wipe=no
for a in "$@"; do [ "$a" = --kill-wipes-disk ] && wipe=yes; done
store=$(mktemp -d)
trap 'rm -rf "$store"' EXIT

# one SEED EXTRA... prints the run's line.
one() {
	local seed=$1
	shift
	local dir="$store/$w-$n-$wipe-$seed"
	nice -n "$NICE" bin/eddy test -q -w "$w" --bin "bin/$w" --node-count "$n" --time-limit 20 \
		--nemesis partition,kill,pause --nemesis-interval 3 --seed "$seed" --store "$dir" "$@" \
		>/dev/null 2>&1 || true
	local d="$dir/latest"
	if [ ! -f "$d/results.json" ]; then
		printf '%s\t%s\t%s\t%s\tCRASHED\n' "$w" "$n" "$wipe" "$seed"
		return
	fi
	# Kill completions: {"n1":"killed",...}, one key per node the kill took.
	local kills
	kills=$(jq -sr '[.[] | select(.f == "kill" and (.value | type) == "object")
		| [.value[] | select(. == "killed")] | length] | "\(max // 0)\t\(add // 0)"' "$d/history.jsonl")
	local nw=0
	[ "$wipe" = yes ] && nw=${kills#*$'\t'}
	jq -r --arg w "$w" --arg n "$n" --arg wipe "$wipe" --arg s "$seed" --arg k "$kills" --arg nw "$nw" '
		. as $r
		| ([to_entries[] | select((.value | type) == "object" and .value."valid?" == false) | .key]
			| if length == 0 then "-" else join(",") end) as $failed
		| (.workload | if has("final-reads") then "final \(."final-reads" | tostring) acceptable \(.acceptable | tostring)"
			elif has("lost-count") then "lost \(."lost-count")"
			elif has("duplicated-count") then "duplicated \(."duplicated-count")"
			else "" end) as $detail
		| [$w, $n, $wipe, $s, (."valid?" | tostring), $failed,
		   (.availability."ok-fraction" // "-" | tostring),
		   (.net.servers."msgs-per-op" // "-" | tostring), $k, $nw, $detail] | join("\t")' "$d/results.json"
	if [ "$(jq -r '."valid?"' "$d/results.json")" != true ] && [ -n "${KEEP:-}" ]; then
		mkdir -p "$KEEP" && cp -r "$dir" "$KEEP/"
	fi
	rm -rf "$dir"
}
export -f one
export store w n wipe NICE KEEP

printf 'workload\tnodes\twipe\tseed\tvalid\tfailed\tok-fraction\tmsgs-per-op\tmax-kill\tkills\twipes\tdetail\n'
out=$(printf '%s\n' $SEEDS | xargs -P "$PAR" -I{} bash -c 'one {} "$@"' _ "$@" |
	sort -t$'\t' -k4,4n)
echo "$out"
echo "$out" | awk -F'\t' -v w="$w" -v n="$n" -v wipe="$wipe" '
	{runs++; if ($5 == "true") ok++; else bad = bad (bad ? "," : "") $4
	 if ($5 != "CRASHED") { f += $7; m += $8; if ($9 > mk) mk = $9; k += $10; wp += $11 } }
	END {printf "summary %s n=%s wipe=%s: valid %d/%d, invalid seeds %s, mean ok-fraction %.3f, mean msgs-per-op %.2f, largest kill %d nodes, %d kills, %d wipes\n",
		w, n, wipe, ok, runs, (bad ? bad : "-"), f / runs, m / runs, mk, k, wp}'
