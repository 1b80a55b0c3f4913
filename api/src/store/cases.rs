//! Cases (案件): reports stored once per idempotency key and in batches (group commit), the
//! dispatcher's queues, the walks over every case, and each step of the workflow with its event.

use super::audit::{self, INSERT_AUDIT};
use super::db::{sql, Param, Sql, Tx, Value};
use super::dialect::Dialect;
use super::{
    codes_json, json_list, json_text, utc, AreaFilter, BBox, KeyedProblem, LayerMarks, Near, NearProbe, NewEvent,
    ProblemEvent, ProblemQuery, Sort, Store, StoreError, Which, WORLD,
};
use crate::domain::auth::Actor;
use crate::domain::hotspots::Recurrence;
use crate::domain::problem::{CallerContact, Case, Class, NewProblem, Origin, Problem, Satisfaction, Source};
use crate::domain::workflow::calendar::LimitUnit;
use crate::domain::workflow::case::{CaseClock, MapCase};
use crate::domain::workflow::catalogue::Kind;
use crate::domain::workflow::colour::Colour;
use crate::domain::workflow::state::State;
use serde_json::json;
use std::collections::HashMap;
use time::OffsetDateTime;

/// Idempotency keys of imported backlogs live under this user id, which no account has.
pub const IMPORT_KEY_OWNER: i64 = 0;

/// One idempotency key, as `many_rows` multiplies it.
const INSERT_KEY: &str = "INSERT INTO idempotency_keys (user_id, key, problem_id, created_at) VALUES ($1, $2, $3, $4)";

/// The columns of [`ProblemRow`].
fn problem_columns(d: Dialect) -> String {
    format!(
        "id, {position}, category, description, source, grid_code, grid_version, responsible_unit, candidates, status, \
         created_at, reported_by, category_name, kind, department, severity, time_limit, limit_unit, dispatched_at, \
         deadline, reworks, extension_requested, closed_at, colour, nearby, likely_duplicates, merged_into, point_code, \
         criterion_id, version, address, address_id, callback, callback_at, recurrence_of, recurrence_root, \
         recurrence_m, recurrence_unit",
        position = d.case_position()
    )
}

/// [`problem_columns`] without the long texts (description, candidates, nearby, duplicates,
/// extension request): what the escalation pass reads, a million at a time.
fn lean_columns(d: Dialect) -> String {
    format!(
        "id, {position}, category, CAST('' AS TEXT) AS description, source, grid_code, grid_version, responsible_unit, \
         CAST('[]' AS TEXT) AS candidates, status, created_at, reported_by, category_name, kind, department, severity, \
         time_limit, limit_unit, dispatched_at, deadline, reworks, CAST(NULL AS TEXT) AS extension_requested, closed_at, \
         colour, CAST('[]' AS TEXT) AS nearby, CAST('[]' AS TEXT) AS likely_duplicates, merged_into, point_code, \
         criterion_id, version, address, address_id, callback, callback_at, recurrence_of, recurrence_root, \
         recurrence_m, recurrence_unit",
        position = d.case_position()
    )
}

/// The columns of [`MapCaseRow`]: what the map draws of a case and nothing more, so that a
/// million are read in seconds.
fn map_case_columns(d: Dialect) -> String {
    format!(
        "id, {position}, status, category, category_name, grid_code, responsible_unit, reported_by, severity, \
         limit_unit, dispatched_at, deadline, reworks",
        position = d.case_position()
    )
}

#[derive(sqlx::FromRow)]
struct MapCaseRow {
    id: i64,
    lon: f64,
    lat: f64,
    status: String,
    category: String,
    category_name: Option<String>,
    grid_code: Option<String>,
    responsible_unit: Option<String>,
    reported_by: Option<String>,
    severity: String,
    limit_unit: Option<String>,
    dispatched_at: Option<OffsetDateTime>,
    deadline: Option<OffsetDateTime>,
    reworks: i32,
}

impl MapCaseRow {
    fn into_map_case(self) -> Result<MapCase, StoreError> {
        let id = self.id;
        let corrupt = |what: &str, e: String| StoreError::Corrupt(format!("problem {id} {what}: {e}"));
        let status: State = self.status.parse().map_err(|e| corrupt("status", e))?;
        // A classified case has all its class columns set together (`bind_new_problem`), and
        // only a classified case starts at its severity's colour (`CaseClock::of`).
        let limit_unit =
            self.limit_unit.map(|u| LimitUnit::parse(&u)).transpose().map_err(|e| corrupt("limit_unit", e))?;
        let floor = match limit_unit {
            Some(_) => Colour::parse(&self.severity).map_err(|e| corrupt("severity", e))?,
            None => Colour::None,
        };
        Ok(MapCase {
            id,
            lon: self.lon,
            lat: self.lat,
            status,
            category: self.category,
            category_name: self.category_name,
            grid_code: self.grid_code,
            responsible_unit: self.responsible_unit,
            reported_by: self.reported_by,
            clock: CaseClock {
                open: status.is_open(),
                floor,
                limit_unit,
                dispatched_at: self.dispatched_at.map(utc),
                deadline: self.deadline.map(utc),
                reworks: self.reworks.max(0) as u32,
            },
        })
    }
}

