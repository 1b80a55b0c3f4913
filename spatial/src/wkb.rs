//! Well-Known Binary for the geometries gridwatch stores: how geometry crosses the database
//! boundary (`ST_GeomFromWKB($1, 4326)` / `ST_AsBinary(geom)` in PostGIS, a BLOB in SQLite).

use geo::{Coord, LineString, MultiPolygon, Point, Polygon};
use thiserror::Error;

const POINT: u32 = 1;
const POLYGON: u32 = 3;
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

    /// Reads a byte-order mark and a type code.
    fn header(&mut self) -> Result<u32, WkbError> {
        let [order] = self.take::<1>()?;
        self.little = match order {
            1 => true,
            0 => false,
            other => return Err(WkbError::ByteOrder(other)),
        };
        self.u32()
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
        Ok(Coord { x: self.f64()?, y: self.f64()? })
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
    let mut r = Reader { bytes, pos: 0, little: true };
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

/// Decodes a Point.
pub fn point_from_wkb(bytes: &[u8]) -> Result<Point<f64>, WkbError> {
    let mut r = Reader { bytes, pos: 0, little: true };
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
