#!/usr/bin/env bash
# Walks the exercises with their full suites: grades each exercise's
# reference binary (eddy exercises names it) and prints one line per
# exercise: verdict, runs, wall time, and the figures of any failure.
# The fast walk (one scenario, 2 s runs, starters and known-wrong
# variants too) is go test -run TestExercisesWalk ./tests/eddy/cmd/eddy/cli/.
#
# Usage: scripts/measure/exercises.sh [SEEDS] [EXERCISE...]   (needs jq)
#   SEEDS: seeds per scenario (0 or none: each scenario's own list)
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/build.sh >/dev/null
seeds=${1:-0}
shift || true
ids=("$@")
if [ ${#ids[@]} -eq 0 ]; then
	mapfile -t ids < <(bin/eddy exercises --json | jq -r '.exercises[].id')
fi
out=$(mktemp -d "${TMPDIR:-/tmp}/eddy-exercises-XXXXXX")
seedflag=()
[ "$seeds" -gt 0 ] && seedflag=(--seeds "$seeds")
total=0
for id in "${ids[@]}"; do
	ex=$(bin/eddy exercises --json "$id")
	ref=$(jq -r '.reference.bin' <<<"$ex")
	mapfile -t args < <(jq -r '.reference.args // [] | .[]' <<<"$ex")
	extra=()
	[ ${#args[@]} -gt 0 ] && extra=(-- "${args[@]}")
	start=$(date +%s.%N)
	verdict=PASS
	bin/eddy grade --exercise "$id" --bin "bin/$ref" "${seedflag[@]}" --no-progress --out "$out/$id" \
		--junit "$out/$id.xml" "${extra[@]}" >"$out/$id.txt" 2>&1 || verdict=FAIL
	secs=$(echo "$(date +%s.%N) - $start" | bc)
	total=$(echo "$total + $secs" | bc)
	runs=$(jq '[.scenarios[].runs[]] | length' "$out/$id/scorecard.json")
	printf '%-16s %-4s %3d runs %7.1f s  %s\n' "$id" "$verdict" "$runs" "$secs" "$(grep '^FAIL' "$out/$id.txt" | cut -c1-160 | tr '\n' ' ')"
done
printf 'total %.0f s; scorecards, JUnit files and runs under %s\n' "$total" "$out"
