//! Well-Known Binary for the geometries gridwatch stores: how geometry crosses the database
//! boundary (`ST_GeomFromWKB($1, 4326)` / `ST_AsBinary(geom)` in PostGIS, a BLOB in SQLite).
//!
//! Reading also takes geometries with heights or measures — ISO WKB's Z, M and ZM types (1001,
//! 2001, 3001 …, as GDAL writes GeoPackages) and PostGIS's EWKB flags — and keeps x and y: grids,
//! points and routes are drawn on the ground.

use geo::{Coord, Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon};
use thiserror::Error;

const POINT: u32 = 1;
const LINESTRING: u32 = 2;
const POLYGON: u32 = 3;
const MULTIPOINT: u32 = 4;
const MULTILINESTRING: u32 = 5;
const MULTIPOLYGON: u32 = 6;

#[derive(Debug, Error, PartialEq)]
pub enum WkbError {
    #[error("WKB ends early")]
    Truncated,
    #[error("unsupported WKB geometry type {0}")]
    UnsupportedType(u32),
    #[error("unknown WKB byte order {0}")]
    ByteOrder(u8),
}

/// Encodes a multipolygon (little-endian).
pub fn multipolygon_to_wkb(mp: &MultiPolygon<f64>) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + mp.0.iter().map(|p| 9 + rings_len(p) * 16).sum::<usize>());
    header(&mut out, MULTIPOLYGON);
    out.extend_from_slice(&(mp.0.len() as u32).to_le_bytes());
    for poly in &mp.0 {
        write_polygon(&mut out, poly);
    }
    out
}

/// Encodes a point (little-endian).
pub fn point_to_wkb(p: Point<f64>) -> Vec<u8> {
    let mut out = Vec::with_capacity(21);
    header(&mut out, POINT);
    write_coord(&mut out, p.0);
    out
}

/// Encodes a point, line string, polygon or one of their multi-kinds (little-endian); other
/// kinds are written as the polygon or line string they stand for.
pub fn geometry_to_wkb(g: &Geometry<f64>) -> Vec<u8> {
    let mut out = Vec::new();
    write_geometry(&mut out, g);
    out
}

fn write_line(out: &mut Vec<u8>, ls: &LineString<f64>) {
    header(out, LINESTRING);
    out.extend_from_slice(&(ls.0.len() as u32).to_le_bytes());
    ls.0.iter().for_each(|c| write_coord(out, *c));
}

fn write_geometry(out: &mut Vec<u8>, g: &Geometry<f64>) {
    match g {
        Geometry::Point(p) => {
            header(out, POINT);
            write_coord(out, p.0);
        }
        Geometry::LineString(ls) => write_line(out, ls),
        Geometry::Line(l) => write_line(out, &LineString(vec![l.start, l.end])),
        Geometry::Polygon(p) => write_polygon(out, p),
        Geometry::Rect(r) => write_polygon(out, &r.to_polygon()),
        Geometry::Triangle(t) => write_polygon(out, &t.to_polygon()),
        Geometry::MultiPoint(mp) => {
            header(out, MULTIPOINT);
            out.extend_from_slice(&(mp.0.len() as u32).to_le_bytes());
            mp.0.iter().for_each(|p| write_geometry(out, &Geometry::Point(*p)));
        }
        Geometry::MultiLineString(mls) => {
            header(out, MULTILINESTRING);
            out.extend_from_slice(&(mls.0.len() as u32).to_le_bytes());
            mls.0.iter().for_each(|ls| write_line(out, ls));
        }
        Geometry::MultiPolygon(mp) => {
            header(out, MULTIPOLYGON);
            out.extend_from_slice(&(mp.0.len() as u32).to_le_bytes());
            mp.0.iter().for_each(|p| write_polygon(out, p));
        }
        Geometry::GeometryCollection(c) => {
            header(out, 7);
            out.extend_from_slice(&(c.0.len() as u32).to_le_bytes());
            c.0.iter().for_each(|g| write_geometry(out, g));
        }
    }
}

fn rings_len(p: &Polygon<f64>) -> usize {
    p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>()
}

fn header(out: &mut Vec<u8>, kind: u32) {
    out.push(1);
    out.extend_from_slice(&kind.to_le_bytes());
}

