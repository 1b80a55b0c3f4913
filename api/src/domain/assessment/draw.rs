//! The seeded, stratified draw of a mock assessment (模拟测评): points are grouped by type and
//! district, each group gets its share of the sample, and each share is drawn at random within
//! its group. The same seed over the same points always draws the same sample.

use std::collections::BTreeMap;

/// A point that may be drawn, with the two keys it is stratified by.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub code: String,
    pub kind: String,
    /// The district (区) code: the first six digits of the point's grid code.
    pub district: String,
}

/// How many points to draw: `total` spread over every type and district in proportion to how
/// many points each has, or per type (`per_type`) spread over that type's districts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Quota {
    pub total: usize,
    pub per_type: BTreeMap<String, usize>,
}

/// SplitMix64: small, fast, and the same on every machine, so a published seed re-draws the
/// same sample anywhere (the office can show how a draw was made).
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0), without modulo bias.
    pub fn below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let x = self.next_u64();
            if x < zone {
                return x % n;
            }
        }
    }
}

/// Shares of `seats` in proportion to `sizes` by the Sainte-Laguë method, each share at most its
/// size; with `floor_one` every non-empty group first gets one (when there are seats enough), so
/// that no type or district is left out of the sample. Equal claims go to the group ranked first
/// by `rank` (lowest first): the draw passes random ranks, so that with fewer seats than groups
/// the key order does not decide.
pub fn apportion(sizes: &[usize], seats: usize, floor_one: bool, rank: &[u64]) -> Vec<usize> {
    let mut shares = vec![0usize; sizes.len()];
    let mut left = seats.min(sizes.iter().sum());
    let non_empty = sizes.iter().filter(|&&s| s > 0).count();
    if floor_one && left >= non_empty {
        for (share, &size) in shares.iter_mut().zip(sizes) {
            if size > 0 {
                *share = 1;
            }
        }
        left -= non_empty;
    }
    while left > 0 {
        // The next seat goes to the largest quotient size / (2·share + 1).
        let next = (0..sizes.len()).filter(|&i| shares[i] < sizes[i]).max_by(|&a, &b| {
            let q = |i: usize| sizes[i] as f64 / (2 * shares[i] + 1) as f64;
            q(a).total_cmp(&q(b)).then(rank[b].cmp(&rank[a]))
        });
        let Some(i) = next else { break };
        shares[i] += 1;
        left -= 1;
    }
    shares
}

/// Draws the sample: indices into `candidates`, grouped by stratum (type, then district) and in
/// code order within each. Strata are visited in key order and candidates sorted by code before
/// shuffling, so the draw does not depend on the order the points were loaded in.
pub fn draw(candidates: &[Candidate], quota: &Quota, seed: u64) -> Vec<usize> {
    let mut strata: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
    for (i, c) in candidates.iter().enumerate() {
        strata.entry((c.kind.as_str(), c.district.as_str())).or_default().push(i);
    }
    let keys: Vec<(&str, &str)> = strata.keys().copied().collect();
    let sizes: Vec<usize> = strata.values().map(Vec::len).collect();
    let mut rng = SplitMix64::new(seed);
    let rank: Vec<u64> = keys.iter().map(|_| rng.next_u64()).collect();
    let shares = if quota.per_type.is_empty() {
        apportion(&sizes, quota.total, true, &rank)
    } else {
        // Each type's quota over that type's districts; types without a quota are not drawn.
        let mut shares = vec![0; keys.len()];
        for (kind, &wanted) in &quota.per_type {
            let members: Vec<usize> = (0..keys.len()).filter(|&k| keys[k].0 == kind).collect();
            let of_kind: Vec<usize> = members.iter().map(|&k| sizes[k]).collect();
            let ranks: Vec<u64> = members.iter().map(|&k| rank[k]).collect();
            for (&k, share) in members.iter().zip(apportion(&of_kind, wanted, true, &ranks)) {
                shares[k] = share;
            }
        }
        shares
    };
    let mut drawn = Vec::new();
    for (members, share) in strata.into_values().zip(shares) {
        let mut members = members;
        members.sort_by(|&a, &b| candidates[a].code.cmp(&candidates[b].code));
        // A partial Fisher–Yates shuffle: the first `share` places are a uniform sample.
        for i in 0..share {
            let j = i + rng.below((members.len() - i) as u64) as usize;
            members.swap(i, j);
        }
        let mut chosen = members[..share].to_vec();
        chosen.sort_by(|&a, &b| candidates[a].code.cmp(&candidates[b].code));
        drawn.extend(chosen);
    }
    drawn
}

