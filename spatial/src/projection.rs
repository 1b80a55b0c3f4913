//! Map projections that surveying bureaus and web maps deliver coordinates in, back to
//! longitude/latitude.
//!
//! - **Transverse Mercator** (Gauss-Krüger, 高斯-克吕格): the CGCS2000 3° and 6° zones
//!   (EPSG:4491–4554) and UTM. Krüger's series to the fourth power of the third flattening
//!   (Karney 2011, eqs. 35–36), accurate to well under a millimetre within 4,000 km of the
//!   central meridian.
//! - **Web Mercator** (EPSG:3857) on its sphere of radius 6,378,137 m.

use geo::Coord;

/// An ellipsoid by semi-major axis (m) and inverse flattening.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ellipsoid {
    pub a: f64,
    pub inverse_flattening: f64,
}

/// CGCS2000's ellipsoid (its flattening differs from GRS 80's only in the 12th digit).
pub const CGCS2000: Ellipsoid = Ellipsoid { a: 6_378_137.0, inverse_flattening: 298.257_222_101 };
/// WGS-84's ellipsoid.
pub const WGS84: Ellipsoid = Ellipsoid { a: 6_378_137.0, inverse_flattening: 298.257_223_563 };

/// A Transverse Mercator projection with the origin on the equator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TransverseMercator {
    pub ellipsoid: Ellipsoid,
    pub central_meridian: f64,
    pub scale: f64,
    pub false_easting: f64,
    pub false_northing: f64,
}

struct Series {
    n: f64,
    rectifying_radius: f64,
    alpha: [f64; 4],
    beta: [f64; 4],
    delta: [f64; 4],
}

fn series(e: Ellipsoid) -> Series {
    let f = 1.0 / e.inverse_flattening;
    let n = f / (2.0 - f);
    let (n2, n3, n4) = (n * n, n * n * n, n * n * n * n);
    Series {
        n,
        rectifying_radius: e.a / (1.0 + n) * (1.0 + n2 / 4.0 + n4 / 64.0),
        alpha: [
            n / 2.0 - 2.0 * n2 / 3.0 + 5.0 * n3 / 16.0 + 41.0 * n4 / 180.0,
            13.0 * n2 / 48.0 - 3.0 * n3 / 5.0 + 557.0 * n4 / 1440.0,
            61.0 * n3 / 240.0 - 103.0 * n4 / 140.0,
            49_561.0 * n4 / 161_280.0,
        ],
        beta: [
            n / 2.0 - 2.0 * n2 / 3.0 + 37.0 * n3 / 96.0 - n4 / 360.0,
            n2 / 48.0 + n3 / 15.0 - 437.0 * n4 / 1440.0,
            17.0 * n3 / 480.0 - 37.0 * n4 / 840.0,
            4397.0 * n4 / 161_280.0,
        ],
        delta: [
            2.0 * n - 2.0 * n2 / 3.0 - 2.0 * n3 + 116.0 * n4 / 45.0,
            7.0 * n2 / 3.0 - 8.0 * n3 / 5.0 - 227.0 * n4 / 45.0,
            56.0 * n3 / 15.0 - 136.0 * n4 / 35.0,
            4279.0 * n4 / 630.0,
        ],
    }
}

impl TransverseMercator {
    /// A CGCS2000 Gauss-Krüger zone: scale 1, false easting 500 km plus the zone number in
    /// front where the EPSG definition puts it there.
    pub fn gauss_kruger(central_meridian: f64, false_easting: f64) -> Self {
        Self { ellipsoid: CGCS2000, central_meridian, scale: 1.0, false_easting, false_northing: 0.0 }
    }

    /// Longitude/latitude (degrees) to easting/northing (metres).
    pub fn forward(&self, lonlat: Coord<f64>) -> Coord<f64> {
        let s = series(self.ellipsoid);
        let phi = lonlat.y.to_radians();
        let dlambda = (lonlat.x - self.central_meridian).to_radians();
        let k = 2.0 * s.n.sqrt() / (1.0 + s.n);
        let t = (phi.sin().atanh() - k * (k * phi.sin()).atanh()).sinh();
        let xi_p = t.atan2(dlambda.cos());
        let eta_p = (dlambda.sin() / (1.0 + t * t).sqrt()).atanh();
        let (mut xi, mut eta) = (xi_p, eta_p);
        for (j, a) in s.alpha.iter().enumerate() {
            let m = 2.0 * (j + 1) as f64;
            xi += a * (m * xi_p).sin() * (m * eta_p).cosh();
            eta += a * (m * xi_p).cos() * (m * eta_p).sinh();
        }
        let ka = self.scale * s.rectifying_radius;
        Coord { x: self.false_easting + ka * eta, y: self.false_northing + ka * xi }
    }

