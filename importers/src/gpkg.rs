//! GeoPackage (OGC 12-128r18) feature tables: one layer's rows as records, numbered by their
//! feature id as GDAL shows it, with the layer's CRS from `gpkg_spatial_ref_sys`.

use crate::crs::Crs;
use crate::record::{Position, RawGeometry, Record};
use crate::{FileError, RecordError};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use serde_json::{Map, Number, Value};
use std::path::Path;

/// One feature layer of an open GeoPackage: its table, its CRS (`None` when the package leaves
/// it undefined; an error when it is one gridwatch will not guess at, which `--crs` may
/// override) and whether its geometries carry heights or measures, known before any row is read.
pub struct Layer {
    db: Connection,
    pub table: String,
    column: String,
    pub crs: Result<Option<Crs>, String>,
    /// "Z", "M" or "Z and M" when the layer's geometries have them (they are dropped).
    pub dropped: Option<&'static str>,
}

/// Opens the feature layer named, or the only one.
pub fn open(path: &Path, layer: Option<&str>) -> Result<Layer, FileError> {
    let name = path.display().to_string();
    let format = |reason: String| FileError::Format { path: name.clone(), reason };
    let db = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| format(e.to_string()))?;
    let layers: Vec<String> = db
        .prepare("SELECT table_name FROM gpkg_contents WHERE data_type = 'features' ORDER BY table_name")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(|e| format(format!("not a GeoPackage ({e})")))?;
    let table = match (layer, layers.as_slice()) {
        (Some(l), _) if layers.iter().any(|t| t == l) => l.to_string(),
        (Some(l), _) => return Err(format(format!("no feature layer {l:?}; the layers are: {}", layers.join(", ")))),
        (None, [only]) => only.clone(),
        (None, []) => return Err(format("the GeoPackage has no feature layer".into())),
        (None, many) => {
            return Err(format(format!(
                "the GeoPackage has several layers; choose one with --layer: {}",
                many.join(", ")
            )))
        }
    };
    let (column, srs_id, z, m): (String, i64, i64, i64) = db
        .query_row("SELECT column_name, srs_id, z, m FROM gpkg_geometry_columns WHERE table_name = ?1", [&table], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .map_err(|e| format(format!("layer {table:?} has no geometry column ({e})")))?;
    let crs = crs_of(&db, srs_id);
    // 0: prohibited, 1: mandatory, 2: optional (OGC 12-128r18, 1.1.2.1.1).
    let dropped = match (z != 0, m != 0) {
        (true, true) => Some("Z and M"),
        (true, false) => Some("Z"),
        (false, true) => Some("M"),
        (false, false) => None,
    };
    Ok(Layer { db, table, column, crs, dropped })
}