#[cfg(test)]
mod tests {
    use super::*;

    fn city() -> Vec<Candidate> {
        // 40 markets in district A, 20 in B, 20 back streets in A.
        let mut c = Vec::new();
        for (kind, district, n) in [("market", "110101", 40), ("market", "110102", 20), ("back_street", "110101", 20)] {
            for i in 0..n {
                c.push(Candidate {
                    code: format!("{kind}-{district}-{i:02}"),
                    kind: kind.into(),
                    district: district.into(),
                });
            }
        }
        c
    }

    fn count(c: &[Candidate], drawn: &[usize], kind: &str, district: &str) -> usize {
        drawn.iter().filter(|&&i| c[i].kind == kind && c[i].district == district).count()
    }

    #[test]
    fn shares_follow_the_sizes_of_the_strata() {
        let c = city();
        let drawn = draw(&c, &Quota { total: 16, ..Default::default() }, 7);
        assert_eq!(drawn.len(), 16);
        assert_eq!(count(&c, &drawn, "market", "110101"), 8);
        assert_eq!(count(&c, &drawn, "market", "110102"), 4);
        assert_eq!(count(&c, &drawn, "back_street", "110101"), 4);
        let mut unique = drawn;
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 16, "no point twice");
    }

    #[test]
    fn the_same_seed_draws_the_same_sample_whatever_the_load_order() {
        let c = city();
        let quota = Quota { total: 10, ..Default::default() };
        let codes = |c: &[Candidate], d: Vec<usize>| d.into_iter().map(|i| c[i].code.clone()).collect::<Vec<_>>();
        let first = codes(&c, draw(&c, &quota, 2026));
        let mut reversed = c.clone();
        reversed.reverse();
        assert_eq!(codes(&reversed, draw(&reversed, &quota, 2026)), first);
        assert_ne!(codes(&c, draw(&c, &quota, 2027)), first, "another seed, another sample");
    }

    #[test]
    fn every_stratum_is_represented_and_small_ones_are_not_overdrawn() {
        let sizes = [1, 50, 3];
        let rank = [0, 1, 2];
        assert_eq!(apportion(&sizes, 6, true, &rank), vec![1, 4, 1]);
        assert_eq!(apportion(&sizes, 100, true, &rank), vec![1, 50, 3], "never more than a stratum holds");
        assert_eq!(apportion(&[0, 5], 3, true, &rank[..2]), vec![0, 3]);
        assert_eq!(apportion(&[10, 10, 10], 2, true, &[5, 1, 3]), vec![0, 1, 1], "equal claims by rank");
        assert_eq!(apportion(&[10, 30, 10], 1, true, &rank), vec![0, 1, 0], "the largest first");
    }

    #[test]
    fn quotas_per_type_draw_only_those_types() {
        let c = city();
        let quota = Quota { total: 0, per_type: [("market".to_string(), 6)].into() };
        let drawn = draw(&c, &quota, 1);
        assert_eq!(count(&c, &drawn, "market", "110101"), 4);
        assert_eq!(count(&c, &drawn, "market", "110102"), 2);
        assert_eq!(count(&c, &drawn, "back_street", "110101"), 0);
    }

    #[test]
    fn draws_are_close_to_uniform_within_a_stratum() {
        // Each of 10 points should be drawn about 3 times in 10 draws of 3 from 10 seeds.
        let c: Vec<Candidate> =
            (0..10).map(|i| Candidate { code: format!("p{i}"), kind: "park".into(), district: "1".into() }).collect();
        let mut hits = [0usize; 10];
        for seed in 0..2000 {
            for i in draw(&c, &Quota { total: 3, ..Default::default() }, seed) {
                hits[i] += 1;
            }
        }
        assert!(hits.iter().all(|&h| (540..=660).contains(&h)), "{hits:?}");
    }
}