    /// Easting/northing (metres) to longitude/latitude (degrees).
    pub fn inverse(&self, en: Coord<f64>) -> Coord<f64> {
        let s = series(self.ellipsoid);
        let ka = self.scale * s.rectifying_radius;
        let xi = (en.y - self.false_northing) / ka;
        let eta = (en.x - self.false_easting) / ka;
        let (mut xi_p, mut eta_p) = (xi, eta);
        for (j, b) in s.beta.iter().enumerate() {
            let m = 2.0 * (j + 1) as f64;
            xi_p -= b * (m * xi).sin() * (m * eta).cosh();
            eta_p -= b * (m * xi).cos() * (m * eta).sinh();
        }
        let chi = (xi_p.sin() / eta_p.cosh()).asin();
        let mut phi = chi;
        for (j, d) in s.delta.iter().enumerate() {
            phi += d * (2.0 * (j + 1) as f64 * chi).sin();
        }
        let lambda = eta_p.sinh().atan2(xi_p.cos());
        Coord { x: self.central_meridian + lambda.to_degrees(), y: phi.to_degrees() }
    }
}

const WEB_MERCATOR_RADIUS: f64 = 6_378_137.0;

/// Web Mercator metres (EPSG:3857) to longitude/latitude.
pub fn web_mercator_inverse(xy: Coord<f64>) -> Coord<f64> {
    Coord { x: (xy.x / WEB_MERCATOR_RADIUS).to_degrees(), y: (xy.y / WEB_MERCATOR_RADIUS).sinh().atan().to_degrees() }
}

