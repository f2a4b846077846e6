#!/usr/bin/env bash
# Builds chatroom and the load generator, runs a fresh server on a loopback
# port, measures it with the load generator, and stops the server.
#
#   loadtest/bench.sh CLIENTS PHASES [LOADTEST FLAGS...]
#   loadtest/bench.sh 1000 0/s:30s,20/s:20s
#   loadtest/bench.sh 2000 5/s:20s -screens 100
set -euo pipefail
cd "$(dirname "$0")/.."
clients=${1:?clients}; phases=${2:?phases}; shift 2
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
go build -o "$dir/chatroom" . && go build -o "$dir/loadtest" ./loadtest
port=$((20000 + RANDOM % 20000))
"$dir/chatroom" --listen "127.0.0.1:$port" --data-dir "$dir/data" 2>"$dir/server.log" &
pid=$!
for _ in $(seq 50); do grep -q msg=listening "$dir/server.log" && break; sleep 0.1; done
"$dir/loadtest" -addr "127.0.0.1:$port" -n "$clients" -phases "$phases" -pid "$pid" "$@"
