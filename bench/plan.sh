#!/usr/bin/env bash
# Weekly patrol plans on seeded generated districts: gridwatch's solver (regret insertion,
# 2-opt, Or-opt) beside the nearest-neighbour baseline, on the same instances, with distances on
# the ellipsoid and along a generated street network. Prints route
# lengths, stops covered and how much shorter our routes are.
# usage: bash bench/plan.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run -q --release -p spatial --example plan_week
