//! Typed, allocation-light deserialization of one GeoJSON feature.
//!
//! Positions are read straight into `[f64; 2]` instead of a tree of `serde_json::Value`s
//! (that tree was a third of an import's time). Nothing here fails on a value of the wrong
//! kind: such values are kept as `Other` and named per feature later, so one bad feature
//! never stops the stream; only broken JSON does.

use crate::record::{Position, RawGeometry};
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use spatial::validity::RawPolygon;
use std::fmt;

/// One element of a `features` array.
pub enum FeatureSlot {
    Object {
        id: Option<Value>,
        properties: Option<Value>,
        geometry: GeometrySlot,
    },
    /// Not a JSON object.
    Other,
}

/// A feature's `geometry` member.
pub enum GeometrySlot {
    /// Absent or null.
    Missing,
    Object {
        kind: Option<Value>,
        coordinates: Option<Coords>,
    },
    /// Neither an object nor null.
    Other,
}

/// GeoJSON `coordinates` of any depth.
#[derive(Debug, Clone, PartialEq)]
pub enum Coords {
    Number(f64),
    /// An array of two or more numbers (a third, elevation, is dropped).
    Position(Position),
    Array(Vec<Coords>),
    /// Anything else, as JSON text for the error message.
    Other(String),
}

/// Implements the scalar `visit_*` methods of a lenient visitor: each maps to `$other`.
macro_rules! other_scalars {
    ($other:expr) => {
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok($other)
        }
    };
}

#[derive(serde::Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum FeatureKey {
    Id,
    Properties,
    Geometry,
    #[serde(other)]
    Ignored,
}

#[derive(serde::Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum GeometryKey {
    Type,
    Coordinates,
    #[serde(other)]
    Ignored,
}

