//! `gridwatch import grids FILE`: validate everything first, then store all or nothing.

use crate::store::{ImportSummary, Store};
use importers::geojson::read_polygon_features;
use importers::grids::{grids_from_features, RepairNote};
use std::path::Path;
use time::OffsetDateTime;

/// What an import reports back.
#[derive(Debug)]
pub struct ImportReport {
    pub summary: ImportSummary,
    pub repairs: Vec<RepairNote>,
}

/// Reads and checks the file; on any bad feature returns every problem found and stores nothing.
pub async fn import_grids(
    store: &dyn Store,
    path: &Path,
    repair: bool,
    now: OffsetDateTime,
) -> Result<ImportReport, Vec<String>> {
    let name = path.display().to_string();
    let (features, mut errors) = read_polygon_features(path).map_err(|e| vec![e.to_string()])?;
    if features.is_empty() && errors.is_empty() {
        return Err(vec![format!("{name}: the collection has no features")]);
    }
    let batch = grids_from_features(features, repair);
    errors.extend(batch.errors);
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.record);
        return Err(errors.iter().map(|e| format!("{name}: {e}")).collect());
    }
    let summary = store
        .import_grids(&batch.grids, now, &crate::auth::Actor::cli())
        .await
        .map_err(|e| vec![format!("{name}: {e}")])?;
    Ok(ImportReport { summary, repairs: batch.repairs })
}

/// Replaces the catalogue with a CSV or JSON file (by extension); on any bad row, nothing changes.
pub async fn import_categories(store: &dyn Store, path: &Path) -> Result<usize, Vec<String>> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| vec![format!("cannot read {name}: {e}")])?;
    let json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let categories = if json {
        crate::workflow::catalogue::parse_json(&text, &name)?
    } else {
        crate::workflow::catalogue::parse_csv(&text, &name)?
    };
    let now = crate::clock::Clock::now(&crate::clock::SystemClock);
    store.replace_categories(categories, now, crate::auth::Actor::cli()).await.map_err(|e| vec![format!("{name}: {e}")])
}
