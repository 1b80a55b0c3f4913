//! Grid features (code, name, parent, level, owners) from polygon features.

use crate::geojson::{text_property, PolygonFeature};
use crate::RecordError;
use serde::Serialize;
use spatial::validity::{repair, validate};
use spatial::{Grid, GridLevel};
use std::collections::HashSet;

/// One fix `--repair` made.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RepairNote {
    pub unit: &'static str,
    pub record: usize,
    pub code: String,
    pub fix: String,
}

/// The grids a file yields, or why not.
#[derive(Debug, Default)]
pub struct GridBatch {
    pub grids: Vec<Grid>,
    pub repairs: Vec<RepairNote>,
    pub errors: Vec<RecordError>,
}

/// Turns features into grids. Invalid geometry is an error unless `with_repair`, in which case it
/// is repaired where possible and each fix is noted.
pub fn grids_from_features(
    features: Vec<PolygonFeature>,
    with_repair: bool,
    default_level: Option<GridLevel>,
) -> GridBatch {
    let mut batch = GridBatch::default();
    let mut seen = HashSet::new();
    for f in features {
        let code = text_property(&f.properties, "code").or(f.id.clone());
        let err = |field: &str, reason: String| RecordError::new(f.unit, f.index, code.clone(), field, reason);
        let Some(code) = code.clone() else {
            batch.errors.push(err("code", "is required".into()));
            continue;
        };
        if !seen.insert(code.clone()) {
            batch.errors.push(err("code", "appears more than once in the file".into()));
            continue;
        }
        let level = match text_property(&f.properties, "level") {
            Some(text) => match text.parse::<GridLevel>() {
                Ok(level) => Some(level),
                Err(reason) => {
                    batch.errors.push(err("level", reason));
                    continue;
                }
            },
            None => default_level.or_else(|| GridLevel::from_code(&code)),
        };
        let empty = f.geometry.iter().flatten().all(Vec::is_empty);
        let geometry = if with_repair && empty {
            // A unit whose boundary was lost (a county collapsed by simplification) still
            // belongs in the hierarchy: kept, covering nothing, until its boundary comes.
            batch.repairs.push(RepairNote {
                unit: f.unit,
                record: f.index,
                code: code.clone(),
                fix: "the boundary is empty: kept without area (it covers nothing until a boundary is imported)".into(),
            });
            geo::MultiPolygon(Vec::new())
        } else if with_repair {
            match repair(&f.geometry) {
                Ok((geometry, fixes)) => {
                    batch.repairs.extend(fixes.into_iter().map(|fix| RepairNote {
                        unit: f.unit,
                        record: f.index,
                        code: code.clone(),
                        fix,
                    }));
                    geometry
                }
                Err(defects) => {
                    batch.errors.extend(defects.iter().map(|d| err("geometry", format!("{d} (cannot be repaired)"))));
                    continue;
                }
            }
        } else {
            match validate(&f.geometry) {
                Ok(geometry) => geometry,
                Err(defects) => {
                    batch.errors.extend(defects.iter().map(|d| {
                        let hint = if d.repairable { " (--repair can fix this)" } else { "" };
                        err("geometry", format!("{d}{hint}"))
                    }));
                    continue;
                }
            }
        };
        // One winding for every source (Shapefiles run outer rings clockwise, GeoJSON
        // counter-clockwise), so the same boundary from two formats compares equal.
        let geometry = geo::orient::Orient::orient(&geometry, geo::orient::Direction::Default);
        let prop = |key: &str| text_property(&f.properties, key);
        batch.grids.push(Grid {
            name: prop("name"),
            parent_code: prop("parent_code"),
            level,
            lead_department: prop("lead_department"),
            responsible_unit: prop("responsible_unit"),
            officer: prop("officer"),
            code,
            geometry,
        });
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn feature(index: usize, props: serde_json::Value, rings: Vec<Vec<[f64; 2]>>) -> PolygonFeature {
        PolygonFeature {
            unit: "feature",
            index,
            id: None,
            properties: props.as_object().cloned().unwrap_or_default(),
            geometry: vec![rings],
        }
    }

    fn square() -> Vec<Vec<[f64; 2]>> {
        vec![vec![[0., 0.], [1., 0.], [1., 1.], [0., 1.], [0., 0.]]]
    }

    fn bowtie() -> Vec<Vec<[f64; 2]>> {
        vec![vec![[0., 0.], [2., 2.], [2., 0.], [0., 2.], [0., 0.]]]
    }

    #[test]
    fn attributes_levels_and_duplicates() {
        let batch = grids_from_features(
            vec![
                feature(0, json!({"code": "110101001001001", "responsible_unit": "东华门街道"}), square()),
                feature(1, json!({"code": "110101001001001"}), square()),
                feature(2, json!({"name": "no code"}), square()),
                feature(3, json!({"code": "X", "level": "县"}), square()),
            ],
            false,
            None,
        );
        assert_eq!(batch.grids.len(), 1);
        assert_eq!(batch.grids[0].level, Some(GridLevel::Grid));
        assert_eq!(batch.grids[0].responsible_unit.as_deref(), Some("东华门街道"));
        let fields: Vec<(usize, &str)> = batch.errors.iter().map(|e| (e.record, e.field.as_str())).collect();
        assert_eq!(fields, [(1, "code"), (2, "code"), (3, "level")]);
    }

    #[test]
    fn invalid_geometry_is_refused_unless_repair_is_asked() {
        let strict = grids_from_features(vec![feature(0, json!({"code": "A"}), bowtie())], false, None);
        assert!(strict.grids.is_empty());
        assert!(strict.errors[0].reason.contains("self-intersection"));
        assert!(strict.errors[0].reason.contains("--repair"));

        let repaired = grids_from_features(vec![feature(0, json!({"code": "A"}), bowtie())], true, None);
        assert_eq!(repaired.grids.len(), 1);
        assert_eq!(repaired.repairs.len(), 1);
        assert_eq!(repaired.repairs[0].code, "A");
    }
}