fn into_map_cases(rows: Vec<MapCaseRow>) -> Result<Vec<MapCase>, StoreError> {
    rows.into_iter().map(MapCaseRow::into_map_case).collect()
}

/// One new case, `RETURNING id`: its parameters are [`bind_new_problem`]'s, lon and lat first.
fn insert_problem(d: Dialect) -> String {
    let (position, values) = d.case_position_insert();
    format!(
        "INSERT INTO problems ({position}, category, description, source, grid_code, grid_version, responsible_unit, \
         candidates, status, created_at, reported_by, category_name, kind, department, severity, time_limit, limit_unit, \
         colour, nearby, likely_duplicates, point_code, criterion_id, address, address_id, recurrence_of, recurrence_root, \
         recurrence_m, recurrence_unit) \
         VALUES ({values}, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, \
         $24, $25, $26, $27, $28, $29) RETURNING id"
    )
}

/// Binds a new case as [`insert_problem`] lists its columns.
fn bind_new_problem<'a>(statement: Sql<'a>, p: &'a NewProblem) -> Sql<'a> {
    let class = p.class.as_ref();
    let severity = class.map_or("none", |c| c.severity.as_str());
    statement
        .bind(p.lon)
        .bind(p.lat)
        .bind(&p.category)
        .bind(&p.description)
        .bind(p.source.as_str())
        .bind(&p.grid_code)
        .bind(p.grid_version)
        .bind(&p.responsible_unit)
        .bind(json_text(&p.candidates, "[]"))
        .bind(p.status.as_str())
        .bind(p.created_at)
        .bind(&p.reported_by)
        .bind(class.map(|c| c.category_name.as_str()))
        .bind(class.map(|c| c.kind.as_str()))
        .bind(class.map(|c| c.department.as_str()))
        .bind(severity)
        .bind(class.map(|c| c.time_limit as i32))
        .bind(class.map(|c| c.limit_unit.as_str()))
        .bind(severity) // a new case starts in its severity's colour
        .bind(json_text(&p.nearby, "[]"))
        .bind(json_text(&p.likely_duplicates, "[]"))
        .bind(p.origin.as_ref().map(|o| o.assessment_point.as_str()))
        .bind(p.origin.as_ref().map(|o| o.criterion.as_str()))
        .bind(p.address.as_deref())
        .bind(p.address_id)
        .bind(p.recurrence.as_ref().map(|r| r.of))
        .bind(p.recurrence.as_ref().map(|r| r.root))
        .bind(p.recurrence.as_ref().map(|r| r.distance_m))
        .bind(p.recurrence.as_ref().and_then(|r| r.unit.as_deref()))
}

/// Keeps the callers' contacts of new cases, beside them (never in `problems`).
async fn insert_callers(tx: &mut Tx, cases: &[(i64, &NewProblem)]) -> Result<(), sqlx::Error> {
    for (id, p) in cases {
        if let Some(caller) = &p.caller {
            sql("INSERT INTO problem_callers (problem_id, name, phone, created_at) VALUES ($1, $2, $3, $4)")
                .bind(*id)
                .bind(caller.name.as_deref())
                .bind(caller.phone.as_str())
                .bind(p.created_at)
                .execute(&mut *tx)
                .await?;
        }
    }
    Ok(())
}

/// An area as three parameters: its grid codes (a JSON array), its unit and its reporter.
/// The condition that keeps a case in an area, on the parameters `$3`–`$5` of [`area_params`].
fn in_area(d: Dialect) -> String {
    format!(
        "($3 IS NULL OR grid_code IN ({codes})) AND ($4 IS NULL OR responsible_unit = $4) \
         AND ($5 IS NULL OR reported_by = $5)",
        codes = d.json_list(3)
    )
}

fn area_params(area: &AreaFilter) -> [Param<'_>; 3] {
    [codes_json(area).into_param(), (&area.unit).into_param(), (&area.reported_by).into_param()]
}

/// The audit entry of a new case.
fn created_details(p: &NewProblem) -> serde_json::Value {
    json!({"grid_code": p.grid_code, "source": p.source})
}

/// The single-row `INSERT … VALUES (…) [RETURNING …]` statement `one`, made to insert `rows`
/// rows in one statement: the placeholders of row `i` are shifted by `i` times their count.
fn many_rows(one: &str, rows: usize) -> String {
    let start = one.find(" VALUES ").map_or(one.len(), |i| i + " VALUES ".len());
    let (head, rest) = one.split_at(start);
    let end = rest.find(") RETURNING").map_or(rest.len(), |i| i + 1);
    let (tuple, tail) = rest.split_at(end);
    let bytes = tuple.as_bytes();
    let params = bytes.windows(2).filter(|w| w[0] == b'$' && w[1].is_ascii_digit()).count();
    let mut statement = String::from(head);
    for row in 0..rows {
        if row > 0 {
            statement.push_str(", ");
        }
        let mut chars = tuple.chars().peekable();
        while let Some(c) = chars.next() {
            statement.push(c);
            if c != '$' || !chars.peek().is_some_and(char::is_ascii_digit) {
                continue;
            }
            let mut n = 0usize;
            while let Some(d) = chars.next_if(char::is_ascii_digit) {
                n = n * 10 + (d as usize - '0' as usize);
            }
            statement.push_str(&(n + row * params).to_string());
        }
    }
    statement.push_str(tail);
    statement
}

