//! `gridwatch coverage` and `gridwatch check grids`.

use crate::access::Area;
use crate::catalog::Catalog;
use crate::coverage::{compute, patrol_week, CoverageRules};
use crate::store::Store;
use spatial::tiling::{check_tiling, TileGrid};
use std::path::Path;

fn listed(name: &str, errors: &[importers::RecordError]) -> Vec<String> {
    errors.iter().map(|e| format!("{name}: {e}")).collect()
}

/// Weekly coverage of the whole city as JSON or CSV (one row per point).
pub async fn coverage(store: &dyn Store, week: &str, rules: &CoverageRules, format: &str) -> Result<Vec<u8>, String> {
    let week = patrol_week(week, rules)?;
    let catalog = Catalog::load(store).await.map_err(|e| e.to_string())?;
    let (coverage, _) =
        compute(store, &catalog.snapshot(), &Area::Everything, week, rules).await.map_err(|e| e.to_string())?;
    match format {
        "json" => serde_json::to_vec_pretty(&coverage).map_err(|e| e.to_string()),
        "csv" => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let header = ["week", "code", "name", "type", "grid_code", "street_code", "unit", "required", "visits"];
            let header_rest = ["inspections", "last_visit", "covered", "on_route"];
            w.write_record(header.iter().chain(&header_rest)).map_err(|e| e.to_string())?;
            for p in &coverage.points {
                let last = p.last_visit.and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok());
                w.write_record([
                    coverage.week.label.clone(),
                    p.code.clone(),
                    p.name.clone(),
                    p.kind.clone(),
                    p.grid_code.clone().unwrap_or_default(),
                    p.street_code.clone().unwrap_or_default(),
                    p.unit.clone().unwrap_or_default(),
                    p.required.to_string(),
                    p.visits.to_string(),
                    p.inspections.to_string(),
                    last.unwrap_or_default(),
                    p.covered.to_string(),
                    p.on_route.to_string(),
                ])
                .map_err(|e| e.to_string())?;
            }
            w.into_inner().map_err(|e| e.to_string())
        }
        other => Err(format!("--format {other:?}: use json or csv")),
    }
}

/// `gridwatch check grids`: the tiling check on files, with invalid grids reported (and repaired
/// for the check where possible).
pub fn check_grids(boundary: &Path, grids: &Path, min_area_m2: f64, format: &str) -> Result<Vec<u8>, Vec<String>> {
    if !matches!(format, "json" | "geojson") {
        return Err(vec![format!("--format {format:?}: use json or geojson")]);
    }
    let bname = boundary.display().to_string();
    let (bfeatures, berrors) = importers::geojson::read_polygon_features(boundary).map_err(|e| vec![e.to_string()])?;
    if !berrors.is_empty() {
        return Err(listed(&bname, &berrors));
    }
    let mut boundary_parts = Vec::new();
    for f in &bfeatures {
        let (mp, _) = spatial::validity::repair(&f.geometry).map_err(|defects| {
            defects.iter().map(|d| format!("{bname}: feature {}: {d}", f.index)).collect::<Vec<_>>()
        })?;
        boundary_parts.extend(mp.0);
    }
    let boundary_geometry = geo::unary_union(boundary_parts.iter());
    let gname = grids.display().to_string();
    let (features, errors) = importers::geojson::read_polygon_features(grids).map_err(|e| vec![e.to_string()])?;
    if !errors.is_empty() {
        return Err(listed(&gname, &errors));
    }
    let mut invalid = Vec::new();
    let mut tiles = Vec::with_capacity(features.len());
    for f in &features {
        let code = importers::geojson::text_property(&f.properties, "code")
            .or_else(|| f.id.clone())
            .unwrap_or_else(|| format!("#{}", f.index));
        match spatial::validity::validate(&f.geometry) {
            Ok(mp) => tiles.push(TileGrid { code, geometry: mp }),
            Err(defects) => {
                let repaired = spatial::validity::repair(&f.geometry).ok().map(|(mp, _)| mp);
                invalid.push(serde_json::json!({
                    "feature": f.index,
                    "code": code,
                    "defects": defects,
                    "repaired_for_check": repaired.is_some(),
                }));
                if let Some(mp) = repaired {
                    tiles.push(TileGrid { code, geometry: mp });
                }
            }
        }
    }
    let report = check_tiling(&boundary_geometry, &tiles, min_area_m2);
    let out = match format {
        "geojson" => maps::geojson::feature_collection(crate::http::tiling_features(&report)),
        _ => {
            let mut v = serde_json::json!(report);
            if let Some(obj) = v.as_object_mut() {
                obj.insert("invalid".into(), serde_json::json!(invalid));
                if let Some(summary) = obj.get_mut("summary").and_then(|s| s.as_object_mut()) {
                    summary.insert("invalid".into(), serde_json::json!(invalid.len()));
                }
            }
            v
        }
    };
    serde_json::to_vec_pretty(&out).map_err(|e| vec![e.to_string()])
}
