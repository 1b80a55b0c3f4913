//! What each role may do, and over which part of the city. Every endpoint asks here.
//!
//! Objects outside a caller's area are reported as not found (404), never as forbidden, so that
//! nobody learns that they exist.

use crate::domain::auth::{Principal, Role, WHOLE_CITY};
use crate::domain::grids::Snapshot;
use crate::domain::problem::Problem;
use std::collections::BTreeSet;

/// The things callers ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Ask which grid covers a point.
    Locate,
    /// Report a problem.
    Report,
    /// Read problems (one, or a layer).
    ReadProblems,
    /// Read grids (the layer).
    ReadGrids,
    /// Read indicators and bulletins.
    ReadReports,
    /// Read assessment points, planned routes, tracks and weekly coverage.
    ReadPatrols,
    /// Create, change and delete assessment points and planned routes.
    ManagePatrols,
    /// Record GPS tracks and inspections (check-ins).
    RecordPatrol,
    /// Run the grid tiling check (责任全覆盖).
    CheckTiling,
    /// Read mock assessments (模拟测评) and their score rates.
    ReadAssessments,
    /// Draw mock assessments and record their scores.
    RunAssessments,
    /// Attach photos and documents to a case the caller can see (apps: report photos only).
    AttachEvidence,
    /// Run supervision rounds (督查): open them, record findings, publish undercover ones.
    Supervise,
    /// Record findings (督查发现) in a round: the office running it, or an inspector it names.
    RecordFindings,
    /// Read supervision rounds and their ledgers (台账), as far as the caller may see them.
    ReadRounds,
    /// Read supervision letters (督办函): a unit its own, the office and dispatchers those of
    /// their area.
    ReadLetters,
    /// Sign for and answer a letter to one's own unit (签收, 反馈).
    AnswerLetters,
    /// Search the address book (地址库), as far as the caller's area reaches.
    SearchAddresses,
    /// Take 12345 work orders, say what became of them, send them back (退单): the platform's
    /// account (a dispatcher) and admins.
    ExchangeOrders,
    /// Set up and change special campaigns (专项整治) within one's area: the office and admins.
    ManageCampaigns,
}

/// The permission table (docs/security.md shows it to users).
pub fn permitted(role: Role, action: Action) -> bool {
    use Action::*;
    use Role::*;
    match action {
        Locate | ReadProblems => true,
        // The office reports what it finds on its own checks too.
        Report => matches!(role, Officer | Dispatcher | Office | Admin | App),
        ReadGrids => !matches!(role, App),
        ReadReports => matches!(role, Unit | Dispatcher | Office | Admin),
        ReadPatrols => !matches!(role, App),
        ManagePatrols => matches!(role, Office | Admin),
        RecordPatrol => matches!(role, Officer | Office | Admin),
        CheckTiling => matches!(role, Dispatcher | Office | Admin),
        // Officers and units are the ones assessed: which points are drawn stays with the office.
        ReadAssessments => matches!(role, Dispatcher | Office | Admin),
        RunAssessments => matches!(role, Office | Admin),
        AttachEvidence => true,
        Supervise => matches!(role, Office | Admin),
        RecordFindings => matches!(role, Office | Inspector | Admin),
        ReadRounds => !matches!(role, App),
        ReadLetters => matches!(role, Unit | Dispatcher | Office | Admin),
        AnswerLetters => matches!(role, Unit),
        // Citizen apps place reports by position (Open311's address_string is their words).
        SearchAddresses => !matches!(role, App),
        ExchangeOrders => matches!(role, Dispatcher | Admin),
        ManageCampaigns => matches!(role, Office | Admin),
    }
}

/// Restricts a query to a caller's area; `None` fields do not restrict.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AreaFilter {
    /// Only these grid codes (grids), or problems routed to them.
    pub grid_codes: Option<Vec<String>>,
    /// Only grids and problems of this responsible unit.
    pub unit: Option<String>,
    /// Only problems this user reported.
    pub reported_by: Option<String>,
}