fn write_coord(out: &mut Vec<u8>, c: Coord<f64>) {
    out.extend_from_slice(&c.x.to_le_bytes());
    out.extend_from_slice(&c.y.to_le_bytes());
}

fn write_polygon(out: &mut Vec<u8>, poly: &Polygon<f64>) {
    header(out, POLYGON);
    let rings: Vec<&LineString<f64>> = std::iter::once(poly.exterior()).chain(poly.interiors()).collect();
    out.extend_from_slice(&(rings.len() as u32).to_le_bytes());
    for ring in rings {
        out.extend_from_slice(&(ring.0.len() as u32).to_le_bytes());
        for c in &ring.0 {
            write_coord(out, *c);
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    little: bool,
    /// Ordinates after x and y in the current geometry's coordinates (Z, M: read and dropped).
    extra: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], WkbError> {
        let end = self.pos.checked_add(N).ok_or(WkbError::Truncated)?;
        let slice = self.bytes.get(self.pos..end).ok_or(WkbError::Truncated)?;
        self.pos = end;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    fn u32(&mut self) -> Result<u32, WkbError> {
        let b = self.take::<4>()?;
        Ok(if self.little { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) })
    }

    fn f64(&mut self) -> Result<f64, WkbError> {
        let b = self.take::<8>()?;
        Ok(if self.little { f64::from_le_bytes(b) } else { f64::from_be_bytes(b) })
    }

    /// Reads a byte-order mark and a type code, and returns the 2D type: ISO's Z, M and ZM
    /// (+1000, +2000, +3000) and EWKB's flags set how many ordinates each coordinate carries
    /// beyond x and y (an EWKB SRID is skipped).
    fn header(&mut self) -> Result<u32, WkbError> {
        let [order] = self.take::<1>()?;
        self.little = match order {
            1 => true,
            0 => false,
            other => return Err(WkbError::ByteOrder(other)),
        };
        let code = self.u32()?;
        let (z, m, srid) = (code & 0x8000_0000 != 0, code & 0x4000_0000 != 0, code & 0x2000_0000 != 0);
        if srid {
            self.u32()?;
        }
        let iso = code & 0x0fff_ffff;
        let (kind, iso_extra) = match iso / 1000 {
            0 => (iso, 0),
            1 | 2 => (iso % 1000, 1),
            3 => (iso % 1000, 2),
            _ => return Err(WkbError::UnsupportedType(code)),
        };
        self.extra = iso_extra.max(usize::from(z) + usize::from(m));
        Ok(kind)
    }

    /// A count, checked against the bytes left so hostile input cannot force a huge allocation.
    fn count(&mut self, min_item_bytes: usize) -> Result<usize, WkbError> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_item_bytes) > self.bytes.len().saturating_sub(self.pos) {
            return Err(WkbError::Truncated);
        }
        Ok(n)
    }

    fn coord(&mut self) -> Result<Coord<f64>, WkbError> {
        let c = Coord { x: self.f64()?, y: self.f64()? };
        for _ in 0..self.extra {
            self.f64()?;
        }
        Ok(c)
    }

    fn polygon_body(&mut self) -> Result<Polygon<f64>, WkbError> {
        let n_rings = self.count(4)?;
        let mut rings = Vec::with_capacity(n_rings);
        for _ in 0..n_rings {
            let n = self.count(16)?;
            let coords = (0..n).map(|_| self.coord()).collect::<Result<Vec<_>, _>>()?;
            rings.push(LineString(coords));
        }
        let mut it = rings.into_iter();
        let exterior = it.next().unwrap_or_else(|| LineString(vec![]));
        Ok(Polygon::new(exterior, it.collect()))
    }
}

/// Decodes a Polygon or MultiPolygon (either byte order) as a multipolygon.
pub fn multipolygon_from_wkb(bytes: &[u8]) -> Result<MultiPolygon<f64>, WkbError> {
    let mut r = Reader { bytes, pos: 0, little: true, extra: 0 };
    match r.header()? {
        POLYGON => Ok(MultiPolygon(vec![r.polygon_body()?])),
        MULTIPOLYGON => {
            let n = r.count(9)?;
            let mut polys = Vec::with_capacity(n);
            for _ in 0..n {
                match r.header()? {
                    POLYGON => polys.push(r.polygon_body()?),
                    other => return Err(WkbError::UnsupportedType(other)),
                }
            }
            Ok(MultiPolygon(polys))
        }
        other => Err(WkbError::UnsupportedType(other)),
    }
}

