#!/usr/bin/env bash
# Address search (地址库) at the scale of a district's door plates: N addresses (default 100,000:
# door plates, building units and places recombined from Dongcheng's road and compound names),
# imported into the demo city on the embedded SQLite file with `gridwatch import addresses`, then
# 1,000 queries as callers say them (part of the address, one character misheard, full-width
# digits, Chinese numerals) sent one at a time to `GET /api/v1/addresses` over HTTP; beside it in
# the same run, PostgreSQL on the same addresses and queries: pg_trgm's word_similarity with a GIN
# trigram index, and LIKE '%…%' (which the same index serves); each timed inside the database,
# without client or network.
# Prints p50/p99/max per query and how often the address a query was made from comes first.
#   bash bench/addresses.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
if ! dpkg-query -W -f='${Status}' postgresql-15-postgis-3 2>/dev/null | grep -q "install ok installed"; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15-postgis-3 >/dev/null
fi
pg_isready -q -h 127.0.0.1 || pg_ctlcluster --skip-systemctl-redirect 15 main start
url=${GRIDWATCH_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
base=${url%%\?*}
bench_url="${base%/*}/gw_bench_addresses${url#"$base"}"
binary=${GRIDWATCH_BIN:-}
if [ -z "$binary" ]; then
  cargo build -q --release --locked -p gridwatch
  binary=target/release/gridwatch
fi
work=$(mktemp -d)
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  rm -rf "$work"
  psql "$url" -qAtc "DROP DATABASE IF EXISTS gw_bench_addresses" >/dev/null 2>&1 || true
}
trap cleanup EXIT

python3 bench/address_search.py generate "$work" "$n"

echo "== gridwatch (SQLite): import $n addresses"
"$binary" serve --demo --listen 127.0.0.1:18091 --database-url "sqlite://$work/bench.db" \
  --rate-limit-per-token 100000000 --rate-limit-per-ip 100000000 > "$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 120); do grep -q "listening on" "$work/serve.log" && break; sleep 0.5; done
grep -q "listening on" "$work/serve.log" || { cat "$work/serve.log"; exit 1; }
# The admin's token: the generated addresses spread past the demo district, and a district
# dispatcher sees only those inside it.
token=$(awk '$1 == "demo" && / admin / {for (i = 1; i <= NF; i++) if ($i ~ /^gw_/) print $i}' "$work/serve.log" | head -1)
start=$(date +%s.%N)
"$binary" import addresses --database-url "sqlite://$work/bench.db" --map code=MPBM,name=DZQC,kind=LX,lon=X,lat=Y \
  "$work/addresses.csv" | sed 's/^/  /'
echo "  import took $(echo "$(date +%s.%N) - $start" | bc) s"
python3 bench/address_search.py gridwatch "$work" http://127.0.0.1:18091 "$token"
echo "  server resident memory: $(ps -o rss= -p "$server" | awk '{printf "%.0f MiB", $1 / 1024}')"
kill "$server"; wait "$server" 2>/dev/null || true; server=""

echo "== PostgreSQL: the same $n addresses and queries"
psql "$url" -qAtc "DROP DATABASE IF EXISTS gw_bench_addresses" && psql "$url" -qAtc "CREATE DATABASE gw_bench_addresses"
psql "$bench_url" -v ON_ERROR_STOP=1 -qAt <<SQL
CREATE EXTENSION pg_trgm;
CREATE TABLE addresses (code text PRIMARY KEY, name text NOT NULL, kind text, lon double precision, lat double precision);
\copy addresses FROM '$work/addresses.csv' WITH (FORMAT csv, HEADER true)
CREATE INDEX addresses_name_trgm ON addresses USING gin (name gin_trgm_ops);
ANALYZE addresses;
SQL
python3 bench/address_search.py postgres "$work" "$bench_url"
