//! Grids (网格), versioned: an import closes the current version of a changed boundary and opens
//! the next, so a case keeps pointing at the grid as it was when it was assigned.

use super::db::{sql, Tx};
use super::{audit, codes_json, utc, AreaFilter, BBox, ImportSummary, Store, StoreError, StoredGrid, WORLD};
use crate::domain::auth::Actor;
use spatial::{Grid, GridLevel, MultiPolygon};
use std::collections::HashMap;
use time::OffsetDateTime;

/// The columns of [`GridRow`], with `{wkb}` standing for the dialect's geometry-as-WKB.
fn grid_columns(wkb: &str) -> String {
    format!(
        "code, version, name, parent_code, level, lead_department, responsible_unit, officer, {wkb} AS wkb, valid_from, valid_to"
    )
}

#[derive(sqlx::FromRow)]
struct GridRow {
    code: String,
    version: i32,
    name: Option<String>,
    parent_code: Option<String>,
    level: Option<String>,
    lead_department: Option<String>,
    responsible_unit: Option<String>,
    officer: Option<String>,
    wkb: Vec<u8>,
    valid_from: OffsetDateTime,
    valid_to: Option<OffsetDateTime>,
}

impl GridRow {
    fn into_stored(self) -> Result<StoredGrid, StoreError> {
        let geometry: MultiPolygon<f64> = spatial::wkb::multipolygon_from_wkb(&self.wkb)
            .map_err(|e| StoreError::Corrupt(format!("grid {} geometry: {e}", self.code)))?;
        let level = self.level.map(|l| l.parse::<GridLevel>()).transpose().map_err(StoreError::Corrupt)?;
        Ok(StoredGrid {
            grid: Grid {
                code: self.code,
                name: self.name,
                parent_code: self.parent_code,
                level,
                lead_department: self.lead_department,
                responsible_unit: self.responsible_unit,
                officer: self.officer,
                geometry,
            },
            version: self.version,
            valid_from: utc(self.valid_from),
            valid_to: self.valid_to.map(utc),
        })
    }
}

fn into_stored(rows: Vec<GridRow>) -> Result<Vec<StoredGrid>, StoreError> {
    rows.into_iter().map(GridRow::into_stored).collect()
}

fn level_text(grid: &Grid) -> Option<&'static str> {
    grid.level.map(GridLevel::as_str)
}