impl<'de> Deserialize<'de> for FeatureSlot {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FeatureSlot;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a GeoJSON feature")
            }
            other_scalars!(FeatureSlot::Other);
            fn visit_unit<E>(self) -> Result<FeatureSlot, E> {
                Ok(FeatureSlot::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FeatureSlot, A::Error> {
                let (mut id, mut properties, mut geometry) = (None, None, GeometrySlot::Missing);
                while let Some(key) = map.next_key::<FeatureKey>()? {
                    match key {
                        FeatureKey::Id => id = Some(map.next_value()?),
                        FeatureKey::Properties => properties = Some(map.next_value()?),
                        FeatureKey::Geometry => geometry = map.next_value()?,
                        FeatureKey::Ignored => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(FeatureSlot::Object { id, properties, geometry })
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for GeometrySlot {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = GeometrySlot;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a GeoJSON geometry")
            }
            other_scalars!(GeometrySlot::Other);
            // `null` (a unit to serde) means "missing", as an absent member does.
            fn visit_unit<E>(self) -> Result<GeometrySlot, E> {
                Ok(GeometrySlot::Missing)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<GeometrySlot, A::Error> {
                let (mut kind, mut coordinates) = (None, None);
                while let Some(key) = map.next_key::<GeometryKey>()? {
                    match key {
                        GeometryKey::Type => kind = Some(map.next_value()?),
                        GeometryKey::Coordinates => coordinates = Some(map.next_value()?),
                        GeometryKey::Ignored => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(GeometrySlot::Object { kind, coordinates })
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Coords {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Coords;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("GeoJSON coordinates")
            }
            fn visit_bool<E>(self, b: bool) -> Result<Coords, E> {
                Ok(Coords::Other(b.to_string()))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Coords, E> {
                Ok(Coords::Number(n as f64))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Coords, E> {
                Ok(Coords::Number(n as f64))
            }
            fn visit_f64<E>(self, n: f64) -> Result<Coords, E> {
                Ok(Coords::Number(n))
            }
            fn visit_str<E>(self, s: &str) -> Result<Coords, E> {
                Ok(Coords::Other(Value::from(s).to_string()))
            }
            fn visit_unit<E>(self) -> Result<Coords, E> {
                Ok(Coords::Other("null".into()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Coords, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Coords::Other("an object".into()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Coords, A::Error> {
                // The common case, a position of numbers, is read without a Vec.
                let mut items = Vec::new();
                if let Some(first) = seq.next_element::<Coords>()? {
                    match (first, seq.next_element::<Coords>()?) {
                        (Coords::Number(x), Some(Coords::Number(y))) => {
                            let mut all_numbers = true;
                            let mut rest = Vec::new();
                            while let Some(more) = seq.next_element::<Coords>()? {
                                all_numbers &= matches!(more, Coords::Number(_));
                                rest.push(more);
                            }
                            if all_numbers {
                                return Ok(Coords::Position([x, y]));
                            }
                            items.extend([Coords::Number(x), Coords::Number(y)]);
                            items.extend(rest);
                        }
                        (first, second) => {
                            items.push(first);
                            items.extend(second);
                        }
                    }
                }
                while let Some(more) = seq.next_element::<Coords>()? {
                    items.push(more);
                }
                Ok(Coords::Array(items))
            }
        }
        d.deserialize_any(V)
    }
}

impl Coords {
    fn describe(&self) -> String {
        match self {
            Coords::Number(n) => n.to_string(),
            Coords::Position([x, y]) => format!("[{x}, {y}]"),
            Coords::Array(_) => "an array".into(),
            Coords::Other(text) => text.clone(),
        }
    }

    fn position(&self) -> Result<Position, String> {
        let num = |c: &Coords| match c {
            Coords::Number(n) if n.is_finite() => Ok(*n),
            // Strings such as "NaN" are how broken exporters write non-numbers.
            other => Err(format!("{} is not a finite number", other.describe())),
        };
        match self {
            Coords::Position(p) => Ok([num(&Coords::Number(p[0]))?, num(&Coords::Number(p[1]))?]),
            Coords::Array(items) if items.len() < 2 => Err("a position needs two numbers".into()),
            Coords::Array(items) => Ok([num(&items[0])?, num(&items[1])?]),
            _ => Err("a position must be an array [lon, lat]".into()),
        }
    }

    fn items(&self, what: &str) -> Result<&[Coords], String> {
        match self {
            Coords::Array(items) => Ok(items),
            _ => Err(format!("{what} must be an array")),
        }
    }

    fn positions(&self) -> Result<Vec<Position>, String> {
        self.items("a LineString")?.iter().map(Coords::position).collect()
    }

    fn polygon(&self) -> Result<RawPolygon, String> {
        self.items("a polygon")
            .map_err(|_| "a polygon must be an array of rings".to_string())?
            .iter()
            .enumerate()
            .map(|(ri, ring)| {
                ring.items("a ring")
                    .map_err(|_| format!("ring {ri} must be an array of positions"))?
                    .iter()
                    .enumerate()
                    .map(|(pi, pos)| pos.position().map_err(|e| format!("ring {ri} position {pi}: {e}")))
                    .collect()
            })
            .collect()
    }
}

/// A geometry's `type` and `coordinates` as a raw geometry: only structure and numbers are checked.
pub fn raw_geometry(kind: Option<&Value>, coordinates: Option<&Coords>) -> Result<RawGeometry, String> {
    let kind = kind.and_then(Value::as_str).unwrap_or("");
    let coords = coordinates.ok_or("has no coordinates")?;
    Ok(match kind {
        "Point" => RawGeometry::Point(coords.position()?),
        "MultiPoint" => RawGeometry::MultiPoint(coords.positions()?),
        "LineString" => RawGeometry::LineString(coords.positions()?),
        "MultiLineString" => RawGeometry::MultiLineString(
            coords.items("MultiLineString coordinates")?.iter().map(Coords::positions).collect::<Result<_, _>>()?,
        ),
        "Polygon" => RawGeometry::Polygon(coords.polygon()?),
        "MultiPolygon" => RawGeometry::MultiPolygon(
            coords
                .items("MultiPolygon coordinates")?
                .iter()
                .enumerate()
                .map(|(i, p)| p.polygon().map_err(|e| format!("polygon {i}: {e}")))
                .collect::<Result<_, _>>()?,
        ),
        other => return Err(format!("type {other:?} is not a Point, LineString or Polygon (or their Multi- kinds)")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coords(json: &str) -> Coords {
        serde_json::from_str(json).expect("json")
    }

    #[test]
    fn positions_are_read_without_a_tree_and_bad_ones_are_named() {
        assert_eq!(coords("[116.4, 39.9, 44.5]"), Coords::Position([116.4, 39.9]));
        assert_eq!(coords("[[1,2],[3,4]]").positions(), Ok(vec![[1.0, 2.0], [3.0, 4.0]]));
        assert_eq!(coords(r#"[1, "NaN"]"#).position(), Err(r#""NaN" is not a finite number"#.to_string()));
        assert_eq!(coords("[1]").position(), Err("a position needs two numbers".to_string()));
        assert!(coords("5").positions().is_err());
        let polygon = coords(r#"[[[0,0],[1,0],{"x":1},[0,0]]]"#).polygon().expect_err("object");
        assert_eq!(polygon, "ring 0 position 2: a position must be an array [lon, lat]");
    }

    #[test]
    fn a_feature_of_the_wrong_shape_does_not_stop_the_stream() {
        let slots: Vec<FeatureSlot> =
            serde_json::from_str(r#"[1, "x", {"geometry": 3}, {"geometry": null, "properties": {"a": [1]}}]"#)
                .expect("lenient");
        assert!(matches!(slots[0], FeatureSlot::Other));
        assert!(matches!(slots[1], FeatureSlot::Other));
        assert!(matches!(slots[2], FeatureSlot::Object { geometry: GeometrySlot::Other, .. }));
        assert!(matches!(slots[3], FeatureSlot::Object { geometry: GeometrySlot::Missing, properties: Some(_), .. }));
        let from_value: FeatureSlot =
            serde_json::from_value(serde_json::json!({"geometry": {"type": "Point", "coordinates": [1, 2]}}))
                .expect("from a Value");
        let FeatureSlot::Object { geometry: GeometrySlot::Object { kind, coordinates }, .. } = from_value else {
            panic!("an object")
        };
        assert_eq!(raw_geometry(kind.as_ref(), coordinates.as_ref()), Ok(RawGeometry::Point([1.0, 2.0])));
    }
}
