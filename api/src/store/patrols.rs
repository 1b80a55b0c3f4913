//! Patrol storage shared by both backends: assessment points, planned routes, track batches
//! and inspections. Geometry SQL differs only in how WKB goes in and out, which each backend
//! module supplies as `wkb_in(n)` and `WKB_OUT`.

use super::StoreError;
use crate::domain::patrol::{CriterionResult, Inspection, StoredPoint, StoredRoute};
use geo::BoundingRect;
use sqlx::Row;

/// `[min_lon, min_lat, max_lon, max_lat]` of a geometry (zeros for an empty one).
pub(crate) fn bounds(g: &geo::Geometry<f64>) -> [f64; 4] {
    g.bounding_rect().map_or([0.0; 4], |r| [r.min().x, r.min().y, r.max().x, r.max().y])
}

/// The SELECT of assessment points with their geometry as WKB, followed by `tail`.
pub(crate) fn point_query(wkb_out: &str, tail: &str) -> String {
    format!(
        "SELECT code, name, kind, {wkb_out} AS wkb, criteria, required_per_week, grid_code, grids, \
         responsible_unit, created_at, updated_at FROM assessment_points {tail}"
    )
}

pub(crate) fn point_from_row<'r, R>(r: &'r R) -> Result<StoredPoint, StoreError>
where
    R: Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i32: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    time::OffsetDateTime: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let code: String = r.try_get("code")?;
    let corrupt = |what: &str, e: String| StoreError::Corrupt(format!("assessment point {code} {what}: {e}"));
    let wkb: Vec<u8> = r.try_get("wkb")?;
    let criteria: String = r.try_get("criteria")?;
    let grids: String = r.try_get("grids")?;
    let required: i32 = r.try_get("required_per_week")?;
    Ok(StoredPoint {
        geometry: spatial::wkb::geometry_from_wkb(&wkb).map_err(|e| corrupt("geometry", e.to_string()))?,
        criteria: serde_json::from_str(&criteria).map_err(|e| corrupt("criteria", e.to_string()))?,
        grids: serde_json::from_str(&grids).map_err(|e| corrupt("grids", e.to_string()))?,
        required_per_week: required.clamp(1, 7) as u8,
        name: r.try_get("name")?,
        kind: r.try_get("kind")?,
        grid_code: r.try_get("grid_code")?,
        responsible_unit: r.try_get("responsible_unit")?,
        created_at: super::utc(r.try_get("created_at")?),
        updated_at: super::utc(r.try_get("updated_at")?),
        code,
    })
}

pub(crate) fn route_from_row<'r, R>(r: &'r R) -> Result<StoredRoute, StoreError>
where
    R: Row,
    &'r str: sqlx::ColumnIndex<R>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i32: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let id: i64 = r.try_get("id")?;
    let wkb: Vec<u8> = r.try_get("wkb")?;
    let line = match spatial::wkb::geometry_from_wkb(&wkb) {
        Ok(geo::Geometry::LineString(ls)) => ls,
        other => return Err(StoreError::Corrupt(format!("route {id}: not a line string: {other:?}"))),
    };
    let weekday: i32 = r.try_get("weekday")?;
    Ok(StoredRoute {
        id,
        officer: r.try_get("officer")?,
        weekday: weekday.clamp(1, 7) as u8,
        name: r.try_get("name")?,
        line,
    })
}

pub(crate) fn inspection_from_row<'r, R>(r: &'r R) -> Result<Inspection, StoreError>
where
    R: Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let id: i64 = r.try_get("id")?;
    let corrupt = |what: &str, e: serde_json::Error| StoreError::Corrupt(format!("inspection {id} {what}: {e}"));
    let results: String = r.try_get("results")?;
    let photos: String = r.try_get("photos")?;
    let problems: String = r.try_get("problems")?;
    Ok(Inspection {
        id,
        point_code: r.try_get("point_code")?,
        officer: r.try_get("officer")?,
        at: r.try_get("at")?,
        results: serde_json::from_str::<Vec<CriterionResult>>(&results).map_err(|e| corrupt("results", e))?,
        note: r.try_get("note")?,
        photos: serde_json::from_str(&photos).map_err(|e| corrupt("photos", e))?,
        problems: serde_json::from_str(&problems).map_err(|e| corrupt("problems", e))?,
    })
}

