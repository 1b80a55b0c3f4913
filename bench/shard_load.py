"""One Citus worker's load for a nation of gridwatch cities (docs/scaling.md).

Problems and tracks are distributed by jurisdiction: the district (区/县) code, the first six
digits of every grid code. Citus hashes the distribution column with PostgreSQL's own hash
function for its type (hashtext for text) into 32 shards by default, placed round-robin on the
workers. This script builds a seeded nation of districts with heavy-tailed workloads, hashes
their codes with the real hashtext() of the PostgreSQL given, and prints what the busiest worker
must absorb at peak, next to what one node was measured to commit (bench/http.sh).

    python3 bench/shard_load.py POSTGRES_URL [MEASURED_REPORTS_PER_S]

Every workload figure is a stated assumption (see ASSUMPTIONS); change them and rerun.
"""
import math
import random
import subprocess
import sys

ASSUMPTIONS = {
    "provinces": 31,
    "districts per province": (60, 120),  # uniform; about 2,800 county-level divisions in all
    "median reports per district per day": 300,
    "lognormal sigma of reports per district": 1.0,  # a few urban districts get 10x the median
    "peak hour / mean hour": 3.0,  # reports cluster in the morning patrol
    "writes per case (case, audit, about 5 workflow events)": 7,
    "median officers per district": 150,
    "lognormal sigma of officers per district": 0.8,
    "GPS fixes per officer per hour on duty (one per 30 s)": 120,
    "fixes per upload batch": 60,
    "hours on duty per day": 8,
    "bytes per stored fix (heap row ~100 B + GiST and time index ~50 B)": 150,
    "bytes per stored case with its events and audit": 4000,
    "shards (citus.shard_count default)": 32,
}


def nation(seed=2026):
    rng = random.Random(seed)
    lo, hi = ASSUMPTIONS["districts per province"]
    districts = []
    for p in range(ASSUMPTIONS["provinces"]):
        province = 11 + p if p < 5 else 21 + (p - 5) if p < 8 else 31 + (p - 8) if p < 15 else 41 + (p - 15)
        for d in range(rng.randint(lo, hi)):
            code = f"{province:02d}{1 + d // 20:02d}{1 + d % 20:02d}"
            reports = ASSUMPTIONS["median reports per district per day"] * math.exp(
                rng.gauss(0, ASSUMPTIONS["lognormal sigma of reports per district"]))
            officers = ASSUMPTIONS["median officers per district"] * math.exp(
                rng.gauss(0, ASSUMPTIONS["lognormal sigma of officers per district"]))
            districts.append((code, reports, officers))
    return districts


def hashtext(url, codes):
    """PostgreSQL's hashtext() of each code: the hash Citus places text distribution values by."""
    values = ",".join(f"('{c}')" for c in codes)
    out = subprocess.run(
        ["psql", url, "-qAt", "-F", ",", "-c", f"SELECT c, hashtext(c) FROM (VALUES {values}) v(c)"],
        check=True, capture_output=True, text=True).stdout
    return {c: int(h) for c, h in (line.split(",") for line in out.splitlines())}


def yearly_bytes(reports_per_day, officers_on_duty):
    fixes = officers_on_duty * ASSUMPTIONS["GPS fixes per officer per hour on duty (one per 30 s)"] \
        * ASSUMPTIONS["hours on duty per day"]
    per_day = fixes * ASSUMPTIONS["bytes per stored fix (heap row ~100 B + GiST and time index ~50 B)"] \
        + reports_per_day * ASSUMPTIONS["bytes per stored case with its events and audit"]
    return per_day * 365


def shard_of(h, shards):
    # Citus splits the int32 hash range into equal, consecutive ranges.
    return (h + 2**31) * shards // 2**32


def main():
    url = sys.argv[1]
    measured = float(sys.argv[2]) if len(sys.argv) > 2 else None
    shards = ASSUMPTIONS["shards (citus.shard_count default)"]
    districts = nation()
    hashes = hashtext(url, [c for c, _, _ in districts])
    per_shard = [[0.0, 0.0, 0] for _ in range(shards)]
    for code, reports, officers in districts:
        s = per_shard[shard_of(hashes[code], shards)]
        s[0] += reports
        s[1] += officers
        s[2] += 1
    reports_day = sum(r for _, r, _ in districts)
    officers = sum(o for _, _, o in districts)
    print("assumptions:")
    for k, v in ASSUMPTIONS.items():
        print(f"  {k}: {v}")
    print(f"nation: {len(districts)} districts, {reports_day:,.0f} reports/day, {officers:,.0f} officers on duty")

    def peak(reports_per_day, officers_on_duty):
        cases = reports_per_day / 24 * ASSUMPTIONS["peak hour / mean hour"] / 3600
        writes = cases * ASSUMPTIONS["writes per case (case, audit, about 5 workflow events)"]
        uploads = officers_on_duty * ASSUMPTIONS["GPS fixes per officer per hour on duty (one per 30 s)"] / 3600 \
            / ASSUMPTIONS["fixes per upload batch"]
        return cases, writes, uploads

    cases, writes, uploads = peak(reports_day, officers)
    print(f"nation at peak: {cases:,.0f} new reports/s, {writes:,.0f} row writes/s, {uploads:,.0f} track uploads/s")
    fixes_day = officers * ASSUMPTIONS["GPS fixes per officer per hour on duty (one per 30 s)"] * ASSUMPTIONS["hours on duty per day"]
    storage = yearly_bytes(reports_day, officers)
    print(f"nation per year: {reports_day * 365:,.0f} cases, {fixes_day * 365:,.0f} track fixes, {storage / 1e12:,.1f} TB")
    print()
    print(f"{'workers':>7} {'shards/worker':>13} {'busiest worker: reports/s':>26} {'row writes/s':>13} "
          f"{'track uploads/s':>16} {'TB/year':>8} {'max/mean':>9}" + (f" {'use of one node':>16}" if measured else ""))
    for workers in (1, 2, 4, 8, 16, 32):
        load = [[0.0, 0.0] for _ in range(workers)]
        for i, (r, o, _) in enumerate(per_shard):
            load[i % workers][0] += r  # round-robin placement
            load[i % workers][1] += o
        busiest = max(load, key=lambda x: x[0])
        c, w, u = peak(*busiest)
        mean = reports_day / workers
        heaviest = max(yearly_bytes(*x) for x in load)
        row = f"{workers:>7} {shards / workers:>13.1f} {c:>26,.1f} {w:>13,.0f} {u:>16,.1f} {heaviest / 1e12:>8.2f} {busiest[0] / mean:>9.2f}"
        if measured:
            row += f" {c / measured:>15.1%}"
        print(row)
    biggest = max(districts, key=lambda d: d[1])
    c, w, u = peak(biggest[1], biggest[2])
    print(f"\nthe busiest district alone ({biggest[0]}): {c:,.1f} reports/s at peak: a district never needs more "
          f"than one shard")


if __name__ == "__main__":
    main()