/// A case as both backends select it ([`problem_columns`]).
#[derive(sqlx::FromRow)]
struct ProblemRow {
    id: i64,
    lon: f64,
    lat: f64,
    category: String,
    description: String,
    source: String,
    grid_code: Option<String>,
    grid_version: Option<i32>,
    responsible_unit: Option<String>,
    candidates: String,
    status: String,
    created_at: OffsetDateTime,
    reported_by: Option<String>,
    category_name: Option<String>,
    kind: Option<String>,
    department: Option<String>,
    severity: String,
    time_limit: Option<i32>,
    limit_unit: Option<String>,
    dispatched_at: Option<OffsetDateTime>,
    deadline: Option<OffsetDateTime>,
    reworks: i32,
    extension_requested: Option<String>,
    closed_at: Option<OffsetDateTime>,
    colour: String,
    nearby: String,
    likely_duplicates: String,
    merged_into: Option<i64>,
    point_code: Option<String>,
    criterion_id: Option<String>,
    version: i64,
    address: Option<String>,
    address_id: Option<i64>,
    callback: Option<String>,
    callback_at: Option<OffsetDateTime>,
    recurrence_of: Option<i64>,
    recurrence_root: Option<i64>,
    recurrence_m: Option<f64>,
    recurrence_unit: Option<String>,
}

impl ProblemRow {
    fn into_problem(self) -> Result<Problem, StoreError> {
        let id = self.id;
        let corrupt = |what: &str, e: String| StoreError::Corrupt(format!("problem {id} {what}: {e}"));
        let source: Source = self.source.parse().map_err(StoreError::Corrupt)?;
        let candidates: Vec<String> =
            serde_json::from_str(&self.candidates).map_err(|e| corrupt("candidates", e.to_string()))?;
        let class = match (self.category_name, self.kind, self.department, self.time_limit, self.limit_unit) {
            (Some(category_name), Some(kind), Some(department), Some(time_limit), Some(limit_unit)) => Some(Class {
                category_name,
                kind: Kind::parse(&kind).map_err(|e| corrupt("kind", e))?,
                department,
                severity: Colour::parse(&self.severity).map_err(|e| corrupt("severity", e))?,
                time_limit: time_limit.max(0) as u32,
                limit_unit: LimitUnit::parse(&limit_unit).map_err(|e| corrupt("limit_unit", e))?,
            }),
            _ => None,
        };
        let extension_requested = self
            .extension_requested
            .map(|text| serde_json::from_str(&text))
            .transpose()
            .map_err(|e| corrupt("extension", e.to_string()))?;
        Ok(Problem {
            id,
            lon: self.lon,
            lat: self.lat,
            category: self.category,
            description: self.description,
            source,
            grid_code: self.grid_code,
            grid_version: self.grid_version,
            responsible_unit: self.responsible_unit,
            candidates,
            status: self.status.parse().map_err(|e| corrupt("status", e))?,
            created_at: utc(self.created_at),
            reported_by: self.reported_by,
            class,
            case: Case {
                dispatched_at: self.dispatched_at.map(utc),
                deadline: self.deadline.map(utc),
                reworks: self.reworks.max(0) as u32,
                extension_requested,
                closed_at: self.closed_at.map(utc),
                merged_into: self.merged_into,
                callback: match self.callback.as_deref() {
                    None => None,
                    Some(text) => Some(Satisfaction::parse(text).ok_or_else(|| corrupt("callback", text.to_string()))?),
                },
                callback_at: self.callback_at.map(utc),
            },
            nearby: serde_json::from_str(&self.nearby).map_err(|e| corrupt("nearby", e.to_string()))?,
            likely_duplicates: serde_json::from_str(&self.likely_duplicates)
                .map_err(|e| corrupt("likely_duplicates", e.to_string()))?,
            colour: Colour::parse(&self.colour).map_err(|e| corrupt("colour", e))?,
            origin: match (self.point_code, self.criterion_id) {
                (Some(assessment_point), Some(criterion)) => Some(Origin { assessment_point, criterion }),
                _ => None,
            },
            version: self.version,
            address: self.address,
            address_id: self.address_id,
            recurrence: self.recurrence_of.map(|of| Recurrence {
                of,
                root: self.recurrence_root.unwrap_or(of),
                distance_m: self.recurrence_m.unwrap_or(0.0),
                unit: self.recurrence_unit,
            }),
            caller: None,
        })
    }
}

fn into_problems(rows: Vec<ProblemRow>) -> Result<Vec<Problem>, StoreError> {
    rows.into_iter().map(ProblemRow::into_problem).collect()
}

const EVENT_COLUMNS: &str = "id, problem_id, at, actor, role, action, from_state, to_state, note, photo_url, details";

#[derive(sqlx::FromRow)]
struct EventRow {
    id: i64,
    problem_id: i64,
    at: OffsetDateTime,
    actor: String,
    role: String,
    action: String,
    from_state: String,
    to_state: String,
    note: Option<String>,
    photo_url: Option<String>,
    details: String,
}

