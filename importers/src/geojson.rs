//! GeoJSON (RFC 7946) FeatureCollections of Polygon and MultiPolygon features.

use crate::{FileError, RecordError};
use serde::Deserialize;
use serde_json::{Map, Value};
use spatial::validity::{RawMultiPolygon, RawPolygon};
use std::path::Path;

/// One feature as read: its index in the file, its properties and its geometry.
#[derive(Debug, Clone)]
pub struct GenericFeature<G> {
    pub index: usize,
    pub id: Option<String>,
    pub properties: Map<String, Value>,
    pub geometry: G,
}

/// A feature with its raw, unvalidated boundary.
pub type PolygonFeature = GenericFeature<RawMultiPolygon>;

#[derive(Deserialize)]
struct Collection {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    features: Vec<Value>,
}

/// Reads a FeatureCollection file's features as JSON values, in order.
pub fn read_collection(path: &Path) -> Result<Vec<Value>, FileError> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| FileError::Io { path: name.clone(), source })?;
    let collection: Collection = serde_json::from_reader(std::io::BufReader::new(file))
        .map_err(|source| FileError::Json { path: name.clone(), source })?;
    if collection.kind != "FeatureCollection" {
        return Err(FileError::Format {
            path: name,
            reason: format!("expected a GeoJSON FeatureCollection, found type {:?}", collection.kind),
        });
    }
    Ok(collection.features)
}

/// Reads a FeatureCollection file; features that are not polygons are reported, not dropped silently.
pub fn read_polygon_features(path: &Path) -> Result<(Vec<PolygonFeature>, Vec<RecordError>), FileError> {
    let mut features = Vec::new();
    let mut errors = Vec::new();
    for (index, value) in read_collection(path)?.into_iter().enumerate() {
        match parse_feature(index, value, parse_geometry) {
            Ok(f) => features.push(f),
            Err(e) => errors.push(e),
        }
    }
    Ok((features, errors))
}

/// Reads a FeatureCollection of any simple geometries (points, lines, polygons and their
/// multi-kinds). Polygons must be valid; each bad feature is reported by index.
pub fn read_features(path: &Path) -> Result<(Vec<Feature>, Vec<RecordError>), FileError> {
    let mut features = Vec::new();
    let mut errors = Vec::new();
    for (index, value) in read_collection(path)?.into_iter().enumerate() {
        match parse_feature(index, value, parse_any_geometry) {
            Ok(f) => features.push(f),
            Err(e) => errors.push(e),
        }
    }
    Ok((features, errors))
}

/// Parses one GeoJSON Feature (for example a request body) with any simple geometry.
pub fn parse_any_feature(value: Value) -> Result<Feature, RecordError> {
    parse_feature(0, value, parse_any_geometry)
}

/// A feature with a validated geometry of any simple kind.
pub type Feature = GenericFeature<geo::Geometry<f64>>;

fn contains_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(contains_nul),
        Value::Object(m) => m.iter().any(|(k, v)| k.contains('\0') || contains_nul(v)),
        _ => false,
    }
}