/// Binds a stored point's columns, `code` to `responsible_unit`, in table order (what the
/// point UPDATE and the multi-row INSERT both start with).
macro_rules! bind_point {
    ($query:expr, $p:expr) => {{
        let p: &$crate::domain::patrol::StoredPoint = $p;
        let [min_lon, min_lat, max_lon, max_lat] = $crate::store::patrols::bounds(&p.geometry);
        $query
            .bind(&p.code)
            .bind(&p.name)
            .bind(&p.kind)
            .bind(spatial::wkb::geometry_to_wkb(&p.geometry))
            .bind(min_lon)
            .bind(min_lat)
            .bind(max_lon)
            .bind(max_lat)
            .bind(serde_json::to_string(&p.criteria).unwrap_or_else(|_| "[]".into()))
            .bind(i32::from(p.required_per_week))
            .bind(&p.grid_code)
            .bind(serde_json::to_string(&p.grids).unwrap_or_else(|_| "[]".into()))
            .bind(&p.responsible_unit)
    }};
}

/// Rows per multi-row point INSERT (15 columns each: 7,500 parameters, within both backends' limits).
pub(crate) const INSERT_ROWS: usize = 500;

/// The multi-row INSERT of `$rows` new points. Positional placeholders: SQLite looks `$N`
/// names up one by one, which is quadratic in a statement of thousands of parameters.
macro_rules! insert_points_sql {
    ($rows:expr) => {{
        const COLUMNS: usize = 15;
        let rows: Vec<String> = (0..$rows)
            .map(|i| {
                let columns: Vec<String> = (1..=COLUMNS)
                    .map(|k| if k == 4 { wkb_positional(i * COLUMNS + k) } else { positional(i * COLUMNS + k) })
                    .collect();
                format!("({})", columns.join(", "))
            })
            .collect();
        format!(
            "INSERT INTO assessment_points (code, name, kind, geom, min_lon, min_lat, max_lon, max_lat, criteria, \
             required_per_week, grid_code, grids, responsible_unit, created_at, updated_at) VALUES {}",
            rows.join(", ")
        )
    }};
}

/// Inserts new points with `$sql` from [`insert_points_sql!`] for exactly their number.
macro_rules! insert_points {
    ($tx:expr, $sql:expr, $points:expr, $now:expr) => {{
        let points: &[$crate::domain::patrol::StoredPoint] = $points;
        let mut query = sqlx::query($sql);
        for p in points {
            query = bind_point!(query, p).bind($now).bind($now);
        }
        query.execute(&mut *$tx).await?;
    }};
}

/// The stored points among `$points`, by code: one query for the batch.
macro_rules! existing_points {
    ($tx:expr, $points:expr) => {{
        let points: &[$crate::domain::patrol::StoredPoint] = $points;
        let placeholders: Vec<String> = (1..=points.len()).map(positional).collect();
        let tail = format!("WHERE code IN ({})", placeholders.join(", "));
        let sql = $crate::store::patrols::point_query(WKB_OUT, &tail);
        let mut query = sqlx::query(&sql);
        for p in points {
            query = query.bind(&p.code);
        }
        let mut existing = std::collections::HashMap::with_capacity(points.len());
        for r in query.fetch_all(&mut *$tx).await? {
            let p = $crate::store::patrols::point_from_row(&r)?;
            existing.insert(p.code.clone(), p);
        }
        existing
    }};
}

