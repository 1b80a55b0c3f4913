//! China's offset coordinate systems, to and from WGS-84.
//!
//! - **GCJ-02** (国测局坐标, "Mars coordinates"): what Gaode/AMap, Tencent and most Chinese phone
//!   maps use. It is a published, deliberately non-linear shift of WGS-84 over mainland China.
//! - **BD-09** (百度坐标): Baidu's further rotation and offset of GCJ-02.
//!
//! The forward formulas are the de-facto public ones; their inverses have no closed form, so
//! `*_to_wgs84` iterate the forward formula until it lands on the given position (to 1e-12°,
//! far below a millimetre). Positions outside China's rough bounding box are left as they are,
//! as every implementation of the forward formula does.

use geo::Coord;

/// Krasovsky 1940, the ellipsoid the GCJ-02 formula is written on.
const A: f64 = 6_378_245.0;
const EE: f64 = 0.006_693_421_622_965_943;
const X_PI: f64 = std::f64::consts::PI * 3000.0 / 180.0;

/// Whether GCJ-02 applies here (the rough mainland box the formula's users agree on).
pub fn in_china(c: Coord<f64>) -> bool {
    (72.004..=137.8347).contains(&c.x) && (0.8293..=55.8271).contains(&c.y)
}

fn shift_lat(x: f64, y: f64) -> f64 {
    use std::f64::consts::PI;
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    r
}

fn shift_lon(x: f64, y: f64) -> f64 {
    use std::f64::consts::PI;
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    r
}

/// WGS-84 → GCJ-02 (the published forward formula).
pub fn wgs84_to_gcj02(c: Coord<f64>) -> Coord<f64> {
    if !in_china(c) {
        return c;
    }
    let (x, y) = (c.x - 105.0, c.y - 35.0);
    let rad = c.y.to_radians();
    let magic = 1.0 - EE * rad.sin() * rad.sin();
    let sqrt_magic = magic.sqrt();
    let d_lat = shift_lat(x, y) * 180.0 / ((A * (1.0 - EE)) / (magic * sqrt_magic) * std::f64::consts::PI);
    let d_lon = shift_lon(x, y) * 180.0 / (A / sqrt_magic * rad.cos() * std::f64::consts::PI);
    Coord { x: c.x + d_lon, y: c.y + d_lat }
}

/// GCJ-02 → BD-09 (Baidu's published formula).
pub fn gcj02_to_bd09(c: Coord<f64>) -> Coord<f64> {
    let z = (c.x * c.x + c.y * c.y).sqrt() + 0.000_02 * (c.y * X_PI).sin();
    let theta = c.y.atan2(c.x) + 0.000_003 * (c.x * X_PI).cos();
    Coord { x: z * theta.cos() + 0.0065, y: z * theta.sin() + 0.006 }
}

/// WGS-84 → BD-09.
pub fn wgs84_to_bd09(c: Coord<f64>) -> Coord<f64> {
    if !in_china(c) {
        return c;
    }
    gcj02_to_bd09(wgs84_to_gcj02(c))
}

/// The position whose image under `forward` is `target`, by fixed-point iteration (the shifts
/// change slowly with position, so each step gains several digits).
fn invert(target: Coord<f64>, forward: impl Fn(Coord<f64>) -> Coord<f64>) -> Coord<f64> {
    let mut guess = target;
    for _ in 0..30 {
        let image = forward(guess);
        let (dx, dy) = (image.x - target.x, image.y - target.y);
        guess = Coord { x: guess.x - dx, y: guess.y - dy };
        if dx.abs() < 1e-12 && dy.abs() < 1e-12 {
            break;
        }
    }
    guess
}

/// GCJ-02 → WGS-84: the exact inverse of [`wgs84_to_gcj02`], by iteration.
pub fn gcj02_to_wgs84(c: Coord<f64>) -> Coord<f64> {
    if !in_china(c) {
        return c;
    }
    invert(c, wgs84_to_gcj02)
}

/// BD-09 → GCJ-02: the exact inverse of [`gcj02_to_bd09`], by iteration.
pub fn bd09_to_gcj02(c: Coord<f64>) -> Coord<f64> {
    invert(c, gcj02_to_bd09)
}

/// BD-09 → WGS-84.
pub fn bd09_to_wgs84(c: Coord<f64>) -> Coord<f64> {
    if !in_china(c) {
        return c;
    }
    gcj02_to_wgs84(bd09_to_gcj02(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn distance_m(a: Coord<f64>, b: Coord<f64>) -> f64 {
        crate::geodesy::distance_m(a.into(), b.into())
    }

    const BEIJING: Coord<f64> = Coord { x: 116.404, y: 39.915 };

    fn close(a: Coord<f64>, b: (f64, f64), degrees: f64) -> bool {
        (a.x - b.0).abs() <= degrees && (a.y - b.1).abs() <= degrees
    }

    /// Reference pairs published with the widely used coordtransform libraries (wandergis'
    /// README: wgs84togcj02, gcj02tobd09, bd09togcj02, wgs84tobd09 of (116.404, 39.915)).
    #[test]
    fn the_forward_formulas_match_published_reference_pairs() {
        assert!(close(wgs84_to_gcj02(BEIJING), (116.41024449916938, 39.91640428150164), 1e-12));
        assert!(close(gcj02_to_bd09(BEIJING), (116.41036949371029, 39.92133699351021), 1e-12));
        assert!(close(wgs84_to_bd09(BEIJING), (116.41662724378733, 39.922699552216216), 1e-12));
        // Their one-step approximate inverse of BD-09; ours is exact, so it agrees to a metre.
        let approximate = Coord { x: 116.39762729119315, y: 39.90865673957631 };
        assert!(distance_m(bd09_to_gcj02(BEIJING), approximate) < 1.0);
    }

    #[test]
    fn round_trips_across_china_stay_far_under_half_a_metre() {
        let mut worst_gcj: f64 = 0.0;
        let mut worst_bd: f64 = 0.0;
        let mut lon = 73.5;
        while lon < 135.0 {
            let mut lat = 18.5;
            while lat < 53.5 {
                let wgs = Coord { x: lon, y: lat };
                let gcj = wgs84_to_gcj02(wgs);
                assert!(distance_m(gcj, wgs) > 1.0, "GCJ-02 moves {wgs:?}");
                worst_gcj = worst_gcj.max(distance_m(gcj02_to_wgs84(gcj), wgs));
                worst_bd = worst_bd.max(distance_m(bd09_to_wgs84(wgs84_to_bd09(wgs)), wgs));
                lat += 0.37;
            }
            lon += 0.41;
        }
        assert!(worst_gcj < 0.001, "GCJ-02 round trip: {worst_gcj} m");
        assert!(worst_bd < 0.001, "BD-09 round trip: {worst_bd} m");
    }

    #[test]
    fn positions_outside_china_are_left_as_they_are() {
        for c in [Coord { x: -0.1246, y: 51.5007 }, Coord { x: 139.7, y: 35.7 }, Coord { x: 151.2, y: -33.9 }] {
            assert_eq!(wgs84_to_gcj02(c), c);
            assert_eq!(gcj02_to_wgs84(c), c);
            assert_eq!(wgs84_to_bd09(c), c);
            assert_eq!(bd09_to_wgs84(c), c);
        }
    }
}