/// Decodes any geometry [`geometry_to_wkb`] writes (either byte order).
pub fn geometry_from_wkb(bytes: &[u8]) -> Result<Geometry<f64>, WkbError> {
    let mut r = Reader { bytes, pos: 0, little: true, extra: 0 };
    r.geometry(0)
}

impl Reader<'_> {
    fn line_body(&mut self) -> Result<LineString<f64>, WkbError> {
        let n = self.count(16)?;
        Ok(LineString((0..n).map(|_| self.coord()).collect::<Result<Vec<_>, _>>()?))
    }

    fn geometry(&mut self, depth: usize) -> Result<Geometry<f64>, WkbError> {
        let kind = self.header()?;
        let parts = |r: &mut Self, want: u32| -> Result<Vec<Geometry<f64>>, WkbError> {
            let n = r.count(9)?;
            (0..n)
                .map(|_| {
                    let g = r.geometry(depth + 1)?;
                    let found = match g {
                        Geometry::Point(_) => POINT,
                        Geometry::LineString(_) => LINESTRING,
                        Geometry::Polygon(_) => POLYGON,
                        _ => 0,
                    };
                    if found == want {
                        Ok(g)
                    } else {
                        Err(WkbError::UnsupportedType(found))
                    }
                })
                .collect()
        };
        Ok(match kind {
            POINT => Geometry::Point(Point(self.coord()?)),
            LINESTRING => Geometry::LineString(self.line_body()?),
            POLYGON => Geometry::Polygon(self.polygon_body()?),
            MULTIPOINT => Geometry::MultiPoint(MultiPoint(
                parts(self, POINT)?.into_iter().filter_map(|g| Point::try_from(g).ok()).collect(),
            )),
            MULTILINESTRING => Geometry::MultiLineString(MultiLineString(
                parts(self, LINESTRING)?.into_iter().filter_map(|g| LineString::try_from(g).ok()).collect(),
            )),
            MULTIPOLYGON => Geometry::MultiPolygon(MultiPolygon(
                parts(self, POLYGON)?.into_iter().filter_map(|g| Polygon::try_from(g).ok()).collect(),
            )),
            7 if depth < 8 => {
                let n = self.count(9)?;
                Geometry::GeometryCollection(geo::GeometryCollection(
                    (0..n).map(|_| self.geometry(depth + 1)).collect::<Result<_, _>>()?,
                ))
            }
            other => return Err(WkbError::UnsupportedType(other)),
        })
    }
}