impl EventRow {
    fn into_event(self) -> ProblemEvent {
        ProblemEvent {
            id: self.id,
            problem_id: self.problem_id,
            at: utc(self.at),
            actor: self.actor,
            role: self.role,
            action: self.action,
            from_state: self.from_state,
            to_state: self.to_state,
            note: self.note,
            photo_url: self.photo_url,
            details: serde_json::from_str(&self.details).unwrap_or(serde_json::Value::Null),
        }
    }
}

#[derive(sqlx::FromRow)]
struct NearRow {
    i: i64,
    id: i64,
    lon: f64,
    lat: f64,
    grid_code: Option<String>,
    responsible_unit: Option<String>,
    reported_by: Option<String>,
    status: String,
    closed_at: Option<OffsetDateTime>,
    recurrence_root: Option<i64>,
}

/// Inserts cases one by one inside `tx`, audits each, and returns their ids in order.
pub(super) async fn insert_each(
    tx: &mut Tx,
    d: Dialect,
    problems: &[NewProblem],
    actor: &Actor,
) -> Result<Vec<i64>, StoreError> {
    let statement = insert_problem(d);
    let mut ids = Vec::with_capacity(problems.len());
    for p in problems {
        let id: i64 = bind_new_problem(sql(statement.as_str()), p).scalar(&mut *tx).await?;
        insert_callers(tx, &[(id, p)]).await?;
        audit::record(tx, p.created_at, actor, "problem.create", &format!("problem/{id}"), &created_details(p)).await?;
        ids.push(id);
    }
    Ok(ids)
}

/// The case an idempotency key already names, if any (inside a write transaction).
async fn keyed_problem(tx: &mut Tx, user_id: i64, key: &str) -> Result<Option<i64>, sqlx::Error> {
    sql("SELECT problem_id FROM idempotency_keys WHERE user_id = $1 AND key = $2")
        .bind(user_id)
        .bind(key)
        .optional_scalar(tx)
        .await
}

impl Store {
    /// Where the map layers stand against the store: the last case and event ids, and the
    /// points' count and last update (see `app::map_layers`).
    pub async fn layer_marks(&self) -> Result<LayerMarks, StoreError> {
        Ok(sql(self.dialect.layer_marks()).one(&self.pool).await?)
    }

    /// Up to `limit` cases after id `after`, by id, as the map draws them.
    pub async fn map_cases_page(&self, after: i64, limit: i64) -> Result<Vec<MapCase>, StoreError> {
        let columns = map_case_columns(self.dialect);
        let rows = sql(format!("SELECT {columns} FROM problems WHERE id > $1 ORDER BY id LIMIT $2"))
            .bind(after)
            .bind(limit)
            .all(&self.pool)
            .await?;
        into_map_cases(rows)
    }

    /// The cases stored after `since.last_case`, changed by an event after `since.last_event`,
    /// or named in `ids`, by id, at most `limit`: what the map layers read to catch up. A colour
    /// change (`escalate`) changes nothing the map keeps: it draws colours from the clock.
    pub async fn map_cases_changed(
        &self,
        since: &LayerMarks,
        ids: &[i64],
        limit: i64,
    ) -> Result<Vec<MapCase>, StoreError> {
        let statement = format!(
            // A union of ids, not `OR`s: SQLite would scan every case for the `OR`s.
            "SELECT {columns} FROM problems WHERE id IN (SELECT id FROM problems WHERE id > $1 \
             UNION SELECT problem_id FROM problem_events WHERE id > $2 AND action <> 'escalate' \
             UNION {ids}) ORDER BY id LIMIT $4",
            columns = map_case_columns(self.dialect),
            ids = self.dialect.json_ids(3),
        );
        let rows = sql(statement)
            .bind(since.last_case)
            .bind(since.last_event)
            .bind(json_text(ids, "[]"))
            .bind(limit)
            .all(&self.pool)
            .await?;
        into_map_cases(rows)
    }

    /// Stores problems in one transaction (with their audit entries) and returns them with ids.
    pub async fn insert_problems(&self, problems: Vec<NewProblem>, actor: &Actor) -> Result<Vec<Problem>, StoreError> {
        let mut tx = self.pool.begin_write().await?;
        let ids = insert_each(&mut tx, self.dialect, &problems, actor).await?;
        tx.commit().await?;
        Ok(ids.into_iter().zip(problems).map(|(id, p)| Problem::from_new(id, p)).collect())
    }

    /// Stores a backlog of problems in one transaction. A problem whose code was imported before
    /// is left as it is: returns (created, imported before). With `dry_run` nothing is kept.
    pub async fn import_problems(
        &self,
        problems: Vec<(Option<String>, NewProblem)>,
        actor: Actor,
        dry_run: bool,
    ) -> Result<(usize, usize), StoreError> {
        let mut tx = self.pool.begin_write().await?;
        let (mut created, mut unchanged) = (0, 0);
        for (code, problem) in &problems {
            let key = code.as_ref().map(|c| format!("import:{c}"));
            if let Some(key) = &key {
                if keyed_problem(&mut tx, IMPORT_KEY_OWNER, key).await?.is_some() {
                    unchanged += 1;
                    continue;
                }
            }
            let ids = insert_each(&mut tx, self.dialect, std::slice::from_ref(problem), &actor).await?;
            created += 1;
            if let Some(key) = key {
                sql(INSERT_KEY)
                    .bind(IMPORT_KEY_OWNER)
                    .bind(key)
                    .bind(ids[0])
                    .bind(problem.created_at)
                    .execute(&mut tx)
                    .await?;
            }
        }
        tx.finish(dry_run).await?;
        Ok((created, unchanged))
    }

