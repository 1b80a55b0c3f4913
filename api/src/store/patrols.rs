//! Patrols in storage: assessment points (测评点位), planned routes, officers' track batches and
//! inspections (检查记录).

use super::cases::insert_each;
use super::db::{sql, Param, Sql, Tx, Value};
use super::dialect::Dialect;
use super::{audit, json_text, utc, BBox, Store, StoreError, WORLD};
use crate::domain::auth::Actor;
use crate::domain::patrol::{Inspection, PointBatch, StoredPoint, StoredRoute, TrackChunk, UpsertSummary};
use crate::domain::problem::{NewProblem, Problem};
use geo::BoundingRect;
use serde_json::json;
use std::collections::{BTreeSet, HashMap};
use time::OffsetDateTime;

/// `[min_lon, min_lat, max_lon, max_lat]` of a geometry (zeros for an empty one).
pub(crate) fn bounds(g: &geo::Geometry<f64>) -> [f64; 4] {
    g.bounding_rect().map_or([0.0; 4], |r| [r.min().x, r.min().y, r.max().x, r.max().y])
}

/// The SELECT of assessment points ([`PointRow`]), followed by `tail`.
fn point_query(d: Dialect, tail: &str) -> String {
    format!(
        "SELECT code, name, kind, {wkb} AS wkb, criteria, required_per_week, grid_code, grids, \
         responsible_unit, created_at, updated_at FROM assessment_points {tail}",
        wkb = d.wkb()
    )
}