/// Decodes a Point.
pub fn point_from_wkb(bytes: &[u8]) -> Result<Point<f64>, WkbError> {
    let mut r = Reader { bytes, pos: 0, little: true, extra: 0 };
    match r.header()? {
        POINT => Ok(Point(r.coord()?)),
        other => Err(WkbError::UnsupportedType(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn multipolygons_round_trip_bit_for_bit() {
        let mp = MultiPolygon(vec![polygon!(
            exterior: [(x: 116.1, y: 39.9), (x: 116.2, y: 39.9), (x: 116.2, y: 40.0), (x: 116.1, y: 39.9)],
            interiors: [[(x: 116.15, y: 39.92), (x: 116.16, y: 39.92), (x: 116.16, y: 39.93), (x: 116.15, y: 39.92)]],
        )]);
        let bytes = multipolygon_to_wkb(&mp);
        assert_eq!(bytes[0], 1);
        assert_eq!(multipolygon_from_wkb(&bytes), Ok(mp));
    }

    #[test]
    fn every_kind_of_geometry_round_trips() {
        use geo::{line_string, point};
        let kinds: Vec<Geometry<f64>> = vec![
            Geometry::Point(point!(x: 116.4, y: 39.9)),
            Geometry::LineString(line_string![(x: 116.4, y: 39.9), (x: 116.41, y: 39.91)]),
            Geometry::Polygon(polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 1., y: 1.), (x: 0., y: 0.)]),
            Geometry::MultiPoint(MultiPoint(vec![point!(x: 1., y: 2.), point!(x: 3., y: 4.)])),
            Geometry::MultiLineString(MultiLineString(vec![line_string![(x: 1., y: 2.), (x: 3., y: 4.)]])),
        ];
        for g in kinds {
            assert_eq!(geometry_from_wkb(&geometry_to_wkb(&g)), Ok(g));
        }
        assert!(geometry_from_wkb(&[1, 4, 0, 0, 0, 1, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn heights_and_measures_are_read_and_dropped() {
        // ISO WKB PointZ (1001), as GDAL writes a 3D GeoPackage.
        let mut z = vec![1u8];
        z.extend(1001u32.to_le_bytes());
        for v in [116.4f64, 39.9, 44.5] {
            z.extend(v.to_le_bytes());
        }
        assert_eq!(geometry_from_wkb(&z), Ok(Geometry::Point(Point::new(116.4, 39.9))));
        // PolygonZM (3003): four ordinates per vertex.
        let ring = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0)];
        let mut zm = vec![1u8];
        zm.extend(3003u32.to_le_bytes());
        zm.extend(1u32.to_le_bytes());
        zm.extend((ring.len() as u32).to_le_bytes());
        for (x, y) in ring {
            for v in [x, y, 12.0, 7.0] {
                zm.extend(f64::to_le_bytes(v));
            }
        }
        let square = Polygon::new(LineString::from(ring.to_vec()), vec![]);
        assert_eq!(geometry_from_wkb(&zm), Ok(Geometry::Polygon(square.clone())));
        assert_eq!(multipolygon_from_wkb(&zm), Ok(MultiPolygon(vec![square])));
        // MultiLineStringM (2005) holding LineStringM parts (2002).
        let mut m = vec![1u8];
        m.extend(2005u32.to_le_bytes());
        m.extend(1u32.to_le_bytes());
        m.push(1);
        m.extend(2002u32.to_le_bytes());
        m.extend(2u32.to_le_bytes());
        for v in [1.0f64, 2.0, 0.0, 3.0, 4.0, 10.0] {
            m.extend(v.to_le_bytes());
        }
        let line = LineString::from(vec![(1.0, 2.0), (3.0, 4.0)]);
        assert_eq!(geometry_from_wkb(&m), Ok(Geometry::MultiLineString(MultiLineString(vec![line]))));
        // PostGIS EWKB: a PointZ with an SRID (flags 0x80000000 | 0x20000000).
        let mut ewkb = vec![1u8];
        ewkb.extend((0xA000_0001u32).to_le_bytes());
        ewkb.extend(4326u32.to_le_bytes());
        for v in [116.4f64, 39.9, 44.5] {
            ewkb.extend(v.to_le_bytes());
        }
        assert_eq!(point_from_wkb(&ewkb), Ok(Point::new(116.4, 39.9)));
        // A height promised and not there is a truncation, not a guess.
        assert_eq!(geometry_from_wkb(&z[..z.len() - 4]), Err(WkbError::Truncated));
        assert!(geometry_from_wkb(&[1, 0xB9, 0x0F, 0, 0]).is_err(), "type 4025 is no geometry");
    }

    #[test]
    fn big_endian_points_and_garbage() {
        let mut be = vec![0u8];
        be.extend_from_slice(&1u32.to_be_bytes());
        be.extend_from_slice(&116.5f64.to_be_bytes());
        be.extend_from_slice(&39.5f64.to_be_bytes());
        assert_eq!(point_from_wkb(&be), Ok(Point::new(116.5, 39.5)));
        assert_eq!(point_from_wkb(&point_to_wkb(Point::new(1.0, 2.0))), Ok(Point::new(1.0, 2.0)));
        assert_eq!(multipolygon_from_wkb(&[1, 6, 0, 0, 0, 255, 255, 255, 255]), Err(WkbError::Truncated));
        assert_eq!(multipolygon_from_wkb(&[7]), Err(WkbError::ByteOrder(7)));
        assert_eq!(multipolygon_from_wkb(&[]), Err(WkbError::Truncated));
    }
}
