//! One record of any input format: its number, its attributes and its raw geometry.
//!
//! Every reader (GeoJSON, CSV, Shapefile, GeoPackage, GPX) yields these; the CRS conversion,
//! the field mapping, validation and repair then happen once, the same for every format.

use crate::crs::Crs;
use geo::{Coord, Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon, Point};
use serde_json::{Map, Value};
use spatial::validity::{RawMultiPolygon, RawPolygon};

pub type Position = [f64; 2];

/// A geometry as read, before any check: rings may be open, self-intersecting or out of range.
#[derive(Debug, Clone, PartialEq)]
pub enum RawGeometry {
    Point(Position),
    MultiPoint(Vec<Position>),
    LineString(Vec<Position>),
    MultiLineString(Vec<Vec<Position>>),
    Polygon(RawPolygon),
    MultiPolygon(RawMultiPolygon),
}

/// One record: `unit` says how users count them in this format ("feature", "row", "record",
/// "waypoint"), `number` is that count as the format's tools show it.
#[derive(Debug, Clone)]
pub struct Record {
    pub unit: &'static str,
    pub number: usize,
    pub properties: Map<String, Value>,
    pub geometry: Option<RawGeometry>,
}

impl RawGeometry {
    fn positions_mut(&mut self) -> Box<dyn Iterator<Item = &mut Position> + '_> {
        match self {
            RawGeometry::Point(p) => Box::new(std::iter::once(p)),
            RawGeometry::MultiPoint(ps) | RawGeometry::LineString(ps) => Box::new(ps.iter_mut()),
            RawGeometry::MultiLineString(ls) | RawGeometry::Polygon(ls) => Box::new(ls.iter_mut().flatten()),
            RawGeometry::MultiPolygon(mp) => Box::new(mp.iter_mut().flatten().flatten()),
        }
    }

    /// Converts every position to WGS-84 longitude/latitude.
    pub fn to_wgs84(&mut self, crs: &Crs) {
        if matches!(crs, Crs::Wgs84 | Crs::Cgcs2000) {
            return;
        }
        // Converted positions are rounded to 1e-9° (0.1 mm): far below the conversions' own
        // error, and the same boundary from two formats then compares equal on re-import.
        let round = |v: f64| (v * 1e9).round() / 1e9;
        for p in self.positions_mut() {
            let c = crs.to_wgs84(Coord { x: p[0], y: p[1] });
            *p = [round(c.x), round(c.y)];
        }
    }

    /// No positions at all (an `EMPTY` WKT, a null shape, a polygon without rings).
    pub fn is_empty(&self) -> bool {
        match self {
            RawGeometry::Point(_) => false,
            RawGeometry::MultiPoint(ps) | RawGeometry::LineString(ps) => ps.is_empty(),
            RawGeometry::MultiLineString(ls) | RawGeometry::Polygon(ls) => ls.iter().all(Vec::is_empty),
            RawGeometry::MultiPolygon(mp) => mp.iter().flatten().all(Vec::is_empty),
        }
    }

    /// The polygons of a Polygon or MultiPolygon.
    pub fn into_polygons(self) -> Result<RawMultiPolygon, String> {
        match self {
            RawGeometry::Polygon(p) => Ok(vec![p]),
            RawGeometry::MultiPolygon(mp) => Ok(mp),
            other => Err(format!("type {:?} is not a Polygon or MultiPolygon", other.kind())),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            RawGeometry::Point(_) => "Point",
            RawGeometry::MultiPoint(_) => "MultiPoint",
            RawGeometry::LineString(_) => "LineString",
            RawGeometry::MultiLineString(_) => "MultiLineString",
            RawGeometry::Polygon(_) => "Polygon",
            RawGeometry::MultiPolygon(_) => "MultiPolygon",
        }
    }

    /// The checked geometry: positions within lon/lat range, lines of two positions or more,
    /// valid polygons. With `repair`, polygons are repaired where possible and each fix is
    /// returned; otherwise (and for what cannot be repaired) every defect is.
    pub fn into_geometry(self, repair: bool) -> Result<(Geometry<f64>, Vec<String>), Vec<String>> {
        let position = |p: &Position| -> Result<Coord<f64>, String> {
            check_position(*p)?;
            Ok(Coord { x: p[0], y: p[1] })
        };
        let line = |ps: &[Position]| -> Result<LineString<f64>, String> {
            if ps.len() < 2 {
                return Err("a LineString needs at least two positions".into());
            }
            Ok(LineString(ps.iter().map(position).collect::<Result<_, _>>()?))
        };
        let one = |r: Result<Geometry<f64>, String>| r.map(|g| (g, Vec::new())).map_err(|e| vec![e]);
        match self {
            RawGeometry::Point(p) => one(position(&p).map(|c| Geometry::Point(Point(c)))),
            RawGeometry::MultiPoint(ps) => one(ps
                .iter()
                .map(|p| position(p).map(Point))
                .collect::<Result<_, _>>()
                .map(|ps| Geometry::MultiPoint(MultiPoint(ps)))),
            RawGeometry::LineString(ps) => one(line(&ps).map(Geometry::LineString)),
            RawGeometry::MultiLineString(ls) => one(ls
                .iter()
                .map(|l| line(l))
                .collect::<Result<_, _>>()
                .map(|ls| Geometry::MultiLineString(MultiLineString(ls)))),
            RawGeometry::Polygon(p) => polygons(vec![p], repair).map(|(mut mp, fixes)| {
                let g = if mp.0.len() == 1 { Geometry::Polygon(mp.0.remove(0)) } else { Geometry::MultiPolygon(mp) };
                (g, fixes)
            }),
            RawGeometry::MultiPolygon(mp) => {
                polygons(mp, repair).map(|(mp, fixes)| (Geometry::MultiPolygon(mp), fixes))
            }
        }
    }
}

