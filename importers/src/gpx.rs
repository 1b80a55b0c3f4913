//! GPX points as point records: waypoints (`<wpt>`, a phone's marked places) become assessment
//! points or reported problems; track points (`<trkpt>`) become an officer's GPS fixes.

use crate::record::{RawGeometry, Record};
use crate::{FileError, RecordError};
use serde_json::{Map, Value};
use std::path::Path;

/// Parses GPX text and checks it is GPX.
pub fn document<'a>(path: &Path, text: &'a str) -> Result<roxmltree::Document<'a>, FileError> {
    let name = path.display().to_string();
    let doc = roxmltree::Document::parse(text)
        .map_err(|e| FileError::Format { path: name.clone(), reason: format!("not well-formed XML: {e}") })?;
    if doc.root_element().tag_name().name() != "gpx" {
        return Err(FileError::Format { path: name, reason: "the root element is not <gpx>".into() });
    }
    Ok(doc)
}

/// Which points of a GPX file are its records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum GpxPoints {
    #[default]
    Waypoints,
    TrackPoints,
}

/// Every waypoint or track point (0-based) with `name`, `desc`, `cmt`, `type`, `sym`, `time`,
/// `ele` and `hdop` as properties; a waypoint's `name` also stands in for a missing `code`.
pub fn read_points(
    path: &Path,
    text: &str,
    which: GpxPoints,
    sink: &mut dyn FnMut(Result<Record, RecordError>),
) -> Result<(), FileError> {
    let doc = document(path, text)?;
    let (tag, unit) = match which {
        GpxPoints::Waypoints => ("wpt", "waypoint"),
        GpxPoints::TrackPoints => ("trkpt", "track point"),
    };
    for (i, wpt) in doc.descendants().filter(|n| n.has_tag_name(tag)).enumerate() {
        let mut properties = Map::new();
        for tag in ["name", "desc", "cmt", "type", "sym", "time", "ele", "hdop"] {
            if let Some(t) = wpt.children().find(|c| c.has_tag_name(tag)).and_then(|c| c.text()) {
                if !t.trim().is_empty() {
                    properties.insert(tag.into(), Value::String(t.trim().into()));
                }
            }
        }
        if let (GpxPoints::Waypoints, Some(name)) = (which, properties.get("name").cloned()) {
            properties.entry("code").or_insert(name);
        }
        let code = crate::geojson::text_property(&properties, "code");
        let coordinate = |attr: &str| {
            wpt.attribute(attr).and_then(|v| v.trim().parse::<f64>().ok()).filter(|v| v.is_finite()).ok_or_else(|| {
                RecordError::new(unit, i, code.clone(), attr, format!("{:?} is not a number", wpt.attribute(attr)))
            })
        };
        let record = coordinate("lon").and_then(|lon| {
            Ok(Record { unit, number: i, geometry: Some(RawGeometry::Point([lon, coordinate("lat")?])), properties })
        });
        sink(record);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waypoints_become_points_named_by_their_name() {
        let text = r#"<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">
          <wpt lat="39.915" lon="116.404"><name>东四菜市场</name><type>农贸市场</type><time>2026-11-16T01:00:00Z</time></wpt>
          <wpt lat="39.9" lon="abc"><name>坏点</name></wpt>
          <trk><trkseg><trkpt lat="39.9" lon="116.4"/></trkseg></trk></gpx>"#;
        let mut records = Vec::new();
        read_points(Path::new("w.gpx"), text, GpxPoints::Waypoints, &mut |r| records.push(r)).expect("gpx");
        assert_eq!(records.len(), 2, "track points are not waypoints");
        let first = records[0].as_ref().expect("first");
        assert_eq!(
            (first.properties["code"].as_str(), first.properties["type"].as_str()),
            (Some("东四菜市场"), Some("农贸市场"))
        );
        assert_eq!(first.geometry, Some(RawGeometry::Point([116.404, 39.915])));
        let bad = records[1].as_ref().expect_err("bad lon");
        assert_eq!(
            (bad.unit, bad.record, bad.field.as_str(), bad.code.as_deref()),
            ("waypoint", 1, "lon", Some("坏点"))
        );
        assert!(read_points(Path::new("k.gpx"), "<kml/>", GpxPoints::Waypoints, &mut |_| {}).is_err());
    }
}