/// One step of an import, decided by comparing a grid with its current stored version.
#[derive(Debug, PartialEq)]
enum ImportStep<'a> {
    Create(&'a Grid),
    NewVersion { grid: &'a Grid, previous: i32 },
    UpdateAttributes { grid: &'a Grid, version: i32 },
    Unchanged,
}

/// Decides what to do with each incoming grid. Pure, so both backends behave alike.
fn plan_import<'a>(incoming: &'a [Grid], current: &[StoredGrid]) -> (Vec<ImportStep<'a>>, ImportSummary) {
    let by_code: HashMap<&str, &StoredGrid> = current.iter().map(|s| (s.grid.code.as_str(), s)).collect();
    let mut summary = ImportSummary::default();
    let steps = incoming
        .iter()
        .map(|grid| match by_code.get(grid.code.as_str()) {
            None => {
                summary.created += 1;
                ImportStep::Create(grid)
            }
            Some(stored) if stored.grid.geometry != grid.geometry => {
                summary.new_versions += 1;
                ImportStep::NewVersion { grid, previous: stored.version }
            }
            Some(stored) if !stored.grid.same_attributes(grid) => {
                summary.updated += 1;
                ImportStep::UpdateAttributes { grid, version: stored.version }
            }
            Some(_) => {
                summary.unchanged += 1;
                ImportStep::Unchanged
            }
        })
        .collect();
    (steps, summary)
}

impl Store {
    /// Upserts grids by code in one transaction (with its audit entry): all or nothing. With
    /// `dry_run` the transaction is rolled back: the summary says what would change.
    pub async fn import_grids(
        &self,
        grids: &[Grid],
        now: OffsetDateTime,
        actor: &Actor,
        dry_run: bool,
    ) -> Result<ImportSummary, StoreError> {
        let mut tx = self.pool.begin_write().await?;
        if let Some(lock) = self.dialect.lock_grids() {
            sql(lock).execute(&mut tx).await?;
        }
        let summary = self.apply_import(&mut tx, grids, now).await?;
        audit::record(&mut tx, now, actor, "grids.import", "grids", &serde_json::json!(summary)).await?;
        tx.finish(dry_run).await?;
        Ok(summary)
    }

    async fn apply_import(
        &self,
        tx: &mut Tx,
        grids: &[Grid],
        now: OffsetDateTime,
    ) -> Result<ImportSummary, StoreError> {
        let columns = grid_columns(self.dialect.wkb());
        let rows: Vec<GridRow> =
            sql(format!("SELECT {columns} FROM grids WHERE valid_to IS NULL")).all(&mut *tx).await?;
        let current = into_stored(rows)?;
        let (steps, summary) = plan_import(grids, &current);
        for step in steps {
            match step {
                ImportStep::Create(grid) => {
                    self.dialect.insert_grid(grid, 1, level_text(grid), now).execute(&mut *tx).await?;
                }
                ImportStep::NewVersion { grid, previous } => {
                    sql("UPDATE grids SET valid_to = $3 WHERE code = $1 AND version = $2")
                        .bind(&grid.code)
                        .bind(previous)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    self.dialect.insert_grid(grid, previous + 1, level_text(grid), now).execute(&mut *tx).await?;
                }
                ImportStep::UpdateAttributes { grid, version } => {
                    sql("UPDATE grids SET name = $3, parent_code = $4, level = $5, lead_department = $6, \
                         responsible_unit = $7, officer = $8 WHERE code = $1 AND version = $2")
                    .bind(&grid.code)
                    .bind(version)
                    .bind(&grid.name)
                    .bind(&grid.parent_code)
                    .bind(level_text(grid))
                    .bind(&grid.lead_department)
                    .bind(&grid.responsible_unit)
                    .bind(&grid.officer)
                    .execute(&mut *tx)
                    .await?;
                }
                ImportStep::Unchanged => {}
            }
        }
        if summary.created + summary.new_versions + summary.updated > 0 {
            sql("UPDATE revisions SET value = value + 1 WHERE name = 'grids'").execute(&mut *tx).await?;
        }
        Ok(summary)
    }

    /// The current version of every grid.
    pub async fn current_grids(&self) -> Result<Vec<StoredGrid>, StoreError> {
        self.grids_in_bbox(None, None, None, &AreaFilter::default(), i64::MAX).await
    }

    /// Every version of one grid, oldest first.
    pub async fn grid_versions(&self, code: &str) -> Result<Vec<StoredGrid>, StoreError> {
        let columns = grid_columns(self.dialect.wkb());
        let rows = sql(format!("SELECT {columns} FROM grids WHERE code = $1 ORDER BY version"))
            .bind(code)
            .all(&self.pool)
            .await?;
        into_stored(rows)
    }

    /// Grids whose bounding box meets `bbox` (all when `None`), optionally of one level, within
    /// `area`, by code, at most `limit`: the current versions, or those valid at `as_of`.
    pub async fn grids_in_bbox(
        &self,
        bbox: Option<BBox>,
        level: Option<GridLevel>,
        as_of: Option<OffsetDateTime>,
        area: &AreaFilter,
        limit: i64,
    ) -> Result<Vec<StoredGrid>, StoreError> {
        let d = self.dialect;
        let b = bbox.unwrap_or(WORLD);
        let statement = format!(
            "SELECT {columns} FROM grids \
             WHERE (($9 IS NULL AND valid_to IS NULL) \
                    OR ({valid_from} <= {as_of} AND (valid_to IS NULL OR {valid_to} > {as_of}))) \
             AND {in_box} AND ($5 IS NULL OR level = $5) \
             AND ($7 IS NULL OR code IN ({codes})) AND ($8 IS NULL OR responsible_unit = $8) ORDER BY code LIMIT $6",
            columns = grid_columns(d.wkb()),
            valid_from = d.time("valid_from"),
            valid_to = d.time("valid_to"),
            as_of = d.time("$9"),
            in_box = d.grid_meets_box(1),
            codes = d.json_list(7),
        );
        let rows = sql(statement)
            .bind(b.min_lon)
            .bind(b.min_lat)
            .bind(b.max_lon)
            .bind(b.max_lat)
            .bind(level.map(GridLevel::as_str))
            .bind(limit)
            .bind(codes_json(area))
            .bind(&area.unit)
            .bind(as_of)
            .all(&self.pool)
            .await?;
        into_stored(rows)
    }

    /// A number that changes whenever grids change (to know when to rebuild the index).
    pub async fn grid_revision(&self) -> Result<i64, StoreError> {
        Ok(sql("SELECT value FROM revisions WHERE name = 'grids'").scalar(&self.pool).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    fn grid(code: &str, size: f64, name: &str) -> Grid {
        let mut g = Grid::new(
            code,
            MultiPolygon(vec![polygon![(x: 0., y: 0.), (x: size, y: 0.), (x: size, y: size), (x: 0., y: 0.)]]),
        );
        g.name = Some(name.into());
        g
    }

    #[test]
    fn import_plan_distinguishes_new_geometry_attributes_and_nothing() {
        let stored =
            |g: Grid, version| StoredGrid { grid: g, version, valid_from: OffsetDateTime::UNIX_EPOCH, valid_to: None };
        let current = vec![stored(grid("A", 1., "a"), 1), stored(grid("B", 1., "b"), 3), stored(grid("C", 1., "c"), 1)];
        let incoming = vec![grid("A", 2., "a"), grid("B", 1., "b2"), grid("C", 1., "c"), grid("D", 1., "d")];
        let (steps, summary) = plan_import(&incoming, &current);
        assert_eq!(steps[0], ImportStep::NewVersion { grid: &incoming[0], previous: 1 });
        assert_eq!(steps[1], ImportStep::UpdateAttributes { grid: &incoming[1], version: 3 });
        assert_eq!(steps[2], ImportStep::Unchanged);
        assert_eq!(steps[3], ImportStep::Create(&incoming[3]));
        assert_eq!(summary, ImportSummary { created: 1, new_versions: 1, updated: 1, unchanged: 1 });
    }
}