    /// Stores reports in one transaction, each once per `(user id, idempotency key)`: a repeated
    /// key returns the problem stored the first time and `true`. All or nothing. The new ones
    /// go in one statement each for cases, audit entries and keys, so that concurrent reports
    /// share one commit and a handful of round trips (group commit).
    pub async fn insert_problems_once(&self, batch: Vec<KeyedProblem>) -> Result<Vec<(Problem, bool)>, StoreError> {
        let mut tx = self.pool.begin_write().await?;
        // Replays: a key stored before, or repeated earlier in this batch.
        let mut replayed: Vec<Option<Problem>> = Vec::with_capacity(batch.len());
        let mut repeats: Vec<Option<usize>> = vec![None; batch.len()];
        let mut first_with: HashMap<(i64, &str), usize> = HashMap::new();
        for (i, report) in batch.iter().enumerate() {
            let mut earlier = None;
            if let Some((user_id, key)) = &report.idempotency {
                if let Some(id) = keyed_problem(&mut tx, *user_id, key).await? {
                    let row: ProblemRow =
                        sql(format!("SELECT {} FROM problems WHERE id = $1", problem_columns(self.dialect)))
                            .bind(id)
                            .one(&mut tx)
                            .await?;
                    earlier = Some(row.into_problem()?);
                } else if let Some(&j) = first_with.get(&(*user_id, key.as_str())) {
                    repeats[i] = Some(j);
                } else {
                    first_with.insert((*user_id, key.as_str()), i);
                }
            }
            replayed.push(earlier);
        }
        let fresh: Vec<usize> = (0..batch.len()).filter(|&i| replayed[i].is_none() && repeats[i].is_none()).collect();
        let mut ids = HashMap::with_capacity(fresh.len());
        if !fresh.is_empty() {
            let mut insert = sql(many_rows(&insert_problem(self.dialect), fresh.len()));
            for &i in &fresh {
                insert = bind_new_problem(insert, &batch[i].problem);
            }
            let mut new_ids: Vec<(i64,)> = insert.all(&mut tx).await?;
            // Ids are drawn in the order the rows are inserted, which is the VALUES order.
            new_ids.sort_unstable();
            ids.extend(fresh.iter().copied().zip(new_ids.into_iter().map(|(id,)| id)));
            let mut audit = sql(many_rows(INSERT_AUDIT, fresh.len()));
            for &i in &fresh {
                let (report, id) = (&batch[i], ids[&i]);
                audit = audit
                    .bind(report.problem.created_at)
                    .bind(&report.actor.name)
                    .bind(&report.actor.remote)
                    .bind("problem.create")
                    .bind(format!("problem/{id}"))
                    .bind(created_details(&report.problem).to_string());
            }
            audit.execute(&mut tx).await?;
            let fresh_cases: Vec<(i64, &NewProblem)> = fresh.iter().map(|&i| (ids[&i], &batch[i].problem)).collect();
            insert_callers(&mut tx, &fresh_cases).await?;
            let keyed: Vec<usize> = fresh.iter().copied().filter(|&i| batch[i].idempotency.is_some()).collect();
            if !keyed.is_empty() {
                let mut remember = sql(many_rows(INSERT_KEY, keyed.len()));
                for &i in &keyed {
                    if let Some((user_id, key)) = &batch[i].idempotency {
                        remember = remember.bind(*user_id).bind(key).bind(ids[&i]).bind(batch[i].problem.created_at);
                    }
                }
                remember.execute(&mut tx).await?;
            }
        }
        tx.commit().await?;
        drop(first_with);
        let mut stored: Vec<(Problem, bool)> = Vec::with_capacity(batch.len());
        for (i, (report, earlier)) in batch.into_iter().zip(replayed).enumerate() {
            let answer = match (earlier, repeats[i]) {
                (Some(p), _) => (p, true),
                (None, Some(j)) => (stored[j].0.clone(), true),
                (None, None) => (Problem::from_new(ids[&i], report.problem), false),
            };
            stored.push(answer);
        }
        Ok(stored)
    }

    /// A hotline caller's contact, if the case has one (callers: dispatchers and the office only).
    pub async fn caller_of(&self, id: i64) -> Result<Option<CallerContact>, StoreError> {
        let row: Option<(Option<String>, String)> =
            sql("SELECT name, phone FROM problem_callers WHERE problem_id = $1").bind(id).optional(&self.pool).await?;
        Ok(row.map(|(name, phone)| CallerContact { name, phone }))
    }

    /// [`Store::insert_problems_once`] for one report.
    pub async fn insert_problem_once(
        &self,
        problem: NewProblem,
        idempotency: Option<(i64, String)>,
        actor: &Actor,
    ) -> Result<(Problem, bool), StoreError> {
        let batch = vec![KeyedProblem { problem, idempotency, actor: actor.clone() }];
        let mut stored = self.insert_problems_once(batch).await?;
        stored.pop().ok_or_else(|| StoreError::Corrupt("a stored report went missing".into()))
    }

