#!/usr/bin/env bash
# HTTP throughput on loopback with wrk (Debian's), bounded in time: `GET /api/v1/locate` and
# `POST /api/v1/problems` (intake, acknowledged only after its commit) against the demo city on
# PostGIS, then the same on the embedded SQLite file. Prints requests/s and latency percentiles.
#   bash bench/http.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
connections=${2:-32}
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
pg_isready -q -h 127.0.0.1 || pg_ctlcluster --skip-systemctl-redirect 15 main start
url=${GRIDWATCH_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
cargo build -q --release --locked -p gridwatch
work=$(mktemp -d)
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  rm -rf "$work"
  psql "$url" -qAtc "DROP DATABASE IF EXISTS gw_bench_http" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# Reports at random places in Dongcheng, each a new case (no idempotency key).
cat > "$work/report.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local lon = 116.39 + math.random() * 0.04
  local lat = 39.90 + math.random() * 0.05
  local body = string.format('{"lon": %.6f, "lat": %.6f, "category": "C01001", "description": "bench", "source": "officer"}', lon, lat)
  return wrk.format(nil, nil, nil, body)
end
LUA

run() {
  local label=$1 database=$2
  target/release/gridwatch serve --demo --listen 127.0.0.1:18089 --database-url "$database" \
    --rate-limit-per-token 100000000 --rate-limit-per-ip 100000000 > "$work/serve.log" 2>&1 &
  server=$!
  for _ in $(seq 1 120); do grep -q "listening on" "$work/serve.log" && break; sleep 0.5; done
  local token
  token=$(awk '$1 == "demo" && $3 == "admin" {print $NF}' "$work/serve.log")
  echo "== $label: GET /api/v1/locate, $connections connections, ${seconds} s"
  wrk -t2 -c"$connections" -d"${seconds}s" --latency -H "Authorization: Bearer $token" \
    "http://127.0.0.1:18089/api/v1/locate?lon=116.41&lat=39.93" | grep -E "Requests/sec|  50%|  99%|Non-2xx"
  echo "== $label: POST /api/v1/problems, $connections connections, ${seconds} s"
  wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$work/report.lua" -H "Authorization: Bearer $token" \
    "http://127.0.0.1:18089/api/v1/problems" | grep -E "Requests/sec|  50%|  99%|Non-2xx"
  kill "$server"; wait "$server" 2>/dev/null || true; server=""
}

psql "$url" -qAtc "DROP DATABASE IF EXISTS gw_bench_http" && psql "$url" -qAtc "CREATE DATABASE gw_bench_http"
run "PostGIS" "${url%/*}/gw_bench_http"
run "SQLite" "sqlite://$work/bench.db"
