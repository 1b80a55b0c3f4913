//! The caller's to-do list (待办): the cases that wait for their next move, most urgent first,
//! and for an officer the assessment points still due this week. Counts per kind for badges.

use crate::app::coverage::{compute, patrol_week, CoverageRules};
use crate::domain::access::Area;
use crate::domain::auth::{Principal, Role};
use crate::domain::grids::Snapshot;
use crate::domain::tasks::{case_task, more_urgent, states_for, TaskKind};
use crate::domain::workflow::calendar::WorkingCalendar;
use crate::domain::workflow::case::colour_at;
use crate::domain::workflow::colour::{Colour, Thresholds};
use crate::domain::workflow::state::{Action, State};
use crate::store::{ProblemQuery, Sort, Store, StoreError};
use serde::Serialize;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// Cases read per list: a desk's day of work; beyond it the list says it was cut.
pub const MAX_CASES: i64 = 500;
/// Citizens' cases closed this long ago at most are on the desk's list to call back (回访).
pub const CALL_BACK_WITHIN: time::Duration = time::Duration::days(7);

/// One thing to do.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Task {
    pub kind: TaskKind,
    /// The kind in Chinese, as the screen says it.
    pub kind_zh: &'static str,
    /// The case, for a case's task.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem_id: Option<i64>,
    /// The assessment point, for a patrol task.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub point: Option<String>,
    /// What it is about: the case's category, or the point's name.
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<State>,
    pub colour: Colour,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub deadline: Option<OffsetDateTime>,
    pub grid_code: Option<String>,
    pub responsible_unit: Option<String>,
    pub lon: f64,
    pub lat: f64,
    /// The workflow actions the caller may take now (`POST /api/v1/problems/{id}/transitions`).
    pub next_actions: Vec<Action>,
    /// For a point: visits this week, and visits required.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<u32>>, min_items = 2, max_items = 2)]
    pub visits: Option<(u32, u8)>,
}

/// The caller's list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Tasks {
    pub role: Role,
    pub counts: BTreeMap<TaskKind, usize>,
    pub tasks: Vec<Task>,
    /// More cases matched than `MAX_CASES` (500): the most urgent of those read are listed.
    pub truncated: bool,
}

/// The city's rules the list is judged by.
pub struct TaskRules<'a> {
    pub calendar: &'a WorkingCalendar,
    pub thresholds: &'a Thresholds,
    pub coverage: &'a CoverageRules,
}

/// `principal`'s to-do list at `now`.
pub async fn tasks_of(
    store: &Store,
    snapshot: &Snapshot,
    principal: &Principal,
    rules: &TaskRules<'_>,
    now: OffsetDateTime,
) -> Result<Tasks, StoreError> {
    let role = principal.role;
    let area = Area::of(principal, snapshot);
    let mut tasks = Vec::new();
    let mut truncated = false;
    let states = states_for(role);
    if !states.is_empty() {
        let query = ProblemQuery {
            area: area.filter(),
            statuses: Some(states.iter().map(|s| s.as_str().to_string()).collect()),
            sort: Sort::Deadline,
            limit: MAX_CASES,
            ..ProblemQuery::default()
        };
        let (mut cases, total) = store.query_problems(&query).await?;
        truncated = total > MAX_CASES;
        if matches!(role, Role::Dispatcher | Role::Office | Role::Admin) {
            // Citizens' cases closed this past week and not yet called back (回访).
            let callbacks = ProblemQuery {
                area: area.filter(),
                statuses: Some(vec![State::Closed.as_str().to_string()]),
                closed_from: Some(now - CALL_BACK_WITHIN),
                awaiting_callback: true,
                sort: Sort::Oldest,
                limit: MAX_CASES,
                ..ProblemQuery::default()
            };
            let (due, total) = store.query_problems(&callbacks).await?;
            truncated |= total > MAX_CASES;
            cases.extend(due);
        }
        for problem in cases.into_iter().filter(|p| area.sees_problem(p)) {
            let colour = colour_at(&problem, now, rules.calendar, rules.thresholds);
            let Some((kind, next_actions)) = case_task(role, &problem, colour) else { continue };
            tasks.push(Task {
                kind,
                kind_zh: kind.label_zh(),
                problem_id: Some(problem.id),
                point: None,
                title: problem.class.as_ref().map_or_else(|| problem.category.clone(), |c| c.category_name.clone()),
                status: Some(problem.status),
                colour,
                deadline: problem.case.deadline,
                grid_code: problem.grid_code,
                responsible_unit: problem.responsible_unit,
                lon: problem.lon,
                lat: problem.lat,
                next_actions,
                visits: None,
            });
        }
        tasks.sort_by(|a, b| {
            more_urgent(
                (a.colour, a.deadline, a.problem_id.unwrap_or(0)),
                (b.colour, b.deadline, b.problem_id.unwrap_or(0)),
            )
        });
    }
    if role == Role::Officer {
        tasks.extend(points_due(store, snapshot, &area, rules.coverage, now).await?);
    }
    let mut counts = BTreeMap::new();
    for task in &tasks {
        *counts.entry(task.kind).or_insert(0) += 1;
    }
    Ok(Tasks { role, counts, tasks, truncated })
}

/// The officer's points not yet visited as often as required this week (patrol week of `now`).
async fn points_due(
    store: &Store,
    snapshot: &Snapshot,
    area: &Area,
    rules: &CoverageRules,
    now: OffsetDateTime,
) -> Result<Vec<Task>, StoreError> {
    let (year, week, _) = now.to_offset(rules.offset).date().to_iso_week_date();
    let Ok(week) = patrol_week(&format!("{year}-W{week:02}"), rules) else { return Ok(Vec::new()) };
    let (coverage, points) = compute(store, snapshot, area, week, rules).await?;
    let centre = |code: &str| {
        points
            .iter()
            .find(|p| p.code == code)
            .and_then(|p| geo::InteriorPoint::interior_point(&p.geometry))
            .map_or((0.0, 0.0), |c| (c.x(), c.y()))
    };
    Ok(coverage
        .points
        .into_iter()
        .filter(|p| !p.covered)
        .map(|p| {
            let (lon, lat) = centre(&p.code);
            Task {
                kind: TaskKind::Inspect,
                kind_zh: TaskKind::Inspect.label_zh(),
                problem_id: None,
                title: p.name,
                point: Some(p.code),
                status: None,
                colour: Colour::None,
                deadline: Some(coverage.week.end),
                grid_code: p.grid_code,
                responsible_unit: p.unit,
                lon,
                lat,
                next_actions: Vec::new(),
                visits: Some((p.visits, p.required)),
            }
        })
        .collect())
}