/// The patrol methods of `Store`, the same on both backends. Expands inside `impl Store for …`
/// of a type with `begin_write()`, `pool`, `wkb_in(n)`, `positional(n)`, `wkb_positional(n)`,
/// `WKB_OUT` and `INSERT_PROBLEM` in scope.
macro_rules! patrol_methods {
    () => {
        fn upsert_point_batches(
            &self,
            mut batches: tokio::sync::mpsc::Receiver<$crate::domain::patrol::PointBatch>,
            now: OffsetDateTime,
            actor: $crate::domain::auth::Actor,
            dry_run: bool,
        ) -> $crate::store::BoxFuture<'_, Result<$crate::domain::patrol::UpsertSummary, StoreError>> {
            Box::pin(async move {
                let mut tx = self.begin_write().await?;
                let mut summary = $crate::domain::patrol::UpsertSummary::default();
                let (mut fresh, mut codes, mut received, mut commit) = (Vec::new(), Vec::new(), 0usize, false);
                // Into an empty table (a city's first import) every point is new: no lookups.
                let empty_table = sqlx::query("SELECT 1 FROM assessment_points LIMIT 1")
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_none();
                let update = format!(
                    "UPDATE assessment_points SET name = $2, kind = $3, geom = {}, min_lon = $5, min_lat = $6, \
                     max_lon = $7, max_lat = $8, criteria = $9, required_per_week = $10, grid_code = $11, \
                     grids = $12, responsible_unit = $13, updated_at = $14 WHERE code = $1",
                    wkb_in(4)
                );
                // Built once, and only when a full chunk of new points comes (not for one point).
                let mut full_insert: Option<String> = None;
                while let Some(message) = batches.recv().await {
                    let points = match message {
                        $crate::domain::patrol::PointBatch::Points(points) => points,
                        $crate::domain::patrol::PointBatch::Commit => {
                            commit = true;
                            break;
                        }
                    };
                    received += points.len();
                    // Each batch looks up only its own codes: memory stays that of a batch,
                    // whatever the size of the table or the file.
                    let existing = if empty_table || points.is_empty() {
                        std::collections::HashMap::new()
                    } else {
                        existing_points!(tx, &points)
                    };
                    for p in points {
                        if codes.len() < 20 {
                            codes.push(p.code.clone());
                        }
                        match existing.get(&p.code) {
                            Some(old) if old.same_as(&p) => summary.unchanged += 1,
                            Some(_) => {
                                summary.updated += 1;
                                bind_point!(sqlx::query(&update), &p).bind(now).execute(&mut *tx).await?;
                            }
                            None => {
                                summary.created += 1;
                                fresh.push(p);
                            }
                        }
                        if fresh.len() == $crate::store::patrols::INSERT_ROWS {
                            let sql = full_insert
                                .get_or_insert_with(|| insert_points_sql!($crate::store::patrols::INSERT_ROWS));
                            insert_points!(tx, sql.as_str(), &fresh, now);
                            fresh.clear();
                        }
                    }
                }
                if !fresh.is_empty() {
                    let last_insert = insert_points_sql!(fresh.len());
                    insert_points!(tx, &last_insert, &fresh, now);
                }
                if summary.created + summary.updated > 0 {
                    audit_row!(
                        tx,
                        now,
                        actor,
                        "points.upsert",
                        "assessment_points",
                        serde_json::json!({"summary": summary, "codes": codes, "of": received})
                    );
                }
                if dry_run || !commit {
                    tx.rollback().await?;
                } else {
                    tx.commit().await?;
                }
                Ok(summary)
            })
        }

        fn points(
            &self,
            bbox: Option<$crate::store::BBox>,
        ) -> $crate::store::BoxFuture<'_, Result<Vec<$crate::domain::patrol::StoredPoint>, StoreError>> {
            Box::pin(async move {
                let b = bbox.unwrap_or($crate::store::WORLD);
                let rows = sqlx::query(&$crate::store::patrols::point_query(
                    WKB_OUT,
                    "WHERE max_lon >= $1 AND min_lon <= $3 AND max_lat >= $2 AND min_lat <= $4 ORDER BY code",
                ))
                .bind(b.min_lon)
                .bind(b.min_lat)
                .bind(b.max_lon)
                .bind(b.max_lat)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(|r| $crate::store::patrols::point_from_row(r)).collect()
            })
        }

        fn points_page(
            &self,
            after: String,
            limit: i64,
        ) -> $crate::store::BoxFuture<'_, Result<Vec<$crate::domain::patrol::StoredPoint>, StoreError>> {
            Box::pin(async move {
                let rows = sqlx::query(&$crate::store::patrols::point_query(
                    WKB_OUT,
                    "WHERE code > $1 ORDER BY code LIMIT $2",
                ))
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(|r| $crate::store::patrols::point_from_row(r)).collect()
            })
        }

        fn point(
            &self,
            code: String,
        ) -> $crate::store::BoxFuture<'_, Result<Option<$crate::domain::patrol::StoredPoint>, StoreError>> {
            Box::pin(async move {
                let row = sqlx::query(&$crate::store::patrols::point_query(WKB_OUT, "WHERE code = $1"))
                    .bind(&code)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|r| $crate::store::patrols::point_from_row(&r)).transpose()
            })
        }

        fn delete_point(
            &self,
            code: String,
            now: OffsetDateTime,
            actor: $crate::domain::auth::Actor,
        ) -> $crate::store::BoxFuture<'_, Result<bool, StoreError>> {
            Box::pin(async move {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("DELETE FROM assessment_points WHERE code = $1")
                    .bind(&code)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    > 0;
                if done {
                    audit_row!(tx, now, actor, "point.delete", format!("point/{code}"), serde_json::json!({}));
                }
                tx.commit().await?;
                Ok(done)
            })
        }

        fn save_routes(
            &self,
            replace: Option<i64>,
            routes: Vec<spatial::patrol::PlannedRoute>,
            replace_days: bool,
            now: OffsetDateTime,
            actor: $crate::domain::auth::Actor,
        ) -> $crate::store::BoxFuture<'_, Result<Vec<i64>, StoreError>> {
            Box::pin(async move {
                let mut tx = self.begin_write().await?;
                if let Some(id) = replace {
                    let gone =
                        sqlx::query("DELETE FROM patrol_routes WHERE id = $1").bind(id).execute(&mut *tx).await?;
                    if gone.rows_affected() == 0 {
                        return Ok(vec![]);
                    }
                }
                if replace_days {
                    let days: std::collections::BTreeSet<(&str, u8)> =
                        routes.iter().map(|r| (r.officer.as_str(), r.weekday)).collect();
                    for (officer, weekday) in days {
                        sqlx::query("DELETE FROM patrol_routes WHERE officer = $1 AND weekday = $2")
                            .bind(officer)
                            .bind(i32::from(weekday))
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                let sql = format!(
                    "INSERT INTO patrol_routes ({}officer, weekday, name, geom, min_lon, min_lat, max_lon, max_lat, \
                     created_at, updated_at) VALUES ({}$1, $2, $3, {}, $5, $6, $7, $8, $9, $9) RETURNING id",
                    if replace.is_some() { "id, " } else { "" },
                    if replace.is_some() { "$10, " } else { "" },
                    wkb_in(4)
                );
                let mut ids = Vec::with_capacity(routes.len());
                for r in &routes {
                    let geometry = geo::Geometry::LineString(r.line.clone());
                    let [min_lon, min_lat, max_lon, max_lat] = $crate::store::patrols::bounds(&geometry);
                    let mut q = sqlx::query_scalar::<_, i64>(&sql)
                        .bind(&r.officer)
                        .bind(i32::from(r.weekday))
                        .bind(&r.name)
                        .bind(spatial::wkb::geometry_to_wkb(&geometry))
                        .bind(min_lon)
                        .bind(min_lat)
                        .bind(max_lon)
                        .bind(max_lat)
                        .bind(now);
                    if let Some(id) = replace {
                        q = q.bind(id);
                    }
                    ids.push(q.fetch_one(&mut *tx).await?);
                }
                audit_row!(
                    tx,
                    now,
                    actor,
                    "routes.save",
                    "patrol_routes",
                    serde_json::json!({"ids": ids, "replaced": replace, "replace_days": replace_days})
                );
                tx.commit().await?;
                Ok(ids)
            })
        }

        fn routes(&self) -> $crate::store::BoxFuture<'_, Result<Vec<$crate::domain::patrol::StoredRoute>, StoreError>> {
            Box::pin(async move {
                let rows = sqlx::query(&format!(
                    "SELECT id, officer, weekday, name, {WKB_OUT} AS wkb FROM patrol_routes ORDER BY id"
                ))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(|r| $crate::store::patrols::route_from_row(r)).collect()
            })
        }

        fn delete_route(
            &self,
            id: i64,
            now: OffsetDateTime,
            actor: $crate::domain::auth::Actor,
        ) -> $crate::store::BoxFuture<'_, Result<bool, StoreError>> {
            Box::pin(async move {
                let mut tx = self.begin_write().await?;
                let done =
                    sqlx::query("DELETE FROM patrol_routes WHERE id = $1").bind(id).execute(&mut *tx).await?.rows_affected()
                        > 0;
                if done {
                    audit_row!(tx, now, actor, "route.delete", format!("route/{id}"), serde_json::json!({}));
                }
                tx.commit().await?;
                Ok(done)
            })
        }

        fn insert_track(
            &self,
            officer: String,
            fixes: Vec<spatial::track::RawFix>,
            now: OffsetDateTime,
        ) -> $crate::store::BoxFuture<'_, Result<i64, StoreError>> {
            Box::pin(async move {
                let first = fixes.first().map_or(0, |f| f.t);
                let last = fixes.last().map_or(0, |f| f.t);
                let fold = |pick: fn(&spatial::track::RawFix) -> f64, init: f64, f: fn(f64, f64) -> f64| {
                    fixes.iter().map(pick).fold(init, f)
                };
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO track_chunks (officer, first_fix, last_fix, fixes, min_lon, min_lat, max_lon, max_lat, \
                     data, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                )
                .bind(&officer)
                .bind(first)
                .bind(last)
                .bind(fixes.len() as i32)
                .bind(fold(|f| f.lon, 180.0, f64::min))
                .bind(fold(|f| f.lat, 90.0, f64::min))
                .bind(fold(|f| f.lon, -180.0, f64::max))
                .bind(fold(|f| f.lat, -90.0, f64::max))
                .bind(spatial::track::encode(&fixes))
                .bind(now)
                .fetch_one(&self.pool)
                .await?;
                Ok(id)
            })
        }

        fn track_chunks(
            &self,
            from: i64,
            to: i64,
            officer: Option<String>,
        ) -> $crate::store::BoxFuture<'_, Result<Vec<$crate::domain::patrol::TrackChunk>, StoreError>> {
            Box::pin(async move {
                use sqlx::Row;
                let rows = sqlx::query(
                    "SELECT id, officer, data FROM track_chunks WHERE last_fix >= $1 AND first_fix < $2 \
                     AND ($3 IS NULL OR officer = $3) ORDER BY officer, first_fix, id",
                )
                .bind(from)
                .bind(to)
                .bind(&officer)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        let id: i64 = r.try_get("id")?;
                        let data: Vec<u8> = r.try_get("data")?;
                        let fixes = spatial::track::decode(&data)
                            .ok_or_else(|| StoreError::Corrupt(format!("track chunk {id} cannot be decoded")))?;
                        Ok($crate::domain::patrol::TrackChunk { id, officer: r.try_get("officer")?, fixes })
                    })
                    .collect()
            })
        }

        fn insert_inspection(
            &self,
            inspection: $crate::domain::patrol::Inspection,
            problems: Vec<(String, NewProblem)>,
            now: OffsetDateTime,
            actor: $crate::domain::auth::Actor,
        ) -> $crate::store::BoxFuture<'_, Result<($crate::domain::patrol::Inspection, Vec<Problem>), StoreError>> {
            Box::pin(async move {
                let mut inspection = inspection;
                let mut tx = self.begin_write().await?;
                let (criteria, new): (Vec<String>, Vec<NewProblem>) = problems.into_iter().unzip();
                let ids = insert_problem_rows!(tx, &new, INSERT_PROBLEM, actor);
                inspection.problems = criteria.into_iter().zip(ids.iter().copied()).collect();
                inspection.id = sqlx::query_scalar(
                    "INSERT INTO inspections (point_code, officer, at, results, note, photos, problems, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                )
                .bind(&inspection.point_code)
                .bind(&inspection.officer)
                .bind(inspection.at)
                .bind(serde_json::to_string(&inspection.results).unwrap_or_else(|_| "[]".into()))
                .bind(&inspection.note)
                .bind(serde_json::to_string(&inspection.photos).unwrap_or_else(|_| "[]".into()))
                .bind(serde_json::to_string(&inspection.problems).unwrap_or_else(|_| "{}".into()))
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                audit_row!(
                    tx,
                    now,
                    actor,
                    "inspection.create",
                    format!("inspection/{}", inspection.id),
                    serde_json::json!({"point": inspection.point_code, "problems": inspection.problems})
                );
                tx.commit().await?;
                let problems = ids.into_iter().zip(new).map(|(id, p)| Problem::from_new(id, p)).collect();
                Ok((inspection, problems))
            })
        }

        fn inspections(
            &self,
            from: i64,
            to: i64,
        ) -> $crate::store::BoxFuture<'_, Result<Vec<$crate::domain::patrol::Inspection>, StoreError>> {
            Box::pin(async move {
                let rows = sqlx::query(
                    "SELECT id, point_code, officer, at, results, note, photos, problems FROM inspections \
                     WHERE at >= $1 AND at < $2 ORDER BY at, id",
                )
                .bind(from)
                .bind(to)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(|r| $crate::store::patrols::inspection_from_row(r)).collect()
            })
        }
    };
}