/// Longitude/latitude to Web Mercator metres.
pub fn web_mercator_forward(lonlat: Coord<f64>) -> Coord<f64> {
    Coord {
        x: WEB_MERCATOR_RADIUS * lonlat.x.to_radians(),
        y: WEB_MERCATOR_RADIUS * (lonlat.y.to_radians() / 2.0 + std::f64::consts::FRAC_PI_4).tan().ln(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snyder_worked_example_on_clarke_1866() {
        // Snyder, "Map Projections: A Working Manual" (USGS PP 1395), p. 269: φ 40°30′N,
        // λ 73°30′W, λ0 75°W, k0 0.9996 → x 127,106.5 m, y 4,484,124.4 m.
        let tm = TransverseMercator {
            ellipsoid: Ellipsoid { a: 6_378_206.4, inverse_flattening: 294.978_698_2 },
            central_meridian: -75.0,
            scale: 0.9996,
            false_easting: 0.0,
            false_northing: 0.0,
        };
        let xy = tm.forward(Coord { x: -73.5, y: 40.5 });
        assert!((xy.x - 127_106.5).abs() < 0.1 && (xy.y - 4_484_124.4).abs() < 0.1, "{xy:?}");
        let back = tm.inverse(xy);
        assert!((back.x + 73.5).abs() < 1e-9 && (back.y - 40.5).abs() < 1e-9, "{back:?}");
    }

    #[test]
    fn gauss_kruger_round_trips_across_a_zone_below_a_millimetre() {
        // EPSG:4547, CGCS2000 3° zone at 114°E, and its 6° neighbour with the zone number in front.
        for tm in
            [TransverseMercator::gauss_kruger(114.0, 500_000.0), TransverseMercator::gauss_kruger(117.0, 20_500_000.0)]
        {
            for i in 0..=40 {
                for j in 0..=20 {
                    let p = Coord { x: tm.central_meridian - 3.0 + 0.15 * f64::from(j), y: 1.0 * f64::from(i) + 10.0 };
                    let en = tm.forward(p);
                    let back = tm.inverse(en);
                    let again = tm.forward(back);
                    assert!((again.x - en.x).hypot(again.y - en.y) < 1e-3, "{p:?}");
                }
            }
        }
    }

    #[test]
    fn web_mercator_matches_its_definition() {
        // The edge of the square world: 85.0511287798° at 20,037,508.34 m.
        let edge = web_mercator_forward(Coord { x: 180.0, y: 85.051_128_779_806_6 });
        assert!((edge.x - 20_037_508.342_789_244).abs() < 1e-6 && (edge.y - 20_037_508.342_789_244).abs() < 1e-3);
        let back = web_mercator_inverse(Coord { x: 12_958_034.0, y: 4_852_834.0 });
        let again = web_mercator_forward(back);
        assert!((again.x - 12_958_034.0).abs() < 1e-6 && (again.y - 4_852_834.0).abs() < 1e-6);
    }
}

/// A seven-parameter (Helmert) datum shift to WGS-84, as a `.prj`'s `TOWGS84[…]` gives it:
/// translations in metres, rotations in arc-seconds (the position-vector convention, EPSG
/// method 9606) and a scale in parts per million. Beijing 1954 and Xian 1980 reach WGS-84 only
/// through such a shift, with parameters each city surveys for itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Helmert {
    pub dx: f64,
    pub dy: f64,
    pub dz: f64,
    pub rx: f64,
    pub ry: f64,
    pub rz: f64,
    pub ppm: f64,
}

impl Helmert {
    /// Applies the shift to earth-centred coordinates (metres).
    pub fn apply(&self, [x, y, z]: [f64; 3]) -> [f64; 3] {
        let radians = |seconds: f64| (seconds / 3600.0).to_radians();
        let (rx, ry, rz) = (radians(self.rx), radians(self.ry), radians(self.rz));
        let m = 1.0 + self.ppm * 1e-6;
        [self.dx + m * (x - rz * y + ry * z), self.dy + m * (rz * x + y - rx * z), self.dz + m * (-ry * x + rx * y + z)]
    }

    /// A longitude/latitude on `ellipsoid` (the file's datum) as WGS-84 longitude/latitude; the
    /// height is taken as zero (grids are drawn on the ground).
    pub fn to_wgs84(&self, ellipsoid: Ellipsoid, lonlat: Coord<f64>) -> Coord<f64> {
        geodetic(WGS84, self.apply(geocentric(ellipsoid, lonlat)))
    }
}

/// Earth-centred, earth-fixed coordinates of a longitude/latitude at height zero.
pub fn geocentric(e: Ellipsoid, lonlat: Coord<f64>) -> [f64; 3] {
    let f = 1.0 / e.inverse_flattening;
    let e2 = f * (2.0 - f);
    let (lon, lat) = (lonlat.x.to_radians(), lonlat.y.to_radians());
    let n = e.a / (1.0 - e2 * lat.sin().powi(2)).sqrt();
    [n * lat.cos() * lon.cos(), n * lat.cos() * lon.sin(), n * (1.0 - e2) * lat.sin()]
}

/// The longitude/latitude of earth-centred coordinates (Bowring's start, then iterated to
/// below a micro-arc-second).
pub fn geodetic(e: Ellipsoid, [x, y, z]: [f64; 3]) -> Coord<f64> {
    let f = 1.0 / e.inverse_flattening;
    let e2 = f * (2.0 - f);
    let p = x.hypot(y);
    let mut lat = (z / (p * (1.0 - e2))).atan();
    for _ in 0..10 {
        let n = e.a / (1.0 - e2 * lat.sin().powi(2)).sqrt();
        let height = p / lat.cos() - n;
        let next = (z / (p * (1.0 - e2 * n / (n + height)))).atan();
        let done = (next - lat).abs() < 1e-12;
        lat = next;
        if done {
            break;
        }
    }
    Coord { x: y.atan2(x).to_degrees(), y: lat.to_degrees() }
}

#[cfg(test)]
mod helmert_tests {
    use super::*;

    #[test]
    fn the_epsg_guidance_example_of_a_position_vector_shift() {
        // IOGP Guidance Note 7-2, "Position Vector transformation" (WGS 72 → WGS 84).
        let shift = Helmert { dx: 0.0, dy: 0.0, dz: 4.5, rx: 0.0, ry: 0.0, rz: 0.554, ppm: 0.219 };
        let [x, y, z] = shift.apply([3_657_660.66, 255_768.55, 5_201_382.11]);
        assert!((x - 3_657_660.78).abs() < 0.01 && (y - 255_778.43).abs() < 0.01 && (z - 5_201_387.75).abs() < 0.01);
    }

    #[test]
    fn geocentric_and_back_on_the_krasovsky_ellipsoid() {
        let krasovsky = Ellipsoid { a: 6_378_245.0, inverse_flattening: 298.3 };
        let beijing = Coord { x: 116.391, y: 39.907 };
        let back = geodetic(krasovsky, geocentric(krasovsky, beijing));
        assert!((back.x - beijing.x).abs() < 1e-10 && (back.y - beijing.y).abs() < 1e-10, "{back:?}");
        // No shift between identical ellipsoids leaves a position where it was.
        let none = Helmert { dx: 0.0, dy: 0.0, dz: 0.0, rx: 0.0, ry: 0.0, rz: 0.0, ppm: 0.0 };
        let same = none.to_wgs84(WGS84, beijing);
        assert!((same.x - beijing.x).abs() < 1e-10 && (same.y - beijing.y).abs() < 1e-10);
        // EPSG's "Beijing 1954 to WGS 84 (1)" (transformation 1224: 15.8, -154.4, -82.3 m) moves
        // Beijing by tens of metres: why a Beijing 1954 file is never taken as WGS-84.
        let epsg_1224 = Helmert { dx: 15.8, dy: -154.4, dz: -82.3, ..none };
        let moved = epsg_1224.to_wgs84(krasovsky, beijing);
        let metres = ((moved.x - beijing.x) * 85_390.0).hypot((moved.y - beijing.y) * 111_000.0);
        assert!((50.0..300.0).contains(&metres), "{metres} m");
    }
}