/// A time as users write it: RFC 3339, or `YYYY-MM-DD HH:MM[:SS]` (also with `/`) in China
/// time, as exports of Chinese systems and Excel have it.
pub fn parse_time(t: &str) -> Option<time::OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    let t = t.trim();
    if let Ok(at) = time::OffsetDateTime::parse(t, &Rfc3339) {
        return Some(at);
    }
    let china = time::UtcOffset::from_hms(8, 0, 0).ok()?;
    let formats = [
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]"),
        time::macros::format_description!("[year]/[month]/[day] [hour]:[minute]:[second]"),
        time::macros::format_description!("[year]/[month]/[day] [hour]:[minute]"),
    ];
    formats.iter().find_map(|f| time::PrimitiveDateTime::parse(t, f).ok()).map(|p| p.assume_offset(china))
}

/// Longitude within ±180°, latitude within ±90°, both finite.
pub fn check_position(p: Position) -> Result<(), String> {
    if !(p[0].is_finite() && p[1].is_finite()) || p[0].abs() > 180.0 || p[1].abs() > 90.0 {
        let hint = if p[0].abs() > 1000.0 || p[1].abs() > 1000.0 {
            " (these look like metres: give the projection with --crs EPSG:…)"
        } else {
            ""
        };
        return Err(format!("position ({}, {}) is out of range for lon/lat degrees{hint}", p[0], p[1]));
    }
    Ok(())
}

fn polygons(raw: RawMultiPolygon, repair: bool) -> Result<(MultiPolygon<f64>, Vec<String>), Vec<String>> {
    let listed = |defects: Vec<spatial::validity::Defect>, suffix: &dyn Fn(bool) -> &'static str| {
        defects.iter().map(|d| format!("invalid polygon: {d}{}", suffix(d.repairable))).collect::<Vec<_>>()
    };
    if repair {
        spatial::validity::repair(&raw).map_err(|d| listed(d, &|_| " (cannot be repaired)"))
    } else {
        spatial::validity::validate(&raw)
            .map(|mp| (mp, Vec::new()))
            .map_err(|d| listed(d, &|repairable| if repairable { " (--repair can fix this)" } else { "" }))
    }
}

/// `--map ours=theirs,…`: our attribute names taken from the file's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldMap(pub Vec<(String, String)>);

impl std::str::FromStr for FieldMap {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let pairs = s
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|pair| {
                let (ours, theirs) = pair
                    .split_once('=')
                    .ok_or_else(|| format!("--map {pair:?}: write ours=theirs, e.g. --map code=GRID_ID,name=MC"))?;
                let (ours, theirs) = (ours.trim(), theirs.trim());
                if ours.is_empty() || theirs.is_empty() {
                    return Err(format!("--map {pair:?}: both names are needed"));
                }
                Ok((ours.to_string(), theirs.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(FieldMap(pairs))
    }
}

impl FieldMap {
    /// Copies each mapped attribute to our name (the file's own name stays too).
    pub fn apply(&self, properties: &mut Map<String, Value>) {
        for (ours, theirs) in &self.0 {
            if let Some(v) = properties.get(theirs).cloned() {
                properties.insert(ours.clone(), v);
            }
        }
    }

    /// The mapped names the file lacks, judged on its first record.
    pub fn missing_in(&self, properties: &Map<String, Value>) -> Vec<String> {
        self.0.iter().filter(|(_, theirs)| !properties.contains_key(theirs)).map(|(_, t)| t.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_maps_parse_and_apply() {
        let map: FieldMap = "code=GRID_ID, name=MC".parse().expect("map");
        let mut props = Map::new();
        props.insert("GRID_ID".into(), Value::from("G1"));
        props.insert("MC".into(), Value::from("东华门"));
        map.apply(&mut props);
        assert_eq!(props["code"], "G1");
        assert_eq!(props["name"], "东华门");
        assert!("code".parse::<FieldMap>().is_err());
        let other: FieldMap = "code=BM".parse().expect("map");
        assert_eq!(other.missing_in(&props), ["BM"]);
    }

    #[test]
    fn metres_without_a_crs_get_a_hint() {
        let err = RawGeometry::Point([500_123.0, 4_412_345.0]).into_geometry(false).expect_err("out of range");
        assert!(err[0].contains("--crs"), "{err:?}");
    }
}
