#!/usr/bin/env bash
# Measures joining against a big names database, and what churn costs.
#
#   loadtest/names-bench.sh [SEEDED [VISITORS [ROUNDS]]]
#   loadtest/names-bench.sh 100000 1000 3
#
# 1. VISITORS (1000) new visitors, each with a key of its own, 32 dialling
#    at a time, join a server with an empty store and one whose store holds
#    SEEDED (100000) names (imported from a generated text file on its first
#    start), interleaved ROUNDS (1) times; prints the medians and the ratio.
# 2. Churn: a fresh server; 1,000 visitors to warm up, then three rounds of
#    2,000 fresh visitors, 20 at a time; the server's RSS after each round
#    (once it stops falling), and the database's size. CHURN_ONLY=1 runs
#    only this part.
set -euo pipefail
cd "$(dirname "$0")/.."
seeded=${1:-100000}; visitors=${2:-1000}; rounds=${3:-1}
dir=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
go build -o "$dir/chatroom" . && go build -o "$dir/loadtest" ./loadtest
"$dir/loadtest" -make-names "$seeded" >"$dir/seed-names"

# start DATA: run a server on a fresh loopback port with DATA; sets pid, port.
start() {
	port=$((20000 + RANDOM % 12000))
	"$dir/chatroom" --listen "127.0.0.1:$port" --data-dir "$1" 2>"$1.log" &
	pid=$!
	for _ in $(seq 600); do grep -q msg=listening "$1.log" && return; sleep 0.1; done
	echo "bench: the server did not start:" >&2; cat "$1.log" >&2; exit 1
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
# settled: the server's RSS once the memory the round freed has gone back
# to the kernel. Go does that after a collection, and an idle server's
# next one is the runtime's forced one, within two minutes: wait for RSS
# to fall by a third (or 150 s), then until it holds still for 15 s.
settled() {
	local peak now last
	peak=$(rss); now=$peak
	for _ in $(seq 30); do
		sleep 5; now=$(rss)
		[ $(( now * 3 )) -lt $(( peak * 2 )) ] && break
	done
	local still=0
	for _ in $(seq 24); do
		last=$now; sleep 5; now=$(rss)
		if [ $(( last - now )) -lt 128 ] && [ $(( now - last )) -lt 128 ]; then
			still=$((still + 1)); [ "$still" -ge 3 ] && break
		else
			still=0
		fi
	done
	echo "$now"
}

empties=(); fulls=()
for round in $(seq "$rounds"); do
	[ -n "${CHURN_ONLY:-}" ] && break
	for kind in empty seeded; do
		data="$dir/$kind-$round"; mkdir -p "$data"
		[ "$kind" = seeded ] && cp "$dir/seed-names" "$data/names"
		start "$data"
		echo "== $kind store, round $round" >&2
		"$dir/loadtest" -addr "127.0.0.1:$port" -n "$visitors" -parallel 32 -phases 0/s:1s -screens 0 \
			-prefix "v$round" -pid "$pid" -json >"$dir/$kind-$round.json"
		stop
		[ "$kind" = empty ] && empties+=("$dir/$kind-$round.json") || fulls+=("$dir/$kind-$round.json")
	done
done
[ -z "${CHURN_ONLY:-}" ] && "$dir/loadtest" -compare -labels "empty,$seeded names" "$(IFS=,; echo "${empties[*]}")" "$(IFS=,; echo "${fulls[*]}")" | head -6
[ -z "${CHURN_ONLY:-}" ] && echo "database with $seeded names: $(stat -c %s "$dir/seeded-1/names.db") bytes, $(( $(stat -c %s "$dir/seeded-1/names.db") / seeded )) a binding"

echo "== churn" >&2
data="$dir/churn"; mkdir -p "$data"
start "$data"
visit() { # PREFIX N
	"$dir/loadtest" -addr "127.0.0.1:$port" -n "$2" -parallel 20 -phases 0/s:1s -screens 0 -prefix "$1" -json >"$dir/$1.json"
	grep -o '"ConnectTotal":[0-9]*' "$dir/$1.json" | awk -F: '{printf "%.1f s", $2/1e9}'
}
echo "warm-up, 1000 visitors: $(visit warm 1000); RSS $(settled) KiB"
for r in 1 2 3; do
	echo "round $r, 2000 fresh visitors: $(visit "churn$r" 2000); RSS $(settled) KiB, database $(stat -c %s "$data/names.db") bytes (+wal $(stat -c %s "$data/names.db-wal" 2>/dev/null || echo 0))"
done
stop
