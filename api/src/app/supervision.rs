//! Supervision rounds (督查) as use cases: a finding routed like a report and handed over at once
//! or when its undercover round is published, and a round's ledger (台账) from its cases.

use crate::app::hotspots::hint_recurrences;
use crate::domain::auth::Actor;
use crate::domain::grids::Snapshot;
use crate::domain::hotspots::RecurrenceRule;
use crate::domain::intake::{route, Report};
use crate::domain::problem::{Class, NewProblem, Problem, Source};
use crate::domain::supervision::{ledger, Finding, Ledger, Round, RoundKind};
use crate::domain::workflow::catalogue::{find, Category, GENERAL_CATEGORY};
use crate::store::{Store, StoreError};
use std::collections::BTreeMap;
use time::{OffsetDateTime, UtcOffset};

/// The case a finding becomes when it is handed over: routed to the grid that covers it, from
/// source `supervision` (明查, 专项) or `undercover` (暗访), reported by whoever found it.
pub fn case_of(
    round: &Round,
    finding: &Finding,
    category: &Category,
    snapshot: &Snapshot,
    now: OffsetDateTime,
) -> NewProblem {
    let source = match round.kind {
        RoundKind::Undercover => Source::Undercover,
        RoundKind::Open | RoundKind::Special => Source::Supervision,
    };
    let at = finding.point_code.as_deref().map(|p| format!("（测评点位 {p}）")).unwrap_or_default();
    let report = Report {
        lon: finding.lon,
        lat: finding.lat,
        category: category.code.clone(),
        description: format!("督查{} {} {}：{}{at}", round.kind.zh(), round.label(), round.name, finding.description),
        source,
        owner: None,
        address: None,
        address_id: None,
        caller: None,
    };
    let mut case = route(snapshot, report, Some(Class::from(category)), now);
    case.reported_by = Some(finding.found_by.clone());
    case
}

/// Records a finding of `round`; an open or special round (or a published one) hands it over as
/// a case at once.
pub async fn record_finding(
    store: &Store,
    snapshot: &Snapshot,
    round: &Round,
    finding: Finding,
    category: &Category,
    actor: Actor,
    recurrence: RecurrenceRule,
) -> Result<(Finding, Option<Problem>), StoreError> {
    let mut case = round.hands_over_at_once().then(|| case_of(round, &finding, category, snapshot, finding.found_at));
    hint_recurrences(store, case.iter_mut().collect(), recurrence).await?;
    store.add_finding(finding, case, actor).await
}

/// Publishes an undercover round: every finding not yet handed over becomes its case. `None`
/// when it was published already.
pub async fn publish(
    store: &Store,
    snapshot: &Snapshot,
    round: &Round,
    now: OffsetDateTime,
    actor: Actor,
    recurrence: RecurrenceRule,
) -> Result<Option<Vec<Problem>>, StoreError> {
    // The catalogue the snapshot holds: no table read per publication.
    let catalogue = &snapshot.categories;
    let mut cases = Vec::new();
    for finding in store.findings(round.id).await?.into_iter().filter(|f| f.problem_id.is_none()) {
        // A category taken out of the catalogue since: the general one of inspections.
        let category = find(catalogue, &finding.category).or_else(|| find(catalogue, GENERAL_CATEGORY));
        let category = category.ok_or_else(|| {
            StoreError::Corrupt(format!(
                "finding {}: neither {:?} nor {GENERAL_CATEGORY} is catalogued",
                finding.id, finding.category
            ))
        })?;
        cases.push((finding.id, case_of(round, &finding, category, snapshot, now)));
    }
    hint_recurrences(store, cases.iter_mut().map(|(_, case)| case).collect(), recurrence).await?;
    store.publish_round(round.id, cases, now, actor).await
}

/// A round's ledger as of `now`.
pub async fn ledger_of(
    store: &Store,
    round: Round,
    now: OffsetDateTime,
    offset: UtcOffset,
) -> Result<Ledger, StoreError> {
    let findings = store.findings(round.id).await?;
    let mut cases = BTreeMap::new();
    for id in findings.iter().filter_map(|f| f.problem_id) {
        if let Some(case) = store.problem(id).await? {
            cases.insert(id, case);
        }
    }
    Ok(ledger(round, findings, &cases, now, offset))
}
