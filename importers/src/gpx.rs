//! GPX waypoints (`<wpt>`) as point records: a phone's marked places become assessment points
//! or reported problems. Track points are read by `patrol::read_gpx`.

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

/// Every waypoint (0-based) with `name`, `desc`, `cmt`, `type`, `sym`, `time` and `ele` as
/// properties; `name` also stands in for a missing `code`.
pub fn read_waypoints(
    path: &Path,
    text: &str,
    sink: &mut dyn FnMut(Result<Record, RecordError>),
) -> Result<(), FileError> {
    let doc = document(path, text)?;
    for (i, wpt) in doc.descendants().filter(|n| n.has_tag_name("wpt")).enumerate() {
        let mut properties = Map::new();
        for tag in ["name", "desc", "cmt", "type", "sym", "time", "ele"] {
            if let Some(t) = wpt.children().find(|c| c.has_tag_name(tag)).and_then(|c| c.text()) {
                if !t.trim().is_empty() {
                    properties.insert(tag.into(), Value::String(t.trim().into()));
                }
            }
        }
        if let Some(name) = properties.get("name").cloned() {
            properties.entry("code").or_insert(name);
        }
        let code = crate::geojson::text_property(&properties, "code");
        let coordinate = |attr: &str| {
            wpt.attribute(attr).and_then(|v| v.trim().parse::<f64>().ok()).filter(|v| v.is_finite()).ok_or_else(|| {
                RecordError::new(
                    "waypoint",
                    i,
                    code.clone(),
                    attr,
                    format!("{:?} is not a number", wpt.attribute(attr)),
                )
            })
        };
        let record = coordinate("lon").and_then(|lon| {
            Ok(Record {
                unit: "waypoint",
                number: i,
                geometry: Some(RawGeometry::Point([lon, coordinate("lat")?])),
                properties,
            })
        });
        sink(record);
    }
    Ok(())
}
