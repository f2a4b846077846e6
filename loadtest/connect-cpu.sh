#!/usr/bin/env bash
# Compares what two builds of chatroom spend to let clients in: for each
# round, each build in turn gets a fresh data directory and N keyed
# clients connecting, and the server's CPU from its start until all of
# them see their first screen is read from /proc (in hundredths of a
# second). Server CPU is steadier on these machines than the time to
# connect, which the load generator's share of the two cores blurs.
#
#   loadtest/connect-cpu.sh OLD_REV [CLIENTS [ROUNDS]]
#   loadtest/connect-cpu.sh HEAD~1 1000 4
set -euo pipefail
cd "$(dirname "$0")/.."
old=${1:?old revision}; clients=${2:-1000}; rounds=${3:-4}
dir=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; git worktree remove --force "$dir/old-src" 2>/dev/null || true; rm -rf "$dir"' EXIT
git worktree add -q --detach "$dir/old-src" "$old"
(cd "$dir/old-src" && go build -o "$dir/old" .)
go build -o "$dir/new" . && go build -o "$dir/loadtest" ./loadtest
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
declare -A sum=([old]=0 [new]=0)
for round in $(seq "$rounds"); do
	for which in old new; do
		port=$((20000 + RANDOM % 12000))
		"$dir/$which" --listen "127.0.0.1:$port" --data-dir "$dir/data-$which-$round" 2>"$dir/$which.log" &
		pid=$!
		for _ in $(seq 50); do grep -q msg=listening "$dir/$which.log" && break; sleep 0.1; done
		t0=$(ticks "$pid")
		took=$("$dir/loadtest" -addr "127.0.0.1:$port" -n "$clients" -phases 0/s:1s -screens 0 2>&1 |
			grep -o 'connected in [^ ]*' | head -1)
		t1=$(ticks "$pid")
		kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
		sum[$which]=$((sum[$which] + t1 - t0))
		echo "round $round, $which: server CPU $((t1 - t0)) (1/100 s), $took"
	done
done
echo "mean server CPU: old $((sum[old] / rounds)), new $((sum[new] / rounds)) (1/100 s)"
