#!/usr/bin/env bash
# Measures chatroom against the floor (loadtest/floor: a plain SSH server
# that writes each line to every session) in the same run: builds both and
# the load generator, then for each round runs a fresh floor and a fresh
# chatroom on loopback ports, one after the other, loads each the same way,
# and prints the medians and chatroom's ratios to the floor.
#
#   loadtest/bench.sh CLIENTS PHASES [ROUNDS [LOADTEST FLAGS...]]
#   loadtest/bench.sh 1000 0/s:20s,20/s:20s 3 -screens 0
#   loadtest/bench.sh 1000 0/s:20s,20/s:20s 1 -guests
set -euo pipefail
cd "$(dirname "$0")/.."
clients=${1:?clients}; phases=${2:?phases}; rounds=${3:-1}; shift $(( $# < 3 ? $# : 3 ))
dir=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
go build -o "$dir/chatroom" . && go build -o "$dir/floor" ./loadtest/floor && go build -o "$dir/loadtest" ./loadtest

# measure NAME: start the server NAME, load it, stop it.
measure() {
	# Below the kernel's ephemeral ports (32768 up), which the clients of
	# the round before may still hold.
	local name=$1 round=$2 port=$((20000 + RANDOM % 12000))
	shift 2
	if [ "$name" = floor ]; then
		"$dir/floor" -listen "127.0.0.1:$port" 2>"$dir/$name.log" &
	else
		"$dir/chatroom" --listen "127.0.0.1:$port" --data-dir "$dir/data-$round" 2>"$dir/$name.log" &
	fi
	pid=$!
	for _ in $(seq 50); do grep -q msg=listening "$dir/$name.log" && break; sleep 0.1; done
	grep -q msg=listening "$dir/$name.log" || { echo "bench: $name did not start:" >&2; cat "$dir/$name.log" >&2; exit 1; }
	echo "== $name, round $round" >&2
	"$dir/loadtest" -addr "127.0.0.1:$port" -n "$clients" -phases "$phases" -pid "$pid" -json "$@" >"$dir/$name-$round.json"
	kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
}
floors=(); chats=()
for round in $(seq "$rounds"); do
	measure floor "$round" "$@"; floors+=("$dir/floor-$round.json")
	measure chatroom "$round" "$@"; chats+=("$dir/chatroom-$round.json")
done
"$dir/loadtest" -compare "$(IFS=,; echo "${floors[*]}")" "$(IFS=,; echo "${chats[*]}")"
