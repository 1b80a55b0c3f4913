//! `gridwatch check grids`: the tiling check (责任全覆盖) on files, without a database.

use crate::cli::error::{CliError, ConfigError};
use crate::cli::shared::write_out;
use clap::Subcommand;
use spatial::tiling::{check_tiling, TileGrid};
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub(super) enum CheckCommand {
    /// The tiling check (责任全覆盖): gaps, overlaps, parts outside the boundary and invalid grids.
    #[command(
        after_help = "Example:\n  gridwatch check grids --boundary district.geojson grids.geojson --format json --min-area 1"
    )]
    Grids {
        /// The jurisdiction boundary (GeoJSON Polygon/MultiPolygon features, taken together).
        #[arg(long)]
        boundary: PathBuf,
        /// The grids of one level (GeoJSON with a `code` property).
        grids: PathBuf,
        /// json (summary and every finding) or geojson (the findings as features).
        #[arg(long, default_value = "json")]
        format: String,
        /// Parts (and overlapping pairs) smaller than this many square metres are ignored.
        #[arg(long, default_value_t = 1.0)]
        min_area: f64,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn listed(name: &str, errors: &[importers::RecordError]) -> Vec<String> {
    errors.iter().map(|e| format!("{name}: {e}")).collect()
}

/// Runs `gridwatch check …`.
pub(super) fn run(command: CheckCommand) -> Result<(), CliError> {
    let CheckCommand::Grids { boundary, grids, format, min_area, out } = command;
    if !(min_area.is_finite() && min_area >= 0.0) {
        return Err(ConfigError::Flag {
            flag: "--min-area",
            value: min_area.to_string(),
            reason: "must be a non-negative number of square metres".into(),
        }
        .into());
    }
    match check_grids(&boundary, &grids, min_area, &format) {
        Ok(bytes) => write_out(out.as_deref(), &bytes),
        Err(problems) => Err(CliError::problems(&problems, "nothing was written")),
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
