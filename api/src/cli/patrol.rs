//! `gridwatch coverage` and `gridwatch check grids`.

use crate::app::catalog::Catalog;
use crate::app::coverage::{compute, patrol_week, CoverageRules};
use crate::cli::error::CliError;
use crate::domain::access::Area;
use crate::store::Store;
use spatial::tiling::{check_tiling, TileGrid};
use std::path::Path;

fn listed(name: &str, errors: &[importers::RecordError]) -> Vec<String> {
    errors.iter().map(|e| format!("{name}: {e}")).collect()
}

/// Weekly coverage of the whole city as JSON or CSV (one row per point).
pub async fn coverage(store: &Store, week: &str, rules: &CoverageRules, format: &str) -> Result<Vec<u8>, CliError> {
    let week = patrol_week(week, rules)?;
    let catalog = Catalog::load(store).await?;
    let (coverage, _) = compute(store, &catalog.snapshot(), &Area::Everything, week, rules).await?;
    match format {
        "json" => serde_json::to_vec_pretty(&coverage).map_err(|e| CliError::Failed(e.to_string())),
        "csv" => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let header = ["week", "code", "name", "type", "grid_code", "street_code", "unit", "required", "visits"];
            let header_rest = ["inspections", "last_visit", "covered", "on_route"];
            crate::app::export::write_record(&mut w, header.iter().chain(&header_rest))?;
            for p in &coverage.points {
                let last = p.last_visit.and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok());
                crate::app::export::write_record(
                    &mut w,
                    [
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
                    ],
                )?;
            }
            w.into_inner().map_err(|e| CliError::Failed(e.to_string()))
        }
        other => Err(format!("--format {other:?}: use json or csv").into()),
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
        "geojson" => maps::geojson::feature_collection(maps::geojson::tiling_features(&report)),
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

/// `gridwatch plan`: the week's plan for every officer (or one), as CSV rows (officer, date,
/// order, task, code, name, type, eta, depart, lon, lat) or one GeoJSON collection per officer.
/// Officers are the users with the officer role and the 网格员 named on grids.
pub async fn plan(
    store: &Store,
    week: &str,
    officer: Option<&str>,
    rules: &CoverageRules,
    plan_rules: &crate::app::planning::PlanRules,
    format: &str,
    now: time::OffsetDateTime,
) -> Result<Vec<u8>, CliError> {
    use crate::app::planning::{officer_area, plan_week, Planner, Workload};
    if !matches!(format, "csv" | "geojson") {
        return Err(format!("--format {format:?}: use csv or geojson").into());
    }
    let week = patrol_week(week, rules)?;
    let catalog = Catalog::load(store).await?;
    let snapshot = catalog.snapshot();
    let users = store.users().await?;
    let officers: Vec<String> = match officer {
        Some(o) => vec![o.to_string()],
        None => {
            let mut names: std::collections::BTreeSet<String> = users
                .iter()
                .filter(|u| u.role == crate::domain::auth::Role::Officer && u.revoked_at.is_none())
                .map(|u| u.name.clone())
                .collect();
            names.extend(snapshot.index.entries().iter().filter_map(|e| e.payload.officer.clone()));
            names.into_iter().collect()
        }
    };
    // One street network and one city-wide load of the week's work serve every officer's plan.
    let network = crate::app::planning::street_network(store).await?;
    let work = Workload::load(store, &snapshot, &Area::Everything, week, rules).await?;
    let bar =
        indicatif::ProgressBar::with_draw_target(Some(officers.len() as u64), indicatif::ProgressDrawTarget::stderr());
    let mut plans = Vec::new();
    let mut left_out = Vec::new();
    for name in &officers {
        bar.set_message(name.clone());
        let area = officer_area(&users, &snapshot, name)
            .ok_or_else(|| format!("no officer {name:?}: no such user, and no grid names them"))?;
        let how = Planner { rules: plan_rules, offset: rules.offset, distances: network.as_ref() };
        let plan = plan_week(&work, name, &area, now, &how, None);
        left_out
            .extend(plan.unplanned.iter().map(|u| format!("{name}: {} {} left out ({:?})", u.task, u.code, u.reason)));
        plans.push(plan);
        bar.inc(1);
    }
    bar.finish_and_clear();
    for line in left_out.iter().take(50) {
        eprintln!("{line}");
    }
    if format == "geojson" {
        let all: Vec<serde_json::Value> = plans.iter().map(|p| p.to_geojson()).collect();
        return serde_json::to_vec_pretty(&all).map_err(|e| CliError::Failed(e.to_string()));
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = ["officer", "week", "date", "order", "task", "code", "name", "type", "eta", "depart", "lon", "lat"];
    crate::app::export::write_record(&mut w, header)?;
    let rfc = crate::domain::clock::rfc3339;
    for plan in &plans {
        for day in &plan.days {
            for s in &day.stops {
                crate::app::export::write_record(
                    &mut w,
                    [
                        plan.officer.clone(),
                        plan.week.clone(),
                        day.date.clone(),
                        s.order.to_string(),
                        s.task.to_string(),
                        s.code.clone(),
                        s.name.clone(),
                        s.kind.clone(),
                        rfc(s.eta),
                        rfc(s.depart),
                        s.lon.to_string(),
                        s.lat.to_string(),
                    ],
                )?;
            }
        }
    }
    w.into_inner().map_err(|e| CliError::Failed(e.to_string()))
}