impl Layer {
    /// Reads every row (`path` names the file in messages).
    pub fn read_records(self, path: &Path, sink: &mut dyn FnMut(Result<Record, RecordError>)) -> Result<(), FileError> {
        let name = path.display().to_string();
        let sql = |e: rusqlite::Error| FileError::Format { path: name.clone(), reason: e.to_string() };
        let Layer { db, table, column, .. } = self;
        let fid: Option<String> = db
            .prepare(&format!("SELECT name FROM pragma_table_info({}) WHERE pk = 1", quote_literal(&table)))
            .and_then(|mut s| s.query_row([], |r| r.get(0)))
            .ok();
        let mut statement = db.prepare(&format!("SELECT * FROM {}", quote_identifier(&table))).map_err(sql)?;
        let names: Vec<String> = statement.column_names().iter().map(|c| c.to_string()).collect();
        let mut rows = statement.query([]).map_err(sql)?;
        let mut position = 0;
        while let Some(row) = rows.next().map_err(sql)? {
            position += 1;
            let mut properties = Map::new();
            let mut number = position;
            let mut geometry = Ok(None);
            for (i, column_name) in names.iter().enumerate() {
                let value = row.get_ref(i).map_err(sql)?;
                if *column_name == column {
                    if let ValueRef::Blob(blob) = value {
                        geometry = geometry_from_blob(blob);
                    }
                    continue;
                }
                if Some(column_name) == fid.as_ref() {
                    if let ValueRef::Integer(n) = value {
                        number = usize::try_from(n).unwrap_or(position);
                    }
                }
                let v = match value {
                    ValueRef::Null | ValueRef::Blob(_) => continue,
                    ValueRef::Integer(n) => Value::Number(n.into()),
                    ValueRef::Real(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
                    ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
                };
                properties.insert(column_name.clone(), v);
            }
            let code = crate::geojson::text_property(&properties, "code");
            sink(
                geometry
                    .map(|geometry| Record { unit: "feature", number, properties, geometry })
                    .map_err(|reason| RecordError::new("feature", number, code, column.as_str(), reason)),
            );
        }
        Ok(())
    }
}

fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn quote_literal(name: &str) -> String {
    format!("'{}'", name.replace('\'', "''"))
}

fn crs_of(db: &Connection, srs_id: i64) -> Result<Option<Crs>, String> {
    if srs_id <= 0 {
        return Ok(None);
    }
    let (organization, code, definition): (String, i64, String) = db
        .query_row(
            "SELECT organization, organization_coordsys_id, definition FROM gpkg_spatial_ref_sys WHERE srs_id = ?1",
            [srs_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .map_err(|e| format!("srs_id {srs_id} is not in gpkg_spatial_ref_sys ({e})"))?;
    if organization.eq_ignore_ascii_case("EPSG") {
        if let Some(crs) = u32::try_from(code).ok().and_then(Crs::from_epsg) {
            return Ok(Some(crs));
        }
    }
    Crs::from_prj(&definition).map(Some).map_err(|e| format!("{organization}:{code}: {e}"))
}

/// A GeoPackage geometry blob: the `GP` header, an optional envelope, then WKB.
pub fn geometry_from_blob(blob: &[u8]) -> Result<Option<RawGeometry>, String> {
    if blob.len() < 8 || &blob[..2] != b"GP" {
        return Err("is not a GeoPackage geometry (no GP header)".into());
    }
    let flags = blob[3];
    if flags & 0x20 != 0 {
        return Err("extended GeoPackage geometry types are not supported".into());
    }
    if flags & 0x10 != 0 {
        return Ok(None);
    }
    let envelope = match (flags >> 1) & 0x07 {
        0 => 0,
        1 => 32,
        2 | 3 => 48,
        4 => 64,
        other => return Err(format!("envelope indicator {other} is invalid")),
    };
    let wkb = blob.get(8 + envelope..).ok_or("the geometry ends inside its envelope")?;
    let geometry = spatial::wkb::geometry_from_wkb(wkb).map_err(|e| format!("WKB: {e}"))?;
    raw_of(geometry).map(Some)
}

fn raw_of(g: geo::Geometry<f64>) -> Result<RawGeometry, String> {
    use geo::Geometry as G;
    let line = |l: &geo::LineString<f64>| l.0.iter().map(|c| [c.x, c.y]).collect::<Vec<Position>>();
    let polygon =
        |p: &geo::Polygon<f64>| std::iter::once(p.exterior()).chain(p.interiors()).map(line).collect::<Vec<_>>();
    Ok(match g {
        G::Point(p) => RawGeometry::Point([p.x(), p.y()]),
        G::MultiPoint(mp) => RawGeometry::MultiPoint(mp.0.iter().map(|p| [p.x(), p.y()]).collect()),
        G::LineString(l) => RawGeometry::LineString(line(&l)),
        G::MultiLineString(ml) => RawGeometry::MultiLineString(ml.0.iter().map(line).collect()),
        G::Polygon(p) => RawGeometry::Polygon(polygon(&p)),
        G::MultiPolygon(mp) => RawGeometry::MultiPolygon(mp.0.iter().map(polygon).collect()),
        _ => return Err("only Point, LineString and Polygon geometries (and their Multi- kinds) are supported".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_with_envelopes_empties_and_damage() {
        let wkb = spatial::wkb::point_to_wkb(geo::Point::new(116.4, 39.9));
        let mut blob = vec![b'G', b'P', 0, 0b0000_0011, 0, 0, 0x10, 0xe6];
        blob.extend([0u8; 32]);
        blob.extend(&wkb);
        assert_eq!(geometry_from_blob(&blob), Ok(Some(RawGeometry::Point([116.4, 39.9]))));
        assert_eq!(geometry_from_blob(&[b'G', b'P', 0, 0b0001_0001, 0, 0, 0, 0]), Ok(None));
        assert!(geometry_from_blob(b"XX").is_err());
        assert!(geometry_from_blob(&blob[..20]).is_err());
    }
}