    /// For each probe, the cases of its category inside its box (at most 200 each, by id) that are
    /// open, or closed (not merged) since the probe's `closed_since`: the cases a batch of new
    /// reports may duplicate or recur, found in one query (one scan of the category's index).
    pub async fn near(&self, probes: &[NearProbe]) -> Result<Vec<Vec<Near>>, StoreError> {
        let mut found: Vec<Vec<Near>> = vec![Vec::new(); probes.len()];
        if probes.is_empty() {
            return Ok(found);
        }
        let rfc3339 = |t: OffsetDateTime| {
            let t = utc(t).replace_nanosecond(0).unwrap_or(t);
            t.format(&time::format_description::well_known::Rfc3339).ok()
        };
        let probes: Vec<serde_json::Value> = probes
            .iter()
            .enumerate()
            .map(|(i, p)| {
                json!({"i": i, "x0": p.bbox.min_lon, "y0": p.bbox.min_lat, "x1": p.bbox.max_lon,
                    "y1": p.bbox.max_lat, "cat": p.category, "since": p.closed_since.and_then(rfc3339)})
            })
            .collect();
        let rows: Vec<NearRow> =
            sql(self.dialect.near()).bind(serde_json::Value::Array(probes).to_string()).all(&self.pool).await?;
        for r in rows {
            if let Some(slot) = usize::try_from(r.i).ok().and_then(|i| found.get_mut(i)) {
                let open = !matches!(r.status.as_str(), "closed" | "void");
                slot.push(Near {
                    id: r.id,
                    lon: r.lon,
                    lat: r.lat,
                    grid_code: r.grid_code,
                    responsible_unit: r.responsible_unit,
                    reported_by: r.reported_by,
                    closed_at: if open { None } else { r.closed_at.map(utc) },
                    recurrence_root: r.recurrence_root,
                });
            }
        }
        Ok(found)
    }