/// The part of the city a caller may see.
#[derive(Debug, Clone, PartialEq)]
pub enum Area {
    Everything,
    /// These grid codes: the caller's scope and every grid below it.
    Grids(BTreeSet<String>),
    /// The grids and problems of one responsible unit (责任单位).
    Unit(String),
    /// Only the problems this caller reported (citizen apps).
    ReportedBy(String),
}

/// What decides a principal's [`Area`], before the grid hierarchy expands it: equal scopes see
/// equal areas in the same snapshot, so caches key on this instead of building the area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope<'a> {
    Everything,
    Grids(&'a [String]),
    Unit(&'a str),
    ReportedBy(&'a str),
}

impl<'a> Scope<'a> {
    pub fn of(p: &'a Principal) -> Self {
        match p.role {
            Role::Admin => Scope::Everything,
            Role::App => Scope::ReportedBy(&p.name),
            Role::Unit => Scope::Unit(p.unit.as_deref().unwrap_or_default()),
            _ if p.scope.iter().any(|s| s == WHOLE_CITY) => Scope::Everything,
            _ => Scope::Grids(&p.scope),
        }
    }
}

impl Area {
    pub fn of(p: &Principal, snapshot: &Snapshot) -> Area {
        match Scope::of(p) {
            Scope::Everything => Area::Everything,
            Scope::ReportedBy(name) => Area::ReportedBy(name.to_string()),
            Scope::Unit(unit) => Area::Unit(unit.to_string()),
            Scope::Grids(codes) => Area::Grids(snapshot.descendants(codes)),
        }
    }

    pub fn sees_problem(&self, problem: &Problem) -> bool {
        self.sees(problem.grid_code.as_deref(), problem.responsible_unit.as_deref(), problem.reported_by.as_deref())
    }

    /// The same test from a problem's routing fields (for events that carry only those).
    pub fn sees(&self, grid_code: Option<&str>, unit: Option<&str>, reported_by: Option<&str>) -> bool {
        match self {
            Area::Everything => true,
            Area::Grids(codes) => grid_code.is_some_and(|c| codes.contains(c)),
            Area::Unit(mine) => unit == Some(mine.as_str()),
            Area::ReportedBy(name) => reported_by == Some(name.as_str()),
        }
    }

    /// An assessment point: by its grid and unit, or by any grid it touches.
    pub fn sees_point(&self, p: &crate::domain::patrol::StoredPoint) -> bool {
        self.sees(p.grid_code.as_deref(), p.responsible_unit.as_deref(), None)
            || p.grids.iter().any(|g| self.sees(Some(g), None, None))
    }

    /// A letter (督办函): a unit's own; for a part of the city, one naming a case in it.
    pub fn sees_letter(&self, letter: &crate::domain::letters::Letter) -> bool {
        match self {
            Area::Everything => true,
            Area::Unit(unit) => letter.unit == *unit,
            Area::Grids(_) => letter.cases.iter().any(|c| self.sees(c.grid_code.as_deref(), None, None)),
            Area::ReportedBy(_) => false,
        }
    }

    /// Does this area hold all of `other` (an officer's area inside a dispatcher's or an office's)?
    pub fn covers(&self, other: &Area) -> bool {
        match (self, other) {
            (Area::Everything, _) => true,
            (Area::Grids(own), Area::Grids(theirs)) => !theirs.is_empty() && theirs.iter().all(|g| own.contains(g)),
            _ => false,
        }
    }

    /// May a caller with this area report at a place routed to `grid` (owned by `unit`)?
    pub fn may_report_at(&self, grid: Option<&str>) -> bool {
        match self {
            Area::Everything | Area::ReportedBy(_) => true,
            Area::Grids(codes) => grid.is_some_and(|c| codes.contains(c)),
            Area::Unit(_) => false,
        }
    }

    /// The same restriction for a storage query.
    pub fn filter(&self) -> AreaFilter {
        match self {
            Area::Everything => AreaFilter::default(),
            Area::Grids(codes) => {
                AreaFilter { grid_codes: Some(codes.iter().cloned().collect()), ..Default::default() }
            }
            Area::Unit(unit) => AreaFilter { unit: Some(unit.clone()), ..Default::default() },
            Area::ReportedBy(name) => AreaFilter { reported_by: Some(name.clone()), ..Default::default() },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_permission_table() {
        assert!(permitted(Role::Officer, Action::Report));
        // The office reports what it finds on its rounds; units fix, they do not report.
        assert!(permitted(Role::Office, Action::Report));
        assert!(!permitted(Role::Unit, Action::Report));
        assert!(!permitted(Role::App, Action::ReadGrids));
        assert!(Role::ALL.iter().all(|&r| permitted(r, Action::Locate)));
        assert!(permitted(Role::Officer, Action::RecordPatrol) && !permitted(Role::Officer, Action::ManagePatrols));
        assert!(!permitted(Role::App, Action::ReadPatrols) && !permitted(Role::Unit, Action::RecordPatrol));
        assert!(!permitted(Role::Officer, Action::ReadAssessments) && !permitted(Role::Unit, Action::ReadAssessments));
        assert!(
            permitted(Role::Dispatcher, Action::ReadAssessments)
                && !permitted(Role::Dispatcher, Action::RunAssessments)
        );
        assert!(permitted(Role::Office, Action::Supervise) && !permitted(Role::Dispatcher, Action::Supervise));
        // Inspectors record findings in the rounds they are named in; the office runs the rounds.
        assert!(permitted(Role::Inspector, Action::RecordFindings) && !permitted(Role::Inspector, Action::Supervise));
        assert!(!permitted(Role::Inspector, Action::Report) && !permitted(Role::Inspector, Action::ReadLetters));
        assert!(permitted(Role::Unit, Action::ReadRounds) && !permitted(Role::App, Action::ReadRounds));
        // Letters go to units; only they sign and answer, the office issues them.
        assert!(permitted(Role::Unit, Action::AnswerLetters) && !permitted(Role::Office, Action::AnswerLetters));
        assert!(!permitted(Role::Officer, Action::ReadLetters) && !permitted(Role::Unit, Action::Supervise));
    }

    #[test]
    fn areas_decide_what_is_seen() {
        let mut p = Problem {
            id: 1,
            lon: 0.0,
            lat: 0.0,
            category: "x".into(),
            description: String::new(),
            source: crate::domain::problem::Source::Hotline,
            grid_code: Some("110101001001001".into()),
            grid_version: Some(1),
            responsible_unit: Some("东华门街道办事处".into()),
            candidates: vec![],
            status: crate::domain::workflow::state::State::Reported,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            reported_by: Some("app-1".into()),
            class: None,
            case: crate::domain::problem::Case::default(),
            colour: crate::domain::workflow::colour::Colour::None,
            nearby: vec![],
            likely_duplicates: vec![],
            origin: None,
            version: 0,
            address: None,
            address_id: None,
            recurrence: None,
            caller: None,
        };
        let mine = Area::Grids(["110101001001001".to_string()].into());
        let other = Area::Grids(["110101002001001".to_string()].into());
        assert!(mine.sees_problem(&p) && !other.sees_problem(&p));
        assert!(Area::Unit("东华门街道办事处".into()).sees_problem(&p));
        assert!(!Area::Unit("景山街道办事处".into()).sees_problem(&p));
        assert!(Area::ReportedBy("app-1".into()).sees_problem(&p));
        assert!(!Area::ReportedBy("app-2".into()).sees_problem(&p));
        p.grid_code = None;
        assert!(!mine.sees_problem(&p) && Area::Everything.sees_problem(&p));
        assert!(!mine.may_report_at(None) && mine.may_report_at(Some("110101001001001")));
        let street = Area::Grids(["110101001001001".to_string(), "110101001001002".to_string()].into());
        assert!(street.covers(&mine) && !street.covers(&other) && !mine.covers(&street));
        assert!(Area::Everything.covers(&street) && !street.covers(&Area::Everything));
        assert!(!street.covers(&Area::Grids(Default::default())), "an empty area is nobody's");
    }
}
