//! `gridwatch report weekly`: the weekly bulletin to a file.

use crate::app::bulletin::{load, parse_week, week_of, GroupBy};
use crate::app::catalog::Catalog;
use crate::cli::config::DatabaseArgs;
use crate::cli::error::CliError;
use crate::cli::shared::runtime;
use crate::domain::clock::{Clock, SystemClock};
use crate::domain::workflow::calendar::WorkingCalendar;
use crate::store::{AreaFilter, Store};
use clap::Subcommand;
use std::path::{Path, PathBuf};

pub async fn weekly(
    store: &Store,
    week: Option<&str>,
    by: &str,
    format: &str,
    out: &Path,
    as_of: Option<time::OffsetDateTime>,
) -> Result<(), CliError> {
    let now = as_of.unwrap_or_else(|| SystemClock.now());
    let offset = WorkingCalendar::default().offset;
    let week = match week {
        Some(w) => parse_week(w, offset)?,
        None => week_of(now, offset),
    };
    let by = GroupBy::parse(by)?;
    let catalog = Catalog::load(store).await?;
    let bulletin = load(store, &catalog.snapshot(), &AreaFilter::default(), week, by, now).await?;
    let bytes = match format {
        "json" => serde_json::to_vec_pretty(&bulletin)?,
        "csv" => bulletin.to_csv()?,
        "xlsx" => bulletin.to_xlsx()?,
        other => return Err(format!("--format {other:?}: use json, csv or xlsx").into()),
    };
    std::fs::write(out, bytes).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    println!(
        "wrote {} ({}, {} groups, {} cases dispatched in {})",
        out.display(),
        format,
        bulletin.rows.len(),
        bulletin.total.counts.should_handle,
        bulletin.week.label
    );
    Ok(())
}

#[derive(Subcommand)]
pub(super) enum ReportCommand {
    /// The weekly bulletin (一周一通报): indicators per grid, street, unit or department, ranked.
    Weekly {
        /// ISO week, e.g. 2026-W47 (default: this week).
        #[arg(long)]
        week: Option<String>,
        /// grid, street, unit or department.
        #[arg(long, default_value = "street")]
        by: String,
        /// json, csv or xlsx.
        #[arg(long, default_value = "xlsx")]
        format: String,
        #[arg(long)]
        out: PathBuf,
        /// Count cases as they stood at this RFC 3339 time (default: now, or the week's end if earlier).
        #[arg(long)]
        as_of: Option<String>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

/// Runs `gridwatch report …`.
pub(super) fn run(command: ReportCommand) -> Result<(), CliError> {
    let ReportCommand::Weekly { week, by, format, out, as_of, database } = command;
    runtime()?.block_on(async {
        let as_of = as_of
            .map(|t| {
                time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339)
                    .map_err(|e| format!("--as-of {t:?}: {e}"))
            })
            .transpose()?;
        let store = crate::store::connect(&database.database_url).await?;
        weekly(store.as_ref(), week.as_deref(), &by, &format, &out, as_of).await
    })
}
