//! `gridwatch coverage` and `gridwatch check grids`.

use crate::app::catalog::Catalog;
use crate::app::coverage::{compute, patrol_week, CoverageRules};
use crate::cli::config::{CoverageArgs, DatabaseArgs, PlanningArgs};
use crate::cli::error::CliError;
use crate::cli::shared::{now, runtime, write_out};
use crate::domain::access::Area;
use crate::store::connect;
use crate::store::Store;
use clap::Args;
use std::path::PathBuf;

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

/// `gridwatch coverage`: what to measure and where to write it.
#[derive(Args)]
pub(super) struct CoverageCommand {
    /// ISO week, e.g. 2026-W47.
    #[arg(long)]
    week: String,
    /// json or csv.
    #[arg(long, default_value = "json")]
    format: String,
    /// Write here instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    rules: CoverageArgs,
    #[command(flatten)]
    database: DatabaseArgs,
}

/// Runs `gridwatch coverage`.
pub(super) fn run_coverage(command: CoverageCommand) -> Result<(), CliError> {
    let CoverageCommand { week, format, out, rules, database } = command;
    runtime()?.block_on(async {
        let rules = rules.rules()?;
        let store = connect(&database.database_url).await?;
        let bytes = coverage(store.as_ref(), &week, &rules, &format).await?;
        write_out(out.as_deref(), &bytes)
    })
}

/// `gridwatch plan`: whose week and where to write it.
#[derive(Args)]
pub(super) struct PlanCommand {
    /// ISO week, e.g. 2026-W48.
    #[arg(long)]
    week: String,
    /// Only this officer (a user name, or a 网格员 named on grids).
    #[arg(long)]
    officer: Option<String>,
    /// csv or geojson.
    #[arg(long, default_value = "csv")]
    format: String,
    /// Write here instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Plan as if it were this time (RFC 3339); default: now.
    #[arg(long)]
    as_of: Option<String>,
    #[command(flatten)]
    planning: PlanningArgs,
    #[command(flatten)]
    rules: CoverageArgs,
    #[command(flatten)]
    database: DatabaseArgs,
}

/// Runs `gridwatch plan`.
pub(super) fn run_plan(command: PlanCommand) -> Result<(), CliError> {
    let PlanCommand { week, officer, format, out, as_of, planning, rules, database } = command;
    runtime()?.block_on(async {
        let rules = rules.rules()?;
        let plan_rules = planning.rules()?;
        let as_of = match as_of {
            Some(t) => time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339)
                .map_err(|e| format!("--as-of {t:?}: {e}"))?,
            None => now(),
        };
        let store = connect(&database.database_url).await?;
        let bytes = plan(store.as_ref(), &week, officer.as_deref(), &rules, &plan_rules, &format, as_of).await?;
        write_out(out.as_deref(), &bytes)
    })
}
