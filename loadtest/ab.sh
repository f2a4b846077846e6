#!/usr/bin/env bash
# Compares two builds of chatroom side by side: both run at once, each
# loaded by its own load generator with the same clients and phases, so
# that the machine's noise (a fifth between runs here) falls on both
# alike. Prints each round's CPU, delivery and connect figures for both.
# Use it to tell whether a change helps; use bench.sh for the figures
# against the floor.
#
#   loadtest/ab.sh OLD_REV [CLIENTS [PHASES [ROUNDS]]]
#   loadtest/ab.sh HEAD~1 500 0/s:8s,20/s:25s 3
set -euo pipefail
cd "$(dirname "$0")/.."
old=${1:?old revision}; clients=${2:-500}; phases=${3:-0/s:8s,20/s:25s}; rounds=${4:-3}
dir=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; git worktree remove --force "$dir/old-src" 2>/dev/null || true; rm -rf "$dir"' EXIT
git worktree add -q --detach "$dir/old-src" "$old"
(cd "$dir/old-src" && go build -o "$dir/old" .)
go build -o "$dir/new" . && go build -o "$dir/loadtest" ./loadtest
for round in $(seq "$rounds"); do
	# The build started second showed the later all-visible p99 in most
	# rounds, even against a build that differed in nothing that counts
	# here: the two take turns.
	order=(old new)
	[ $((round % 2)) = 0 ] && order=(new old)
	servers=()
	for which in "${order[@]}"; do
		port=$((20000 + RANDOM % 12000))
		"$dir/$which" --listen "127.0.0.1:$port" --data-dir "$dir/data-$which-$round" 2>"$dir/$which.log" &
		servers+=($!)
		pids=("${servers[@]}")
		echo "$!" >"$dir/$which.pid"
		for _ in $(seq 50); do grep -q msg=listening "$dir/$which.log" && break; sleep 0.1; done
		echo "$port" >"$dir/$which.port"
	done
	loads=()
	for which in "${order[@]}"; do
		"$dir/loadtest" -addr "127.0.0.1:$(cat "$dir/$which.port")" -n "$clients" -phases "$phases" \
			-pid "$(cat "$dir/$which.pid")" -screens 0 >"$dir/$which-$round.txt" 2>&1 &
		loads+=($!)
		pids=("${servers[@]}" "${loads[@]}")
	done
	wait "${loads[@]}"
	kill "${servers[@]}"; wait "${servers[@]}" 2>/dev/null || true
	echo "round $round"
	for which in old new; do
		printf '  %s: connected in %s; %s\n' "$which" \
			"$(grep -ho 'connected [0-9]* of [0-9]* in [^ ]*' "$dir/$which-$round.txt" | head -1 | sed 's/.* in //')" \
			"$(grep -h '^.*phase' "$dir/$which-$round.txt" | tail -1 | sed 's/^.*delivered, //')"
	done
done
