//! Measures in metres on the WGS-84 ellipsoid, never in degrees.

use geo::orient::{Direction, Orient};
use geo::{Distance, Geodesic, GeodesicArea, MultiPolygon, Point};

/// Area in square metres (geodesic, on WGS-84).
///
/// On the ellipsoid a ring also encloses the rest of the Earth: rings are oriented first
/// (exteriors counter-clockwise), and each polygon counts its smaller side, so an overlay's
/// degenerate sliver measures about 0 m², not the 5.1e14 m² of the whole Earth.
pub fn area_m2(mp: &MultiPolygon<f64>) -> f64 {
    mp.orient(Direction::Default)
        .0
        .iter()
        .map(|p| {
            let a = p.geodesic_area_unsigned();
            a.min((EARTH_M2 - a).max(0.0))
        })
        .sum()
}

/// The surface of the WGS-84 ellipsoid.
const EARTH_M2: f64 = 510_065_621_724_088.4;

/// Distance in metres between two points (geodesic, on WGS-84).
pub fn distance_m(a: Point<f64>, b: Point<f64>) -> f64 {
    Geodesic.distance(a, b)
}

/// Metres per degree of latitude and of longitude near `lat` (a local projection for short distances).
pub fn metres_per_degree(lat: f64) -> (f64, f64) {
    let phi = lat.to_radians();
    let per_lat = 111_132.954 - 559.822 * (2.0 * phi).cos() + 1.175 * (4.0 * phi).cos();
    let per_lon = 111_412.84 * phi.cos() - 93.5 * (3.0 * phi).cos();
    (per_lat, per_lon)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn one_degree_cell_at_the_equator() {
        let cell = MultiPolygon(vec![
            polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 1., y: 1.), (x: 0., y: 1.), (x: 0., y: 0.)],
        ]);
        // 1°×1° at the equator is about 12,308 km² on WGS-84.
        assert!((area_m2(&cell) / 1e6 - 12_308.8).abs() < 5.0, "{}", area_m2(&cell));
        let d = distance_m(Point::new(116.4, 39.9), Point::new(116.4, 39.91));
        assert!((d - 1110.4).abs() < 1.0, "{d}");
        let mut clockwise = cell.clone();
        clockwise.0[0].exterior_mut(|r| r.0.reverse());
        assert!((area_m2(&clockwise) - area_m2(&cell)).abs() < 1.0, "orientation does not matter");
        let sliver = MultiPolygon(vec![
            polygon![(x: 116.4, y: 39.9), (x: 116.4, y: 40.0), (x: 116.4, y: 39.95), (x: 116.4, y: 39.9)],
        ]);
        assert!(area_m2(&sliver) < 1.0, "a degenerate ring has no area: {}", area_m2(&sliver));
        let (lat_m, lon_m) = metres_per_degree(0.0);
        assert!((lat_m - 110_574.0).abs() < 2.0 && (lon_m - 111_320.0).abs() < 2.0);
    }
}