/// A property as text: strings as they are, numbers written out (codes are often numbers).
pub fn text_property(props: &Map<String, Value>, key: &str) -> Option<String> {
    match props.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn parse_feature<G>(
    index: usize,
    value: Value,
    geometry_of: fn(&Map<String, Value>) -> Result<G, String>,
) -> Result<GenericFeature<G>, RecordError> {
    let err = |field: &str, reason: String, code: Option<String>| RecordError {
        record: index,
        code,
        field: field.into(),
        reason,
    };
    let Value::Object(mut obj) = value else {
        return Err(err("feature", "is not a JSON object".into(), None));
    };
    let properties = match obj.remove("properties") {
        Some(Value::Object(m)) => m,
        None | Some(Value::Null) => Map::new(),
        Some(_) => return Err(err("properties", "must be an object".into(), None)),
    };
    let id = match obj.get("id") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let code = text_property(&properties, "code").or_else(|| id.clone());
    // Databases refuse NUL characters in text: name the property instead of failing on insert.
    if let Some((key, _)) = properties.iter().find(|(_, v)| contains_nul(v)) {
        return Err(err(&format!("properties.{key}"), "contains a NUL character".into(), code));
    }
    let geometry = match obj.remove("geometry") {
        Some(Value::Object(g)) => geometry_of(&g).map_err(|reason| err("geometry", reason, code.clone()))?,
        _ => return Err(err("geometry", "is missing".into(), code)),
    };
    Ok(GenericFeature { index, id, properties, geometry })
}

fn parse_any_geometry(g: &Map<String, Value>) -> Result<geo::Geometry<f64>, String> {
    use geo::{Coord, Geometry, LineString, MultiLineString, MultiPoint, Point};
    let kind = g.get("type").and_then(Value::as_str).unwrap_or("");
    let coords = g.get("coordinates").ok_or("has no coordinates")?;
    let array = |v: &Value, what: &str| v.as_array().cloned().ok_or_else(|| format!("{what} must be an array"));
    let position = |v: &Value| -> Result<Coord<f64>, String> {
        let [x, y] = parse_position(v)?;
        if x.abs() > 180.0 || y.abs() > 90.0 {
            return Err(format!("position ({x}, {y}) is out of range for lon/lat degrees"));
        }
        Ok(Coord { x, y })
    };
    let line = |v: &Value| -> Result<LineString<f64>, String> {
        let points = array(v, "a LineString")?.iter().map(position).collect::<Result<Vec<_>, _>>()?;
        if points.len() < 2 {
            return Err("a LineString needs at least two positions".into());
        }
        Ok(LineString(points))
    };
    let polygons = |raw: RawMultiPolygon| {
        spatial::validity::validate(&raw).map_err(|defects| {
            let listed: Vec<String> = defects.iter().map(ToString::to_string).collect();
            format!("invalid polygon: {}", listed.join("; "))
        })
    };
    match kind {
        "Point" => Ok(Geometry::Point(Point(position(coords)?))),
        "MultiPoint" => Ok(Geometry::MultiPoint(MultiPoint(
            array(coords, "MultiPoint coordinates")?
                .iter()
                .map(|p| position(p).map(Point))
                .collect::<Result<_, _>>()?,
        ))),
        "LineString" => Ok(Geometry::LineString(line(coords)?)),
        "MultiLineString" => Ok(Geometry::MultiLineString(MultiLineString(
            array(coords, "MultiLineString coordinates")?.iter().map(line).collect::<Result<_, _>>()?,
        ))),
        "Polygon" | "MultiPolygon" => {
            let mut mp = polygons(parse_geometry(g)?)?;
            Ok(if kind == "Polygon" && mp.0.len() == 1 {
                Geometry::Polygon(mp.0.remove(0))
            } else {
                Geometry::MultiPolygon(mp)
            })
        }
        other => Err(format!("type {other:?} is not a Point, LineString or Polygon (or their Multi- kinds)")),
    }
}

fn parse_geometry(g: &Map<String, Value>) -> Result<RawMultiPolygon, String> {
    let kind = g.get("type").and_then(Value::as_str).unwrap_or("");
    let coords = g.get("coordinates").ok_or("has no coordinates")?;
    match kind {
        "Polygon" => Ok(vec![parse_polygon(coords)?]),
        "MultiPolygon" => coords
            .as_array()
            .ok_or("MultiPolygon coordinates must be an array of polygons")?
            .iter()
            .enumerate()
            .map(|(i, p)| parse_polygon(p).map_err(|e| format!("polygon {i}: {e}")))
            .collect(),
        other => Err(format!("type {other:?} is not a Polygon or MultiPolygon")),
    }
}

fn parse_polygon(v: &Value) -> Result<RawPolygon, String> {
    v.as_array()
        .ok_or("a polygon must be an array of rings")?
        .iter()
        .enumerate()
        .map(|(ri, ring)| {
            ring.as_array()
                .ok_or_else(|| format!("ring {ri} must be an array of positions"))?
                .iter()
                .enumerate()
                .map(|(pi, pos)| parse_position(pos).map_err(|e| format!("ring {ri} position {pi}: {e}")))
                .collect()
        })
        .collect()
}

fn parse_position(v: &Value) -> Result<[f64; 2], String> {
    let arr = v.as_array().ok_or("a position must be an array [lon, lat]")?;
    if arr.len() < 2 {
        return Err("a position needs two numbers".into());
    }
    // Strings such as "NaN" are how broken exporters write non-numbers: name them clearly.
    let num = |x: &Value| x.as_f64().filter(|f| f.is_finite()).ok_or_else(|| format!("{x} is not a finite number"));
    Ok([num(&arr[0])?, num(&arr[1])?])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write_temp(content: &str) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("gw-geojson-{}-{}.json", std::process::id(), content.len()));
        std::fs::File::create(&path).and_then(|mut f| f.write_all(content.as_bytes())).expect("temp file");
        path
    }

    #[test]
    fn reads_polygons_and_reports_bad_features_by_index() {
        let path = write_temp(
            r#"{"type":"FeatureCollection","features":[
              {"type":"Feature","properties":{"code":110101001001001,"name":"A"},
               "geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}},
              {"type":"Feature","properties":{"code":"B"},"geometry":{"type":"Point","coordinates":[0,0]}},
              {"type":"Feature","properties":{"code":"C"},"geometry":{"type":"Polygon","coordinates":[[[0,0],["NaN",0],[1,1],[0,0]]]}}
            ]}"#,
        );
        let (features, errors) = read_polygon_features(&path).expect("readable");
        assert_eq!(features.len(), 1);
        assert_eq!(text_property(&features[0].properties, "code").as_deref(), Some("110101001001001"));
        assert_eq!(errors.len(), 2);
        assert_eq!((errors[0].record, errors[0].code.as_deref()), (1, Some("B")));
        assert!(errors[0].reason.contains("not a Polygon"));
        assert!(errors[1].reason.contains("not a finite number"), "{}", errors[1]);
        std::fs::remove_file(path).ok();
    }

    #[test]
    fn a_file_that_is_not_a_collection_is_refused() {
        let path = write_temp(r#"{"type":"Feature"}"#);
        assert!(matches!(read_polygon_features(&path), Err(FileError::Format { .. })));
        std::fs::remove_file(path).ok();
    }
}
