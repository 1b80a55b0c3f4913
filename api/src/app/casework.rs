//! Taking a case one step further (受理, 派遣, 处置, 核查, 结案 …) and re-routing it: the rules
//! around the workflow's state machine that need the store — a merge goes only into an open case
//! the caller sees, flagged after-photos block verifying and closing unless overridden with a
//! note, and of two racing changes exactly one wins. Shared by the HTTP API and the command line.

use crate::domain::access::Area;
use crate::domain::auth::{Principal, Role};
use crate::domain::grids::Snapshot;
use crate::domain::problem::Problem;
use crate::domain::workflow::case::{apply, colour_at, Refusal, Request, Rules};
use crate::domain::workflow::colour::Thresholds;
use crate::domain::workflow::state::{Action, State};
use crate::store::photos::Photo;
use crate::store::{NewEvent, StepAudit, Store, StoreError};
use serde_json::json;
use time::OffsetDateTime;

/// Why a step was not taken.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("{0:?}")]
    Refused(Refusal),
    /// The case to merge into does not exist, is not the caller's to see, or is not open.
    #[error("no open problem {0} to merge into")]
    NoMergeTarget(i64),
    /// After-photos of the case failed the tamper checks: look at them, then override with a note.
    #[error("{} after-photo(s) of this case failed the tamper checks", .0.len())]
    FlaggedEvidence(Vec<Photo>),
    #[error("overriding flagged photos needs a note saying why")]
    OverrideNeedsNote,
    /// Only dispatchers (and admins) re-route.
    #[error("the {0} role may not re-route")]
    MayNotReroute(Role),
    #[error("a {0} case cannot be re-routed")]
    Closed(State),
    #[error("no grid {0} in your area")]
    NoSuchGrid(String),
    /// Someone changed the case first: reload it and try again.
    #[error("the case changed meanwhile")]
    Conflict,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Who takes a step, when, from where, and what they see.
pub struct Caseworker<'a> {
    pub principal: &'a Principal,
    pub area: &'a Area,
    /// Where the request came from, for the step and the audit log.
    pub remote: &'a str,
    pub now: OffsetDateTime,
}

/// The cases, and the city's rules a step is judged by.
pub struct Casework<'a> {
    pub store: &'a Store,
    pub rules: Rules<'a>,
    pub thresholds: &'a Thresholds,
}

/// Takes `action` on `problem` for `who`: the state machine decides, the store records the step
/// (with an audit entry when flagged photos were overridden), and the case comes back as stored.
impl Casework<'_> {
    pub async fn take_step(
        &self,
        who: &Caseworker<'_>,
        problem: &Problem,
        action: Action,
        request: &Request,
        override_flags: bool,
    ) -> Result<Problem, StepError> {
        let (store, now) = (self.store, who.now);
        let overridden = flagged_after_photos(store, problem, action, request, override_flags).await?;
        if let (Action::Merge, Some(into)) = (action, request.into) {
            let target = store.problem(into).await?.filter(|t| who.area.sees_problem(t));
            if !target.is_some_and(|t| t.status.is_open()) {
                return Err(StepError::NoMergeTarget(into));
            }
        }
        let principal = who.principal;
        let mut updated =
            apply(problem, principal.role, action, request, now, self.rules).map_err(StepError::Refused)?;
        updated.colour = colour_at(&updated, now, self.rules.calendar, self.thresholds);
        let event = NewEvent {
            at: now,
            actor: principal.name.clone(),
            role: principal.role.as_str().into(),
            action: action.as_str().into(),
            note: request.note.clone(),
            photo_url: request.photo_url.clone(),
            details: json!({
                "unit": updated.responsible_unit,
                "forward_to": request.forward_to,
                "merged_into": request.into,
                "deadline": updated.case.deadline.and_then(|d| d.format(&time::format_description::well_known::Rfc3339).ok()),
                "remote": who.remote,
                "overridden_photos": overridden,
                "satisfaction": request.satisfaction,
            }),
            audit: overridden.as_ref().map(|photos| StepAudit {
                action: "photo.override",
                remote: who.remote.to_string(),
                details: json!({"action": action.as_str(), "photos": photos, "note": request.note}),
            }),
        };
        commit(store, problem, updated, event).await
    }

    /// Moves an open case to another grid (in the caller's area) and/or unit, with a reason.
    pub async fn reroute(
        &self,
        snapshot: &Snapshot,
        who: &Caseworker<'_>,
        problem: &Problem,
        grid: Option<&str>,
        unit: Option<&str>,
        reason: String,
    ) -> Result<Problem, StepError> {
        let principal = who.principal;
        if !matches!(principal.role, Role::Dispatcher | Role::Admin) {
            return Err(StepError::MayNotReroute(principal.role));
        }
        if !problem.status.is_open() {
            return Err(StepError::Closed(problem.status));
        }
        let mut updated = problem.clone();
        if let Some(code) = grid {
            let entry = snapshot.index.entries().iter().find(|e| e.code == code);
            let entry = entry
                .filter(|e| who.area.sees(Some(e.code.as_str()), e.payload.responsible_unit.as_deref(), None))
                .ok_or_else(|| StepError::NoSuchGrid(code.to_string()))?;
            updated.grid_code = Some(entry.code.clone());
            updated.grid_version = Some(entry.payload.version);
            updated.responsible_unit = entry.payload.responsible_unit.clone();
        }
        if let Some(unit) = unit {
            updated.responsible_unit = Some(unit.to_string());
        }
        let event = NewEvent {
            at: who.now,
            actor: principal.name.clone(),
            role: principal.role.as_str().into(),
            action: "reroute".into(),
            note: Some(reason),
            photo_url: None,
            details: json!({
                "from_grid": problem.grid_code, "to_grid": updated.grid_code,
                "from_unit": problem.responsible_unit, "to_unit": updated.responsible_unit,
                "remote": who.remote,
            }),
            audit: None,
        };
        commit(self.store, problem, updated, event).await
    }
}

/// Verifying or closing a case whose after-photos (handling, verification) are flagged needs an
/// override and a note saying why; the photos overridden are returned so that the step and the
/// audit log record them.
async fn flagged_after_photos(
    store: &Store,
    problem: &Problem,
    action: Action,
    request: &Request,
    override_flags: bool,
) -> Result<Option<Vec<i64>>, StepError> {
    if !matches!(action, Action::Verify | Action::Close) {
        return Ok(None);
    }
    let flagged: Vec<Photo> = store
        .photos_of(problem.id)
        .await?
        .into_iter()
        .filter(|p| p.stage.shows_the_fix() && !p.file.flags.is_empty())
        .collect();
    match (flagged.is_empty(), override_flags, request.note.is_some()) {
        (true, _, _) => Ok(None),
        (false, true, true) => Ok(Some(flagged.iter().map(|p| p.id).collect())),
        (false, true, false) => Err(StepError::OverrideNeedsNote),
        (false, false, _) => Err(StepError::FlaggedEvidence(flagged)),
    }
}

/// Stores a case change with its step, unless someone moved the case first.
async fn commit(store: &Store, before: &Problem, mut after: Problem, step: NewEvent) -> Result<Problem, StepError> {
    after.version = before.version;
    if !store.update_case(after.clone(), before.status, step).await? {
        return Err(StepError::Conflict);
    }
    after.version += 1;
    Ok(after)
}