#[derive(sqlx::FromRow)]
struct PointRow {
    code: String,
    name: String,
    kind: String,
    wkb: Vec<u8>,
    criteria: String,
    required_per_week: i32,
    grid_code: Option<String>,
    grids: String,
    responsible_unit: Option<String>,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl PointRow {
    fn into_point(self) -> Result<StoredPoint, StoreError> {
        let code = self.code;
        let corrupt = |what: &str, e: String| StoreError::Corrupt(format!("assessment point {code} {what}: {e}"));
        Ok(StoredPoint {
            geometry: spatial::wkb::geometry_from_wkb(&self.wkb).map_err(|e| corrupt("geometry", e.to_string()))?,
            criteria: serde_json::from_str(&self.criteria).map_err(|e| corrupt("criteria", e.to_string()))?,
            grids: serde_json::from_str(&self.grids).map_err(|e| corrupt("grids", e.to_string()))?,
            required_per_week: self.required_per_week.clamp(1, 7) as u8,
            name: self.name,
            kind: self.kind,
            grid_code: self.grid_code,
            responsible_unit: self.responsible_unit,
            created_at: utc(self.created_at),
            updated_at: utc(self.updated_at),
            code,
        })
    }
}

fn into_points(rows: Vec<PointRow>) -> Result<Vec<StoredPoint>, StoreError> {
    rows.into_iter().map(PointRow::into_point).collect()
}

#[derive(sqlx::FromRow)]
struct RouteRow {
    id: i64,
    officer: String,
    weekday: i32,
    name: Option<String>,
    wkb: Vec<u8>,
}

impl RouteRow {
    fn into_route(self) -> Result<StoredRoute, StoreError> {
        let line = match spatial::wkb::geometry_from_wkb(&self.wkb) {
            Ok(geo::Geometry::LineString(line)) => line,
            other => return Err(StoreError::Corrupt(format!("route {}: not a line string: {other:?}", self.id))),
        };
        Ok(StoredRoute {
            id: self.id,
            officer: self.officer,
            weekday: self.weekday.clamp(1, 7) as u8,
            name: self.name,
            line,
        })
    }
}

#[derive(sqlx::FromRow)]
struct InspectionRow {
    id: i64,
    point_code: String,
    officer: String,
    at: i64,
    results: String,
    note: String,
    photos: String,
    problems: String,
}

impl InspectionRow {
    fn into_inspection(self) -> Result<Inspection, StoreError> {
        let id = self.id;
        let corrupt = |what: &str, e: serde_json::Error| StoreError::Corrupt(format!("inspection {id} {what}: {e}"));
        Ok(Inspection {
            id,
            point_code: self.point_code,
            officer: self.officer,
            at: self.at,
            results: serde_json::from_str(&self.results).map_err(|e| corrupt("results", e))?,
            note: self.note,
            photos: serde_json::from_str(&self.photos).map_err(|e| corrupt("photos", e))?,
            problems: serde_json::from_str(&self.problems).map_err(|e| corrupt("problems", e))?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct TrackRow {
    id: i64,
    officer: String,
    data: Vec<u8>,
}

impl TrackRow {
    fn decode(self) -> Result<TrackChunk, StoreError> {
        let fixes = spatial::track::decode(&self.data)
            .ok_or_else(|| StoreError::Corrupt(format!("track chunk {} cannot be decoded", self.id)))?;
        Ok(TrackChunk { id: self.id, officer: self.officer, fixes })
    }
}

/// A stored point's columns, `code` to `responsible_unit`, in table order (what the point
/// UPDATE and the multi-row INSERT both start with).
fn point_params(p: &StoredPoint) -> [Param<'_>; 13] {
    let [min_lon, min_lat, max_lon, max_lat] = bounds(&p.geometry);
    [
        p.code.as_str().into_param(),
        p.name.as_str().into_param(),
        p.kind.as_str().into_param(),
        spatial::wkb::geometry_to_wkb(&p.geometry).into_param(),
        min_lon.into_param(),
        min_lat.into_param(),
        max_lon.into_param(),
        max_lat.into_param(),
        json_text(&p.criteria, "[]").into_param(),
        i32::from(p.required_per_week).into_param(),
        (&p.grid_code).into_param(),
        json_text(&p.grids, "[]").into_param(),
        (&p.responsible_unit).into_param(),
    ]
}

/// Rows per COPY of new points.
const COPY_ROWS: usize = 10_000;

/// Rows per multi-row point INSERT (15 columns each: 7,500 parameters, within both backends' limits).
const INSERT_ROWS: usize = 500;

/// The multi-row INSERT of `rows` new points, with positional placeholders.
fn insert_points_sql(d: Dialect, rows: usize) -> String {
    const COLUMNS: usize = 15;
    let rows: Vec<String> = (0..rows)
        .map(|i| {
            let columns: Vec<String> = (1..=COLUMNS)
                .map(|k| if k == 4 { d.positional_geometry(i * COLUMNS + k) } else { d.positional(i * COLUMNS + k) })
                .collect();
            format!("({})", columns.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO assessment_points (code, name, kind, geom, min_lon, min_lat, max_lon, max_lat, criteria, \
         required_per_week, grid_code, grids, responsible_unit, created_at, updated_at) VALUES {}",
        rows.join(", ")
    )
}

/// Inserts new points with `statement` from [`insert_points_sql`] for exactly their number.
async fn insert_points(
    tx: &mut Tx,
    statement: &str,
    points: &[StoredPoint],
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    let mut insert = sql(statement);
    for p in points {
        insert = insert.bind_all(point_params(p)).bind(now).bind(now);
    }
    insert.execute(tx).await?;
    Ok(())
}

/// New points through PostgreSQL's `COPY` (a multi-row INSERT's 7,500 parameters cost the
/// server more to parse and bind than the rows to store); `false` on SQLite.
async fn copy_points(tx: &mut Tx, points: &[StoredPoint], now: OffsetDateTime) -> Result<bool, sqlx::Error> {
    const STATEMENT: &str = "COPY assessment_points (code, name, kind, geom, min_lon, min_lat, max_lon, max_lat, \
        criteria, required_per_week, grid_code, grids, responsible_unit, created_at, updated_at) FROM STDIN";
    let now = copy_time(now);
    let mut rows = Vec::with_capacity(points.len() * 200);
    for p in points {
        let [min_lon, min_lat, max_lon, max_lat] = bounds(&p.geometry);
        let geometry = ewkb_hex(&spatial::wkb::geometry_to_wkb(&p.geometry));
        let fields: [Option<&str>; 15] = [
            Some(&p.code),
            Some(&p.name),
            Some(&p.kind),
            Some(&geometry),
            Some(&min_lon.to_string()),
            Some(&min_lat.to_string()),
            Some(&max_lon.to_string()),
            Some(&max_lat.to_string()),
            Some(&json_text(&p.criteria, "[]")),
            Some(&p.required_per_week.to_string()),
            p.grid_code.as_deref(),
            Some(&json_text(&p.grids, "[]")),
            p.responsible_unit.as_deref(),
            Some(&now),
            Some(&now),
        ];
        copy_row(&mut rows, &fields);
    }
    tx.copy_in(STATEMENT, rows).await
}

/// One row of COPY's text format: fields apart by tabs, `\N` for NULL, and the backslash, tab,
/// newline and carriage return inside a field escaped.
fn copy_row(out: &mut Vec<u8>, fields: &[Option<&str>]) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        let Some(text) = field else {
            out.extend_from_slice(b"\\N");
            continue;
        };
        for &b in text.as_bytes() {
            match b {
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\t' => out.extend_from_slice(b"\\t"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                _ => out.push(b),
            }
        }
    }
    out.push(b'\n');
}

/// A time as COPY reads it, to the microsecond PostgreSQL keeps (as a bound parameter is).
fn copy_time(t: OffsetDateTime) -> String {
    let t = t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000).unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// The WKB `spatial::wkb` writes (always little-endian) as the hexadecimal EWKB that PostGIS
/// reads for a `geometry(…, 4326)` column: the type says an SRID follows, and it does.
fn ewkb_hex(wkb: &[u8]) -> String {
    const HAS_SRID: u32 = 0x2000_0000;
    let Some((Ok(kind), body)) = wkb.get(1..5).map(<[u8; 4]>::try_from).zip(wkb.get(5..)) else {
        return hex::encode(wkb);
    };
    let mut ewkb = Vec::with_capacity(wkb.len() + 4);
    ewkb.push(1);
    ewkb.extend_from_slice(&(u32::from_le_bytes(kind) | HAS_SRID).to_le_bytes());
    ewkb.extend_from_slice(&4326u32.to_le_bytes());
    ewkb.extend_from_slice(body);
    hex::encode(ewkb)
}

#[derive(sqlx::FromRow)]
struct IndexRow {
    indexname: String,
    indexdef: String,
}

/// Drops the indexes of `assessment_points` other than its key (PostgreSQL) and returns the
/// statements that build them again, as the catalogue has them. A first import of many points
/// builds them once at the end: a GiST index over a million points takes 2 s to build whole,
/// and kept up to date row by row it took 20 s of a 32 s import. Until the import commits,
/// readers of the table wait (it is empty until then anyway).
async fn drop_secondary_indexes(tx: &mut Tx) -> Result<Vec<String>, sqlx::Error> {
    let indexes: Vec<IndexRow> = sql("SELECT indexname::text AS indexname, indexdef FROM pg_indexes \
         WHERE schemaname = current_schema() AND tablename = 'assessment_points' AND indexname NOT IN \
         (SELECT conname FROM pg_constraint WHERE conrelid = 'assessment_points'::regclass)")
    .all(&mut *tx)
    .await?;
    for index in &indexes {
        sql(format!("DROP INDEX \"{}\"", index.indexname.replace('"', "\"\""))).execute(&mut *tx).await?;
    }
    Ok(indexes.into_iter().map(|i| i.indexdef).collect())
}

/// The stored points among `points`, by code: one query for the batch.
async fn existing_points(
    tx: &mut Tx,
    d: Dialect,
    points: &[StoredPoint],
) -> Result<HashMap<String, StoredPoint>, StoreError> {
    let placeholders: Vec<String> = (1..=points.len()).map(|n| d.positional(n)).collect();
    let mut query = sql(point_query(d, &format!("WHERE code IN ({})", placeholders.join(", "))));
    for p in points {
        query = query.bind(&p.code);
    }
    let rows: Vec<PointRow> = query.all(tx).await?;
    let mut existing = HashMap::with_capacity(points.len());
    for row in rows {
        let p = row.into_point()?;
        existing.insert(p.code.clone(), p);
    }
    Ok(existing)
}

impl Store {
    /// Creates or updates assessment points by code as their batches arrive, in one
    /// transaction, counting what changed. It commits only on [`PointBatch::Commit`] and
    /// without `dry_run`; otherwise nothing is kept.
    pub async fn upsert_point_batches(
        &self,
        mut batches: tokio::sync::mpsc::Receiver<PointBatch>,
        now: OffsetDateTime,
        actor: Actor,
        dry_run: bool,
    ) -> Result<UpsertSummary, StoreError> {
        let d = self.dialect;
        let mut tx = self.pool.begin_write().await?;
        let mut summary = UpsertSummary::default();
        let (mut fresh, mut codes, mut received, mut commit) = (Vec::new(), Vec::new(), 0usize, false);
        // Into an empty table (a city's first import) every point is new: no lookups.
        let empty_table =
            sql("SELECT 1 FROM assessment_points LIMIT 1").optional_scalar::<i32>(&mut tx).await?.is_none();
        let update = format!(
            "UPDATE assessment_points SET name = $2, kind = $3, geom = {}, min_lon = $5, min_lat = $6, \
             max_lon = $7, max_lat = $8, criteria = $9, required_per_week = $10, grid_code = $11, \
             grids = $12, responsible_unit = $13, updated_at = $14 WHERE code = $1",
            d.geometry(4)
        );
        // COPY (PostgreSQL) takes larger chunks than a multi-row INSERT's parameters allow.
        let rows_per_write = match d {
            Dialect::Postgres => COPY_ROWS,
            Dialect::Sqlite => INSERT_ROWS,
        };
        // The indexes to build again at the end, once a first import turned out large.
        let mut rebuild: Option<Vec<String>> = None;
        // Built once, and only when a full chunk of new points comes (not for one point).
        let mut full_insert: Option<String> = None;
        while let Some(message) = batches.recv().await {
            let points = match message {
                PointBatch::Points(points) => points,
                PointBatch::Commit => {
                    commit = true;
                    break;
                }
            };
            received += points.len();
            // Each batch looks up only its own codes: memory stays that of a batch, whatever
            // the size of the table or the file.
            let existing = if empty_table || points.is_empty() {
                HashMap::new()
            } else {
                existing_points(&mut tx, d, &points).await?
            };
            for p in points {
                if codes.len() < 20 {
                    codes.push(p.code.clone());
                }
                match existing.get(&p.code) {
                    Some(old) if old.same_as(&p) => summary.unchanged += 1,
                    Some(_) => {
                        summary.updated += 1;
                        sql(update.as_str()).bind_all(point_params(&p)).bind(now).execute(&mut tx).await?;
                    }
                    None => {
                        summary.created += 1;
                        fresh.push(p);
                    }
                }
                if fresh.len() == rows_per_write {
                    if empty_table && d == Dialect::Postgres && rebuild.is_none() {
                        rebuild = Some(drop_secondary_indexes(&mut tx).await?);
                    }
                    if !copy_points(&mut tx, &fresh, now).await? {
                        let statement = full_insert.get_or_insert_with(|| insert_points_sql(d, INSERT_ROWS));
                        insert_points(&mut tx, statement, &fresh, now).await?;
                    }
                    fresh.clear();
                }
            }
        }
        if !fresh.is_empty() && !copy_points(&mut tx, &fresh, now).await? {
            insert_points(&mut tx, &insert_points_sql(d, fresh.len()), &fresh, now).await?;
        }
        for statement in rebuild.unwrap_or_default() {
            sql(statement).execute(&mut tx).await?;
        }
        if summary.created + summary.updated > 0 {
            let details = json!({"summary": summary, "codes": codes, "of": received});
            audit::record(&mut tx, now, &actor, "points.upsert", "assessment_points", &details).await?;
        }
        tx.finish(dry_run || !commit).await?;
        Ok(summary)
    }

    /// Creates or updates assessment points by code (all or nothing), counting what changed;
    /// with `dry_run` nothing is kept.
    pub async fn upsert_points(
        &self,
        points: Vec<StoredPoint>,
        now: OffsetDateTime,
        actor: Actor,
        dry_run: bool,
    ) -> Result<UpsertSummary, StoreError> {
        let (sender, batches) = tokio::sync::mpsc::channel(2);
        // A fresh channel of two has room for both messages.
        let _ = sender.try_send(PointBatch::Points(points));
        let _ = sender.try_send(PointBatch::Commit);
        self.upsert_point_batches(batches, now, actor, dry_run).await
    }

    /// Assessment points whose bounding box meets `bbox` (all without one), by code.
    pub async fn points(&self, bbox: Option<BBox>) -> Result<Vec<StoredPoint>, StoreError> {
        let b = bbox.unwrap_or(WORLD);
        let tail = "WHERE max_lon >= $1 AND min_lon <= $3 AND max_lat >= $2 AND min_lat <= $4 ORDER BY code";
        let rows = sql(point_query(self.dialect, tail))
            .bind(b.min_lon)
            .bind(b.min_lat)
            .bind(b.max_lon)
            .bind(b.max_lat)
            .all(&self.pool)
            .await?;
        into_points(rows)
    }

    /// Up to `limit` points with codes after `after`, by code (see [`super::for_each_point`]).
    pub async fn points_page(&self, after: String, limit: i64) -> Result<Vec<StoredPoint>, StoreError> {
        let rows = sql(point_query(self.dialect, "WHERE code > $1 ORDER BY code LIMIT $2"))
            .bind(after)
            .bind(limit)
            .all(&self.pool)
            .await?;
        into_points(rows)
    }

    /// One assessment point by code.
    pub async fn point(&self, code: String) -> Result<Option<StoredPoint>, StoreError> {
        let row: Option<PointRow> =
            sql(point_query(self.dialect, "WHERE code = $1")).bind(&code).optional(&self.pool).await?;
        row.map(PointRow::into_point).transpose()
    }

    pub async fn delete_point(&self, code: String, now: OffsetDateTime, actor: Actor) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin_write().await?;
        let done = sql("DELETE FROM assessment_points WHERE code = $1").bind(&code).execute(&mut tx).await? > 0;
        if done {
            audit::record(&mut tx, now, &actor, "point.delete", &format!("point/{code}"), &json!({})).await?;
        }
        tx.commit().await?;
        Ok(done)
    }

    /// Stores planned routes in one transaction: replacing route `replace` (keeping its id;
    /// nothing happens and no id returns when it does not exist), or, with `replace_days`,
    /// every earlier route of the same officer and weekday (a re-import).
    pub async fn save_routes(
        &self,
        replace: Option<i64>,
        routes: Vec<spatial::patrol::PlannedRoute>,
        replace_days: bool,
        now: OffsetDateTime,
        actor: Actor,
    ) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.pool.begin_write().await?;
        if let Some(id) = replace {
            if sql("DELETE FROM patrol_routes WHERE id = $1").bind(id).execute(&mut tx).await? == 0 {
                return Ok(vec![]);
            }
        }
        if replace_days {
            let days: BTreeSet<(&str, u8)> = routes.iter().map(|r| (r.officer.as_str(), r.weekday)).collect();
            for (officer, weekday) in days {
                sql("DELETE FROM patrol_routes WHERE officer = $1 AND weekday = $2")
                    .bind(officer)
                    .bind(i32::from(weekday))
                    .execute(&mut tx)
                    .await?;
            }
        }
        let insert = format!(
            "INSERT INTO patrol_routes ({}officer, weekday, name, geom, min_lon, min_lat, max_lon, max_lat, \
             created_at, updated_at) VALUES ({}$1, $2, $3, {}, $5, $6, $7, $8, $9, $9) RETURNING id",
            if replace.is_some() { "id, " } else { "" },
            if replace.is_some() { "$10, " } else { "" },
            self.dialect.geometry(4)
        );
        let mut ids = Vec::with_capacity(routes.len());
        for r in &routes {
            let geometry = geo::Geometry::LineString(r.line.clone());
            let [min_lon, min_lat, max_lon, max_lat] = bounds(&geometry);
            let statement: Sql<'_> = sql(insert.as_str())
                .bind(&r.officer)
                .bind(i32::from(r.weekday))
                .bind(&r.name)
                .bind(spatial::wkb::geometry_to_wkb(&geometry))
                .bind(min_lon)
                .bind(min_lat)
                .bind(max_lon)
                .bind(max_lat)
                .bind(now);
            let statement = if let Some(id) = replace { statement.bind(id) } else { statement };
            ids.push(statement.scalar::<i64>(&mut tx).await?);
        }
        let details = json!({"ids": ids, "replaced": replace, "replace_days": replace_days});
        audit::record(&mut tx, now, &actor, "routes.save", "patrol_routes", &details).await?;
        tx.commit().await?;
        Ok(ids)
    }

    pub async fn routes(&self) -> Result<Vec<StoredRoute>, StoreError> {
        let rows: Vec<RouteRow> = sql(format!(
            "SELECT id, officer, weekday, name, {} AS wkb FROM patrol_routes ORDER BY id",
            self.dialect.wkb()
        ))
        .all(&self.pool)
        .await?;
        rows.into_iter().map(RouteRow::into_route).collect()
    }

    pub async fn delete_route(&self, id: i64, now: OffsetDateTime, actor: Actor) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin_write().await?;
        let done = sql("DELETE FROM patrol_routes WHERE id = $1").bind(id).execute(&mut tx).await? > 0;
        if done {
            audit::record(&mut tx, now, &actor, "route.delete", &format!("route/{id}"), &json!({})).await?;
        }
        tx.commit().await?;
        Ok(done)
    }

    /// Stores one batch of an officer's cleaned, time-sorted fixes.
    pub async fn insert_track(
        &self,
        officer: String,
        fixes: Vec<spatial::track::RawFix>,
        now: OffsetDateTime,
    ) -> Result<i64, StoreError> {
        let first = fixes.first().map_or(0, |f| f.t);
        let last = fixes.last().map_or(0, |f| f.t);
        let fold = |pick: fn(&spatial::track::RawFix) -> f64, init: f64, f: fn(f64, f64) -> f64| {
            fixes.iter().map(pick).fold(init, f)
        };
        Ok(sql("INSERT INTO track_chunks (officer, first_fix, last_fix, fixes, min_lon, min_lat, max_lon, max_lat, \
                data, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id")
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
        .scalar(&self.pool)
        .await?)
    }

    /// The ids of the track batches with fixes in [from, to) (Unix seconds), by id: a week of a
    /// city's tracks is read a few batches at a time ([`super::for_each_track_chunk`]).
    pub async fn track_chunk_ids(&self, from: i64, to: i64) -> Result<Vec<i64>, StoreError> {
        Ok(sql("SELECT id FROM track_chunks WHERE last_fix >= $1 AND first_fix < $2 ORDER BY id")
            .bind(from)
            .bind(to)
            .all::<(i64,)>(&self.pool)
            .await?
            .into_iter()
            .map(|(id,)| id)
            .collect())
    }

    /// The track batches with these ids, decoded, by id.
    pub async fn track_chunks_by_id(&self, ids: &[i64]) -> Result<Vec<TrackChunk>, StoreError> {
        let statement = format!(
            "SELECT id, officer, data FROM track_chunks WHERE id IN ({}) ORDER BY id",
            self.dialect.json_ids(1)
        );
        let rows: Vec<TrackRow> = sql(statement).bind(json_text(ids, "[]")).all(&self.pool).await?;
        rows.into_iter().map(TrackRow::decode).collect()
    }

    /// Track batches with fixes in [from, to) (Unix seconds), of one officer or all.
    pub async fn track_chunks(
        &self,
        from: i64,
        to: i64,
        officer: Option<String>,
    ) -> Result<Vec<TrackChunk>, StoreError> {
        let rows: Vec<TrackRow> =
            sql("SELECT id, officer, data FROM track_chunks WHERE last_fix >= $1 AND first_fix < $2 \
             AND ($3 IS NULL OR officer = $3) ORDER BY officer, first_fix, id")
            .bind(from)
            .bind(to)
            .bind(&officer)
            .all(&self.pool)
            .await?;
        rows.into_iter().map(TrackRow::decode).collect()
    }

    /// Stores an inspection and the problems its failed criteria open, in one transaction.
    pub async fn insert_inspection(
        &self,
        mut inspection: Inspection,
        problems: Vec<(String, NewProblem)>,
        now: OffsetDateTime,
        actor: Actor,
    ) -> Result<(Inspection, Vec<Problem>), StoreError> {
        let mut tx = self.pool.begin_write().await?;
        let (criteria, new): (Vec<String>, Vec<NewProblem>) = problems.into_iter().unzip();
        let ids = insert_each(&mut tx, self.dialect, &new, &actor).await?;
        inspection.problems = criteria.into_iter().zip(ids.iter().copied()).collect();
        inspection.id =
            sql("INSERT INTO inspections (point_code, officer, at, results, note, photos, problems, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id")
            .bind(&inspection.point_code)
            .bind(&inspection.officer)
            .bind(inspection.at)
            .bind(json_text(&inspection.results, "[]"))
            .bind(&inspection.note)
            .bind(json_text(&inspection.photos, "[]"))
            .bind(json_text(&inspection.problems, "{}"))
            .bind(now)
            .scalar(&mut tx)
            .await?;
        let details = json!({"point": inspection.point_code, "problems": inspection.problems});
        audit::record(&mut tx, now, &actor, "inspection.create", &format!("inspection/{}", inspection.id), &details)
            .await?;
        tx.commit().await?;
        let problems = ids.into_iter().zip(new).map(|(id, p)| Problem::from_new(id, p)).collect();
        Ok((inspection, problems))
    }

    /// Inspections in [from, to) (Unix seconds), oldest first.
    pub async fn inspections(&self, from: i64, to: i64) -> Result<Vec<Inspection>, StoreError> {
        let rows: Vec<InspectionRow> = sql("SELECT id, point_code, officer, at, results, note, photos, problems \
             FROM inspections WHERE at >= $1 AND at < $2 ORDER BY at, id")
        .bind(from)
        .bind(to)
        .all(&self.pool)
        .await?;
        rows.into_iter().map(InspectionRow::into_inspection).collect()
    }
}
