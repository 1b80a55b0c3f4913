#!/usr/bin/env bash
# HTTP throughput on loopback with wrk (Debian's), bounded in time: `GET /api/v1/locate` and
# `POST /api/v1/problems` (intake, acknowledged only after its commit) against the demo city on
# PostGIS, then the same on the embedded SQLite file. Prints requests/s and latency percentiles.
#   bash bench/http.sh [SECONDS] [CONNECTIONS]
# Two builds side by side in one run (before and after a change), each on a fresh database:
#   GRIDWATCH_BENCH_BINARIES="before=/tmp/gridwatch-old after=target/release/gridwatch" bash bench/http.sh
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
connections=${2:-32}
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
if ! dpkg-query -W -f='${Status}' postgresql-15-postgis-3 2>/dev/null | grep -q "install ok installed"; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15-postgis-3 >/dev/null
fi
pg_isready -q -h 127.0.0.1 || pg_ctlcluster --skip-systemctl-redirect 15 main start
# A Unix socket is cheaper than TCP for a database on the same machine: try
# GRIDWATCH_BENCH_POSTGRES_URL='postgres://postgres@localhost/postgres?host=/var/run/postgresql'.
url=${GRIDWATCH_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
base=${url%%\?*}
bench_url="${base%/*}/gw_bench_http${url#"$base"}"
binaries=${GRIDWATCH_BENCH_BINARIES:-}
if [ -z "$binaries" ]; then
  cargo build -q --release --locked -p gridwatch
  binaries="gridwatch=target/release/gridwatch"
fi
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
  local label=$1 database=$2 binary=$3
  "$binary" serve --demo --listen 127.0.0.1:18089 --database-url "$database" \
    --rate-limit-per-token 100000000 --rate-limit-per-ip 100000000 > "$work/serve.log" 2>&1 &
  server=$!
  for _ in $(seq 1 120); do grep -q "listening on" "$work/serve.log" && break; sleep 0.5; done
  grep -q "listening on" "$work/serve.log" || { cat "$work/serve.log"; exit 1; }
  local token
  # The admin's API token (gw_…), whatever else the demo's lines show (sign-ins, scopes).
  token=$(awk '$1 == "demo" && / admin / {for (i = 1; i <= NF; i++) if ($i ~ /^gw_/) print $i}' "$work/serve.log" | head -1)
  echo "== $label: GET /api/v1/locate, $connections connections, ${seconds} s"
  wrk -t2 -c"$connections" -d"${seconds}s" --latency -H "Authorization: Bearer $token" \
    "http://127.0.0.1:18089/api/v1/locate?lon=116.41&lat=39.93" | grep -E "Requests/sec|  50%|  99%|Non-2xx"
  echo "== $label: POST /api/v1/problems, $connections connections, ${seconds} s"
  wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$work/report.lua" -H "Authorization: Bearer $token" \
    "http://127.0.0.1:18089/api/v1/problems" | grep -E "Requests/sec|  50%|  99%|Non-2xx"
  kill "$server"; wait "$server" 2>/dev/null || true; server=""
}

# The limit for intake: the same PostgreSQL inserting the same rows (the case and its audit
# entry, one transaction per report) from pgbench, with as many clients, nothing else done.
cat > "$work/insert.sql" <<'SQL'
\set r random(1, 1000000)
BEGIN;
INSERT INTO problems (geom, category, description, source, grid_code, grid_version, responsible_unit, candidates, status,
  created_at, reported_by, category_name, kind, department, severity, time_limit, limit_unit, colour, nearby,
  likely_duplicates, point_code, criterion_id)
VALUES (ST_SetSRID(ST_MakePoint(116.39 + :r / 25000000.0, 39.90 + :r / 20000000.0), 4326), 'C01001', 'bench', 'officer',
  '110101001001001', 1, '东华门街道办事处', '[]', 'reported', now(), 'demo', '暴露垃圾', 'event', '环境卫生服务中心',
  'none', 2, 'working_hours', 'none', '[]', '[]', NULL, NULL) RETURNING id;
INSERT INTO audit_log (at, actor, remote, action, object, details)
VALUES (now(), 'demo', '127.0.0.1', 'problem.create', 'problem/' || :r, '{"grid_code":"110101001001001","source":"officer"}');
END;
SQL

for named in $binaries; do
  psql "$url" -qAtc "DROP DATABASE IF EXISTS gw_bench_http" && psql "$url" -qAtc "CREATE DATABASE gw_bench_http"
  run "PostGIS, ${named%%=*}" "$bench_url" "${named#*=}"
done
echo "== pgbench: the same rows inserted raw, $connections clients, ${seconds} s"
pgbench -n -c "$connections" -j 2 -T "$seconds" -f "$work/insert.sql" "$bench_url" 2>&1 |
  grep -E "^tps|latency average"
for named in $binaries; do
  rm -f "$work"/bench.db*
  run "SQLite, ${named%%=*}" "sqlite://$work/bench.db" "${named#*=}"
done