    /// Records what stored cases recur, found afterwards ([`crate::domain::hotspots::link_history`]:
    /// the demo's history, which did not come through intake).
    pub async fn set_recurrences(&self, links: &[(i64, Recurrence)]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_write().await?;
        for (id, r) in links {
            sql("UPDATE problems SET recurrence_of = $1, recurrence_root = $2, recurrence_m = $3, recurrence_unit = $4 \
                 WHERE id = $5")
            .bind(r.of)
            .bind(r.root)
            .bind(r.distance_m)
            .bind(r.unit.as_deref())
            .bind(*id)
            .execute(&mut tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn problem(&self, id: i64) -> Result<Option<Problem>, StoreError> {
        let row: Option<ProblemRow> =
            sql(format!("SELECT {} FROM problems WHERE id = $1", problem_columns(self.dialect)))
                .bind(id)
                .optional(&self.pool)
                .await?;
        row.map(ProblemRow::into_problem).transpose()
    }

    /// Problems inside `bbox` (all when `None`) within `area`, by id, at most `limit`.
    pub async fn problems_in_bbox(
        &self,
        bbox: Option<BBox>,
        area: &AreaFilter,
        limit: i64,
    ) -> Result<Vec<Problem>, StoreError> {
        let d = self.dialect;
        let b = bbox.unwrap_or(WORLD);
        let statement = format!(
            "SELECT {columns} FROM problems WHERE {in_box} AND ($6 IS NULL OR grid_code IN ({codes})) \
             AND ($7 IS NULL OR responsible_unit = $7) AND ($8 IS NULL OR reported_by = $8) ORDER BY id LIMIT $5",
            columns = problem_columns(d),
            in_box = d.case_in_box(1),
            codes = d.json_list(6),
        );
        let rows = sql(statement)
            .bind(b.min_lon)
            .bind(b.min_lat)
            .bind(b.max_lon)
            .bind(b.max_lat)
            .bind(limit)
            .bind_all(area_params(area))
            .all(&self.pool)
            .await?;
        into_problems(rows)
    }

    pub async fn count_problems(&self) -> Result<i64, StoreError> {
        Ok(sql("SELECT count(*) FROM problems").scalar(&self.pool).await?)
    }

    /// Up to `limit` cases with ids above `after`, by id: a city's million cases are walked
    /// page by page (see [`super::for_each_problem`]), never held whole.
    pub async fn problems_page(&self, after: i64, limit: i64, which: Which) -> Result<Vec<Problem>, StoreError> {
        let open = "AND status NOT IN ('closed', 'void')";
        let (columns, open) = match which {
            Which::Open => (problem_columns(self.dialect), open),
            Which::OpenWithoutTexts => (lean_columns(self.dialect), open),
        };
        let rows = sql(format!("SELECT {columns} FROM problems WHERE id > $1 {open} ORDER BY id LIMIT $2"))
            .bind(after)
            .bind(limit)
            .all(&self.pool)
            .await?;
        into_problems(rows)
    }

    /// Cases (last) dispatched in `[from, to)` within `area`: what a period's indicators count.
    pub async fn dispatched_between(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
        area: &AreaFilter,
    ) -> Result<Vec<Problem>, StoreError> {
        self.with_time_between("dispatched_at", from, to, area).await
    }

    /// The cases reported in `[from, to)` within `area`.
    pub async fn created_between(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
        area: &AreaFilter,
    ) -> Result<Vec<Problem>, StoreError> {
        self.with_time_between("created_at", from, to, area).await
    }

    /// The cases whose time `column` lies in `[from, to)` (a NULL one never does), within `area`.
    async fn with_time_between(
        &self,
        column: &'static str,
        from: OffsetDateTime,
        to: OffsetDateTime,
        area: &AreaFilter,
    ) -> Result<Vec<Problem>, StoreError> {
        let d = self.dialect;
        let statement = format!(
            "SELECT {columns} FROM problems WHERE {at} >= {from} AND {at} < {to} AND {in_area} ORDER BY id",
            columns = problem_columns(d),
            at = d.time(column),
            from = d.time("$1"),
            to = d.time("$2"),
            in_area = in_area(d),
        );
        let rows = sql(statement).bind(from).bind(to).bind_all(area_params(area)).all(&self.pool).await?;
        into_problems(rows)
    }

    /// The closed cases that came back in `[from, to)` (反弹), once per recurrence reported then,
    /// within `area` (the area of the case that came back, whose unit it counts against).
    pub async fn recurred_between(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
        area: &AreaFilter,
    ) -> Result<Vec<Problem>, StoreError> {
        let d = self.dialect;
        let statement = format!(
            "SELECT {columns} FROM problems JOIN (SELECT recurrence_of AS earlier FROM problems \
             WHERE recurrence_of IS NOT NULL AND {at} >= {from} AND {at} < {to}) r ON id = r.earlier \
             WHERE {in_area} ORDER BY id",
            columns = problem_columns(d),
            at = d.time("created_at"),
            from = d.time("$1"),
            to = d.time("$2"),
            in_area = in_area(d),
        );
        let rows = sql(statement).bind(from).bind(to).bind_all(area_params(area)).all(&self.pool).await?;
        into_problems(rows)
    }

    /// The cases that entered `state` between `from` and `to` (e.g. sent to be confirmed, 核实).
    pub async fn entered_between(
        &self,
        state: State,
        from: OffsetDateTime,
        to: OffsetDateTime,
        area: &AreaFilter,
    ) -> Result<Vec<Problem>, StoreError> {
        let d = self.dialect;
        let statement = format!(
            "SELECT {columns} FROM problems WHERE id IN (SELECT problem_id FROM problem_events \
             WHERE to_state = $6 AND {at} >= {from} AND {at} < {to}) AND {in_area} ORDER BY id",
            columns = problem_columns(d),
            at = d.time("at"),
            from = d.time("$1"),
            to = d.time("$2"),
            in_area = in_area(d),
        );
        let query = sql(statement).bind(from).bind(to).bind_all(area_params(area)).bind(state.as_str());
        into_problems(query.all(&self.pool).await?)
    }

    /// The steps of many cases at once, by case and time.
    pub async fn events_of(&self, ids: &[i64]) -> Result<Vec<ProblemEvent>, StoreError> {
        let statement = format!(
            "SELECT {EVENT_COLUMNS} FROM problem_events WHERE problem_id IN ({ids}) ORDER BY problem_id, id",
            ids = self.dialect.json_ids(1)
        );
        let rows: Vec<EventRow> = sql(statement).bind(json_text(ids, "[]")).all(&self.pool).await?;
        Ok(rows.into_iter().map(EventRow::into_event).collect())
    }

    /// Every recorded step of a case, oldest first.
    pub async fn problem_events(&self, id: i64) -> Result<Vec<ProblemEvent>, StoreError> {
        let rows: Vec<EventRow> =
            sql(format!("SELECT {EVENT_COLUMNS} FROM problem_events WHERE problem_id = $1 ORDER BY id"))
                .bind(id)
                .all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(EventRow::into_event).collect())
    }

    /// One page of a queue and how many problems match in all.
    pub async fn query_problems(&self, q: &ProblemQuery) -> Result<(Vec<Problem>, i64), StoreError> {
        let d = self.dialect;
        let filters = format!(
            "WHERE {in_box} \
             AND ($5 IS NULL OR grid_code IN ({area_codes})) AND ($6 IS NULL OR responsible_unit = $6) \
             AND ($7 IS NULL OR reported_by = $7) AND ($8 IS NULL OR status IN ({statuses})) \
             AND ($9 IS NULL OR colour IN ({colours})) AND ($10 IS NULL OR grid_code IN ({grid_codes})) \
             AND ($11 IS NULL OR responsible_unit = $11) AND ($12 IS NULL OR department = $12) \
             AND ($13 IS NULL OR category = $13) AND ($14 IS NULL OR source = $14) \
             AND ($15 IS NULL OR {created} >= {p15}) AND ($16 IS NULL OR {created} < {p16}) \
             AND ($17 IS NULL OR {closed} >= {p17}) AND ($18 IS NULL OR {closed} < {p18}) \
             AND ($19 IS NULL OR (callback_at IS NULL AND source IN ('citizen', 'hotline', 'app')))",
            in_box = d.case_in_box(1),
            area_codes = d.json_list(5),
            statuses = d.json_list(8),
            colours = d.json_list(9),
            grid_codes = d.json_list(10),
            created = d.time("created_at"),
            closed = d.time("closed_at"),
            p15 = d.time("$15"),
            p16 = d.time("$16"),
            p17 = d.time("$17"),
            p18 = d.time("$18"),
        );
        let b = q.bbox.unwrap_or(WORLD);
        let filtered = |statement: String| {
            sql(statement)
                .bind(b.min_lon)
                .bind(b.min_lat)
                .bind(b.max_lon)
                .bind(b.max_lat)
                .bind_all(area_params(&q.area))
                .bind(json_list(&q.statuses))
                .bind(json_list(&q.colours))
                .bind(json_list(&q.grid_codes))
                .bind(&q.unit)
                .bind(&q.department)
                .bind(&q.category)
                .bind(&q.source)
                .bind(q.created_from)
                .bind(q.created_to)
                .bind(q.closed_from)
                .bind(q.closed_to)
                .bind(q.awaiting_callback.then_some(true))
        };
        let order = match q.sort {
            Sort::Oldest => "id",
            Sort::Newest => "id DESC",
            Sort::Deadline => d.deadline_order(),
        };
        let page =
            format!("SELECT {} FROM problems {filters} ORDER BY {order} LIMIT $20 OFFSET $21", problem_columns(d));
        let rows = filtered(page).bind(q.limit).bind(q.offset).all(&self.pool).await?;
        let total: i64 = filtered(format!("SELECT count(*) FROM problems {filters}")).scalar(&self.pool).await?;
        Ok((into_problems(rows)?, total))
    }

    /// Writes a case's new state and records the step, only if the case is still in
    /// `from_status` at `problem.version`, the version it was read at (false otherwise: someone
    /// changed it first). The stored version is then one more.
    pub async fn update_case(&self, problem: Problem, from_status: State, event: NewEvent) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin_write().await?;
        let extension = problem.case.extension_requested.as_ref().map(|e| json!(e).to_string());
        let changed =
            sql("UPDATE problems SET status = $2, responsible_unit = $3, dispatched_at = $4, deadline = $5, \
             reworks = $6, extension_requested = $7, closed_at = $8, colour = $10, merged_into = $11, \
             grid_code = $12, grid_version = $13, callback = $15, callback_at = $16, version = version + 1 \
             WHERE id = $1 AND status = $9 AND version = $14")
            .bind(problem.id)
            .bind(problem.status.as_str())
            .bind(&problem.responsible_unit)
            .bind(problem.case.dispatched_at)
            .bind(problem.case.deadline)
            .bind(problem.case.reworks as i32)
            .bind(extension)
            .bind(problem.case.closed_at)
            .bind(from_status.as_str())
            .bind(problem.colour.as_str())
            .bind(problem.case.merged_into)
            .bind(&problem.grid_code)
            .bind(problem.grid_version)
            .bind(problem.version)
            .bind(problem.case.callback.map(|c| c.as_str()))
            .bind(problem.case.callback_at)
            .execute(&mut tx)
            .await?;
        if changed == 0 {
            return Ok(false); // someone moved the case first; the transaction rolls back
        }
        sql("INSERT INTO problem_events (problem_id, at, actor, role, action, from_state, to_state, note, photo_url, details) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
        .bind(problem.id)
        .bind(event.at)
        .bind(&event.actor)
        .bind(&event.role)
        .bind(&event.action)
        .bind(from_status.as_str())
        .bind(problem.status.as_str())
        .bind(&event.note)
        .bind(&event.photo_url)
        .bind(event.details.to_string())
        .execute(&mut tx)
        .await?;
        if let Some(step) = &event.audit {
            let actor = Actor { name: event.actor.clone(), remote: step.remote.clone() };
            let object = format!("problem/{}", problem.id);
            audit::record(&mut tx, event.at, &actor, step.action, &object, &step.details).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Stores a colour change of a case still in `status` and records it as an `escalate` step;
    /// false when the case moved or changed colour meanwhile.
    pub async fn record_colour(
        &self,
        id: i64,
        status: State,
        from: Colour,
        to: Colour,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin_write().await?;
        let changed = sql("UPDATE problems SET colour = $2 WHERE id = $1 AND colour = $3 AND status = $4")
            .bind(id)
            .bind(to.as_str())
            .bind(from.as_str())
            .bind(status.as_str())
            .execute(&mut tx)
            .await?;
        if changed == 0 {
            return Ok(false);
        }
        sql("INSERT INTO problem_events (problem_id, at, actor, role, action, from_state, to_state, details) \
             VALUES ($1, $2, 'system', 'system', 'escalate', $3, $3, $4)")
        .bind(id)
        .bind(at)
        .bind(status.as_str())
        .bind(json!({"from_colour": from, "to_colour": to}).to_string())
        .execute(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_rows_repeats_the_tuple_with_shifted_placeholders() {
        let one = "INSERT INTO t (g, a, b) VALUES (f($1, $2), $3, 'x$') RETURNING id";
        assert_eq!(
            many_rows(one, 3),
            "INSERT INTO t (g, a, b) VALUES (f($1, $2), $3, 'x$'), (f($4, $5), $6, 'x$'), (f($7, $8), $9, 'x$') RETURNING id"
        );
        assert_eq!(
            many_rows(INSERT_KEY, 2),
            INSERT_KEY.replace("($1, $2, $3, $4)", "($1, $2, $3, $4), ($5, $6, $7, $8)")
        );
        assert_eq!(many_rows(INSERT_AUDIT, 1), INSERT_AUDIT);
    }
}
