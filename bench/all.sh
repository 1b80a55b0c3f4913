#!/usr/bin/env bash
# Every benchmark of assignment, in one command (docs/benchmarks.md explains the figures):
# criterion benches of the spatial kernels, then the peers side by side (PostGIS, GeoPandas,
# DuckDB) on generated cities of 1,000 and 50,000 grids and on the US counties, every answer
# checked against PostGIS, then the CLI end to end.
#   bash bench/all.sh
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== criterion: spatial kernels"
cargo bench -q -p spatial --bench kernels -- --noplot 2>&1 | grep -E "^[a-z]|time:|thrpt:"
echo; echo "== peers, generated city: 1,000 grids, 200,000 points"
bash bench/assign-peers.sh --grids 1000 --points 200000
echo; echo "== peers, generated city: 50,000 grids, 1,000,000 points"
bash bench/assign-peers.sh --grids 50000 --points 1000000
echo; echo "== peers, US counties (3,231 real boundaries), 1,000,000 points"
bash bench/assign-peers.sh --city counties --points 1000000
echo; echo "== gridwatch assign, CSV in and out"
bash bench/assign-throughput.sh 2000000
