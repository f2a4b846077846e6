#!/usr/bin/env bash
# Measures two chatroom nodes on one NATS against one node alone, in the
# same run, on this machine: builds chatroom, nats-server (from the module
# the tests use) and the load generator, then for each round loads a lone
# node with CLIENTS clients, and two nodes with half the clients each
# (client i dials node i mod 2, so messages cross between the nodes), and
# prints the medians and the two nodes' ratios to the one. The two nodes'
# CPU is summed; NATS's own is reported beside.
#
#   loadtest/cluster-bench.sh CLIENTS PHASES [ROUNDS [LOADTEST FLAGS...]]
#   loadtest/cluster-bench.sh 1000 0/s:15s,20/s:20s 3 -screens 0
set -euo pipefail
cd "$(dirname "$0")/.."
clients=${1:?clients}; phases=${2:?phases}; rounds=${3:-1}; shift $(( $# < 3 ? $# : 3 ))
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT
go build -o "$dir/chatroom" . && go build -o "$dir/loadtest" ./loadtest
go build -o "$dir/nats-server" github.com/nats-io/nats-server/v2

# Below the kernel's ephemeral ports (32768 up), which the clients of the
# round before may still hold.
port() { echo $((20000 + RANDOM % 12000)); }

# node NAME PORT [ARGS...]: starts a chatroom node, waits until it listens,
# and prints its PID.
node() {
	local name=$1 p=$2
	shift 2
	"$dir/chatroom" --listen "127.0.0.1:$p" --data-dir "$dir/data-$name" "$@" >/dev/null 2>"$dir/$name.log" &
	local pid=$!
	for _ in $(seq 100); do grep -q msg=listening "$dir/$name.log" && break; sleep 0.1; done
	grep -q msg=listening "$dir/$name.log" || { echo "bench: $name did not start:" >&2; cat "$dir/$name.log" >&2; exit 1; }
	echo "$pid"
}

# stop PID...: ends them and waits until they are gone (nodes were started
# in a subshell, so wait cannot).
stop() {
	for p in "$@"; do kill "$p" 2>/dev/null || true; done
	for p in "$@"; do while [ -e "/proc/$p" ]; do sleep 0.1; done; done
	pids=()
}

ones=(); twos=()
for round in $(seq "$rounds"); do
	echo "== one node, round $round" >&2
	p=$(port); a=$(node "one-$round" "$p"); pids+=("$a")
	"$dir/loadtest" -addr "127.0.0.1:$p" -n "$clients" -phases "$phases" -pid "$a" -json "$@" >"$dir/one-$round.json"
	stop "$a"; ones+=("$dir/one-$round.json")

	echo "== two nodes on NATS, round $round" >&2
	np=$(port)
	"$dir/nats-server" -a 127.0.0.1 -p "$np" -js -sd "$dir/nats-$round" 2>"$dir/nats-$round.log" &
	n=$!; pids+=("$n")
	for _ in $(seq 100); do grep -q "Server is ready" "$dir/nats-$round.log" && break; sleep 0.1; done
	pa=$(port); pb=$(port)
	a=$(node "a-$round" "$pa" --nats "nats://127.0.0.1:$np" --node-name a); pids+=("$a")
	b=$(node "b-$round" "$pb" --nats "nats://127.0.0.1:$np" --node-name b); pids+=("$b")
	"$dir/loadtest" -addr "127.0.0.1:$pa,127.0.0.1:$pb" -n "$clients" -phases "$phases" -pid "$a,$b" -aux-pid "$n" -json "$@" >"$dir/two-$round.json"
	stop "$a" "$b"; stop "$n"; twos+=("$dir/two-$round.json")
done
"$dir/loadtest" -compare -labels "one node,two nodes" "$(IFS=,; echo "${ones[*]}")" "$(IFS=,; echo "${twos[*]}")"
