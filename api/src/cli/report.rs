//! `gridwatch report weekly`: the weekly bulletin to a file.

use crate::app::bulletin::{load, parse_week, week_of, GroupBy};
use crate::app::catalog::Catalog;
use crate::cli::error::CliError;
use crate::domain::clock::{Clock, SystemClock};
use crate::domain::workflow::calendar::WorkingCalendar;
use crate::store::{AreaFilter, Store};
use std::path::Path;

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
