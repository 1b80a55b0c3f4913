//! GPS tracks: cleaning fixes as phones send them, and storing them compactly.
//!
//! Phones report poor fixes (accuracy of hundreds of metres indoors) and spikes (a jump of a
//! kilometre and back within 15 s). Both are dropped before coverage sees them, and counted.
//! A city sends one fix every 15 s from thousands of officers, so fixes are stored as delta
//! varints: about 8 bytes a fix instead of a row each.

use crate::geodesy::metres_per_degree;
use serde::Serialize;

/// One fix as the phone sent it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawFix {
    /// Seconds since the Unix epoch.
    pub t: i64,
    pub lon: f64,
    pub lat: f64,
    /// Horizontal accuracy in metres (68 %), when the phone gave one.
    pub accuracy_m: Option<f64>,
}

/// What cleaning keeps out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CleaningRules {
    /// Fixes less accurate than this are dropped.
    pub max_accuracy_m: f64,
    /// A fix that implies a faster movement from the last kept fix is a spike.
    pub max_speed_mps: f64,
}

impl Default for CleaningRules {
    fn default() -> Self {
        // 50 m: worse cannot place an officer at a 30 m point; 15 m/s (54 km/h): a grid officer
        // walks or rides an e-bike, never faster than traffic.
        Self { max_accuracy_m: 50.0, max_speed_mps: 15.0 }
    }
}

/// How many fixes cleaning dropped, and why.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Dropped {
    pub inaccurate: usize,
    pub spikes: usize,
    /// Same time as a kept fix.
    pub duplicates: usize,
}

impl Dropped {
    pub fn total(&self) -> usize {
        self.inaccurate + self.spikes + self.duplicates
    }
}

/// Sorts fixes by time and drops inaccurate ones, repeated times and spikes.
pub fn clean(mut fixes: Vec<RawFix>, rules: CleaningRules) -> (Vec<RawFix>, Dropped) {
    let mut dropped = Dropped::default();
    fixes.sort_by_key(|f| f.t);
    let mut kept: Vec<RawFix> = Vec::with_capacity(fixes.len());
    for f in fixes {
        // NaN accuracy counts as inaccurate.
        if f.accuracy_m.is_some_and(|a| a.is_nan() || a > rules.max_accuracy_m) {
            dropped.inaccurate += 1;
            continue;
        }
        let Some(last) = kept.last() else {
            kept.push(f);
            continue;
        };
        if f.t == last.t {
            dropped.duplicates += 1;
            continue;
        }
        let (per_lat, per_lon) = metres_per_degree((f.lat + last.lat) / 2.0);
        let (dx, dy) = ((f.lon - last.lon) * per_lon, (f.lat - last.lat) * per_lat);
        let metres = (dx * dx + dy * dy).sqrt();
        if metres > rules.max_speed_mps * (f.t - last.t) as f64 {
            dropped.spikes += 1;
            continue;
        }
        kept.push(f);
    }
    (kept, dropped)
}

/// Positions are stored in units of 1e-7 degree (about 1 cm).
const SCALE: f64 = 1e7;

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_signed(out: &mut Vec<u8>, v: i64) {
    put_varint(out, ((v << 1) ^ (v >> 63)) as u64);
}

fn get_varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at)?;
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

fn get_signed(bytes: &[u8], at: &mut usize) -> Option<i64> {
    let v = get_varint(bytes, at)?;
    Some((v >> 1) as i64 ^ -((v & 1) as i64))
}

/// Encodes time-sorted fixes: a count, then per fix the deltas of time, lon and lat, and the
/// accuracy in whole metres (0 = unknown, otherwise metres + 1).
pub fn encode(fixes: &[RawFix]) -> Vec<u8> {
    let mut out = Vec::with_capacity(fixes.len() * 8 + 4);
    put_varint(&mut out, fixes.len() as u64);
    let (mut t, mut x, mut y) = (0i64, 0i64, 0i64);
    for f in fixes {
        let (fx, fy) = ((f.lon * SCALE).round() as i64, (f.lat * SCALE).round() as i64);
        put_signed(&mut out, f.t.wrapping_sub(t));
        put_signed(&mut out, fx - x);
        put_signed(&mut out, fy - y);
        put_varint(&mut out, f.accuracy_m.map_or(0, |a| a.round().clamp(0.0, 1e6) as u64 + 1));
        (t, x, y) = (f.t, fx, fy);
    }
    out
}

/// Decodes what [`encode`] wrote; `None` if the bytes are damaged.
pub fn decode(bytes: &[u8]) -> Option<Vec<RawFix>> {
    let mut at = 0;
    let n = get_varint(bytes, &mut at)?;
    // Every fix takes at least four bytes: a damaged count cannot make us allocate wildly.
    if n > (bytes.len() / 4) as u64 {
        return None;
    }
    let mut fixes = Vec::with_capacity(n as usize);
    let (mut t, mut x, mut y) = (0i64, 0i64, 0i64);
    for _ in 0..n {
        t = t.wrapping_add(get_signed(bytes, &mut at)?);
        x = x.wrapping_add(get_signed(bytes, &mut at)?);
        y = y.wrapping_add(get_signed(bytes, &mut at)?);
        let accuracy = get_varint(bytes, &mut at)?;
        fixes.push(RawFix {
            t,
            lon: x as f64 / SCALE,
            lat: y as f64 / SCALE,
            accuracy_m: accuracy.checked_sub(1).map(|a| a as f64),
        });
    }
    (at == bytes.len()).then_some(fixes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(n: usize) -> Vec<RawFix> {
        (0..n)
            .map(|i| RawFix {
                t: 1_794_787_200 + 15 * i as i64,
                lon: 116.4 + 0.0002 * i as f64,
                lat: 39.9 + 0.00005 * (i % 7) as f64,
                accuracy_m: Some(5.0 + (i % 3) as f64),
            })
            .collect()
    }

    #[test]
    fn encoding_round_trips_to_the_centimetre_in_a_few_bytes_a_fix() {
        let fixes = walk(1000);
        let bytes = encode(&fixes);
        assert!(bytes.len() < 9 * fixes.len(), "{} bytes for {} fixes", bytes.len(), fixes.len());
        let back = decode(&bytes).expect("decodes");
        assert_eq!(back.len(), fixes.len());
        for (a, b) in fixes.iter().zip(&back) {
            assert_eq!(a.t, b.t);
            assert!((a.lon - b.lon).abs() < 1e-7 && (a.lat - b.lat).abs() < 1e-7);
            assert_eq!(a.accuracy_m, b.accuracy_m);
        }
        assert_eq!(decode(&encode(&[])), Some(vec![]));
    }

    #[test]
    fn damaged_bytes_are_refused() {
        let bytes = encode(&walk(10));
        assert_eq!(decode(&bytes[..bytes.len() - 1]), None);
        assert_eq!(decode(&[0xff; 20]), None);
        assert_eq!(decode(&[]), None);
    }

    #[test]
    fn cleaning_drops_inaccurate_fixes_spikes_and_repeats() {
        let mut fixes = walk(20);
        fixes[5].accuracy_m = Some(120.0);
        fixes[9].lon += 0.05; // 4 km away and back within 15 s
        fixes.push(fixes[3]);
        fixes.reverse();
        let (kept, dropped) = clean(fixes, CleaningRules::default());
        assert_eq!(dropped, Dropped { inaccurate: 1, spikes: 1, duplicates: 1 });
        assert_eq!(kept.len(), 18);
        assert!(kept.windows(2).all(|w| w[0].t < w[1].t));
    }
}
