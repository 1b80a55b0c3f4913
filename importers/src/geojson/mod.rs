//! GeoJSON (RFC 7946) FeatureCollections, streamed feature by feature.

mod de;

use crate::record::{RawGeometry, Record};
use crate::{FileError, RecordError};
use de::{raw_geometry, FeatureSlot, GeometrySlot};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use spatial::validity::RawMultiPolygon;
use std::io::Read;
use std::path::Path;

/// One feature as read: how the format counts it, its number, its properties and its geometry.
#[derive(Debug, Clone)]
pub struct GenericFeature<G> {
    pub unit: &'static str,
    pub index: usize,
    pub id: Option<String>,
    pub properties: Map<String, Value>,
    pub geometry: G,
}

/// A feature with its raw, unvalidated boundary.
pub type PolygonFeature = GenericFeature<RawMultiPolygon>;

/// A feature with a validated geometry of any simple kind.
pub type Feature = GenericFeature<geo::Geometry<f64>>;

/// Streams a FeatureCollection: each feature is handed to `each` as soon as it is parsed, so
/// the file never sits whole in memory. The collection's own `type` is checked at the end.
pub fn stream_collection(
    path: &Path,
    source: impl Read,
    each: &mut dyn FnMut(usize, FeatureSlot),
) -> Result<(), FileError> {
    let name = path.display().to_string();
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(1 << 16, source));
    let kind = CollectionSeed { each, count: 0 }
        .deserialize(&mut de)
        .and_then(|kind| de.end().map(|_| kind))
        .map_err(|source| FileError::Json { path: name.clone(), source })?;
    match kind.as_deref() {
        Some("FeatureCollection") => Ok(()),
        other => Err(FileError::Format {
            path: name,
            reason: format!("expected a GeoJSON FeatureCollection, found type {other:?}"),
        }),
    }
}

struct CollectionSeed<'f> {
    each: &'f mut dyn FnMut(usize, FeatureSlot),
    count: usize,
}

impl<'de> DeserializeSeed<'de> for CollectionSeed<'_> {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for CollectionSeed<'_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a GeoJSON FeatureCollection object")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut kind = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "type" => kind = map.next_value::<Option<String>>()?,
                "features" => map.next_value_seed(FeaturesSeed { each: self.each, count: &mut self.count })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(kind)
    }
}

struct FeaturesSeed<'f, 'c> {
    each: &'f mut dyn FnMut(usize, FeatureSlot),
    count: &'c mut usize,
}

impl<'de> DeserializeSeed<'de> for FeaturesSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for FeaturesSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of features")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(value) = seq.next_element::<FeatureSlot>()? {
            (self.each)(*self.count, value);
            *self.count += 1;
        }
        Ok(())
    }
}

/// Reads a FeatureCollection file as records (features counted from 0, as GDAL does).
pub fn read_records(
    path: &Path,
    source: impl Read,
    sink: &mut dyn FnMut(Result<Record, RecordError>),
) -> Result<(), FileError> {
    stream_collection(path, source, &mut |index, value| sink(record_of(index, value)))
}

fn record_of(index: usize, slot: FeatureSlot) -> Result<Record, RecordError> {
    parse_feature(index, slot, |g| Ok(Some(g))).map(|f| {
        let mut properties = f.properties;
        // A feature id stands in for a missing code, as GIS tools often move codes there.
        if let (Some(id), false) = (f.id, properties.contains_key("code")) {
            properties.insert("code".into(), Value::String(id));
        }
        Record { unit: "feature", number: index, properties, geometry: f.geometry }
    })
}

fn read_all<G>(
    path: &Path,
    convert: fn(usize, FeatureSlot) -> Result<GenericFeature<G>, RecordError>,
) -> Result<(Vec<GenericFeature<G>>, Vec<RecordError>), FileError> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| FileError::Io { path: name, source })?;
    let mut features = Vec::new();
    let mut errors = Vec::new();
    stream_collection(path, file, &mut |index, value| match convert(index, value) {
        Ok(f) => features.push(f),
        Err(e) => errors.push(e),
    })?;
    Ok((features, errors))
}

/// Reads a FeatureCollection file; features that are not polygons are reported, not dropped silently.
pub fn read_polygon_features(path: &Path) -> Result<(Vec<PolygonFeature>, Vec<RecordError>), FileError> {
    read_all(path, |index, slot| parse_feature(index, slot, RawGeometry::into_polygons))
}

/// Reads a FeatureCollection of any simple geometries (points, lines, polygons and their
/// multi-kinds). Polygons must be valid; each bad feature is reported by index.
pub fn read_features(path: &Path) -> Result<(Vec<Feature>, Vec<RecordError>), FileError> {
    read_all(path, |index, slot| parse_feature(index, slot, any_geometry))
}

/// Parses one GeoJSON Feature (for example a request body) with any simple geometry.
pub fn parse_any_feature(value: Value) -> Result<Feature, RecordError> {
    // A FeatureSlot accepts any JSON value, so this never falls back.
    let slot = serde_json::from_value(value).unwrap_or(FeatureSlot::Other);
    parse_feature(0, slot, any_geometry)
}

fn contains_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(contains_nul),
        Value::Object(m) => m.iter().any(|(k, v)| k.contains('\0') || contains_nul(v)),
        _ => false,
    }
}

/// The first attribute holding a NUL character: databases refuse them in text, so the
/// attribute is named instead of failing on insert.
pub fn nul_property(properties: &Map<String, Value>) -> Option<&str> {
    properties.iter().find(|(_, v)| contains_nul(v)).map(|(k, _)| k.as_str())
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
    slot: FeatureSlot,
    geometry_of: impl Fn(RawGeometry) -> Result<G, String>,
) -> Result<GenericFeature<G>, RecordError> {
    let err =
        |field: &str, reason: String, code: Option<String>| RecordError::new("feature", index, code, field, reason);
    let FeatureSlot::Object { id, properties, geometry } = slot else {
        return Err(err("feature", "is not a JSON object".into(), None));
    };
    let properties = match properties {
        Some(Value::Object(m)) => m,
        None | Some(Value::Null) => Map::new(),
        Some(_) => return Err(err("properties", "must be an object".into(), None)),
    };
    let id = match id {
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let code = text_property(&properties, "code").or_else(|| id.clone());
    if let Some(key) = nul_property(&properties) {
        return Err(err(&format!("properties.{key}"), "contains a NUL character".into(), code));
    }
    let geometry = match geometry {
        GeometrySlot::Object { kind, coordinates } => raw_geometry(kind.as_ref(), coordinates.as_ref())
            .and_then(geometry_of)
            .map_err(|reason| err("geometry", reason, code.clone()))?,
        GeometrySlot::Missing | GeometrySlot::Other => return Err(err("geometry", "is missing".into(), code)),
    };
    Ok(GenericFeature { unit: "feature", index, id, properties, geometry })
}

fn any_geometry(raw: RawGeometry) -> Result<geo::Geometry<f64>, String> {
    raw.into_geometry(false).map(|(g, _)| g).map_err(|reasons| reasons.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_polygons_and_reports_bad_features_by_index() {
        let path = crate::test_file(
            "polygons.json",
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
        let path = crate::test_file("not-a-collection.json", r#"{"type":"Feature"}"#);
        assert!(matches!(read_polygon_features(&path), Err(FileError::Format { .. })));
        std::fs::remove_file(path).ok();
    }
}
