//! A to-do list per role (待办): which case is whose next move, what that move is, and how urgent.
//! Pure: the cases and points come from `app::tasks`.

use crate::domain::auth::Role;
use crate::domain::problem::Problem;
use crate::domain::workflow::colour::Colour;
use crate::domain::workflow::state::{actions_from, Action, State};
use serde::Serialize;
use std::cmp::Ordering;
use time::OffsetDateTime;

/// What the caller is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// 受理: a new report.
    Accept,
    /// 核实: a citizen's or the hotline's report to confirm on site.
    Confirm,
    /// 立案: an accepted report to register as a case.
    Register,
    /// 派遣: a registered case to send to a unit.
    Dispatch,
    /// 重新派遣: a case the unit sent back (回退).
    Redispatch,
    /// 处置: a dispatched case for the unit to fix.
    Handle,
    /// 返工: a fix that failed its check, to fix again.
    Rework,
    /// 延期审批: a unit asks for more time.
    DecideExtension,
    /// 核查: a fix to check on site.
    Verify,
    /// 结案: a verified case to close.
    Close,
    /// 督办: a case in yellow or red, to chase.
    Chase,
    /// 巡查: an assessment point not yet visited enough this week.
    Inspect,
    /// 回访: a citizen's closed case, to call the citizen back.
    Callback,
}

impl TaskKind {
    /// The word on the screen.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Accept => "受理",
            Self::Confirm => "核实",
            Self::Register => "立案",
            Self::Dispatch => "派遣",
            Self::Redispatch => "重新派遣",
            Self::Handle => "处置",
            Self::Rework => "返工",
            Self::DecideExtension => "延期审批",
            Self::Verify => "核查",
            Self::Close => "结案",
            Self::Chase => "督办",
            Self::Inspect => "巡查",
            Self::Callback => "回访",
        }
    }
}

/// The states whose cases may be on `role`'s list (what to read from the store).
pub fn states_for(role: Role) -> &'static [State] {
    use State::*;
    match role {
        Role::Unit => &[Dispatched, Rework],
        Role::Officer => &[Confirming, Handled, SelfHandled],
        Role::Dispatcher | Role::Admin => {
            &[Reported, Accepted, Registered, Returned, Dispatched, Rework, Handled, Verified]
        }
        Role::Office => &[Dispatched, Rework, Registered, Returned],
        // An inspector's work is the rounds they are named in, not cases.
        Role::Inspector | Role::App => &[],
    }
}

/// Whether `problem`, in `colour` now, is `role`'s to move, as which task, and with which actions.
pub fn case_task(role: Role, problem: &Problem, colour: Colour) -> Option<(TaskKind, Vec<Action>)> {
    use State::*;
    let asked = problem.case.extension_requested.is_some();
    let chased = matches!(colour, Colour::Yellow | Colour::Red);
    let kind = match (role, problem.status) {
        (Role::Unit, Dispatched) => TaskKind::Handle,
        (Role::Unit, Rework) => TaskKind::Rework,
        (Role::Officer, Confirming) => TaskKind::Confirm,
        (Role::Officer, Handled | SelfHandled) => TaskKind::Verify,
        (Role::Dispatcher | Role::Admin, Reported) => TaskKind::Accept,
        (Role::Dispatcher | Role::Admin, Accepted) => TaskKind::Register,
        (Role::Dispatcher | Role::Admin, Registered) => TaskKind::Dispatch,
        (Role::Dispatcher | Role::Admin, Returned) => TaskKind::Redispatch,
        (Role::Dispatcher | Role::Admin, Handled) => TaskKind::Verify,
        (Role::Dispatcher | Role::Admin, Verified) => TaskKind::Close,
        (Role::Dispatcher | Role::Admin, Dispatched | Rework) if asked => TaskKind::DecideExtension,
        (Role::Dispatcher | Role::Admin | Role::Office, Dispatched | Rework | Registered | Returned) if chased => {
            TaskKind::Chase
        }
        (Role::Dispatcher | Role::Admin | Role::Office, Closed)
            if problem.source.is_citizens()
                && problem.case.callback_at.is_none()
                && problem.case.merged_into.is_none() =>
        {
            TaskKind::Callback
        }
        _ => return None,
    };
    let next = actions_from(problem.status)
        .into_iter()
        .filter(|a| a.allowed_roles().contains(&role))
        .filter(|a| match a {
            // Deciding needs a request; asking twice is pointless; merging is offered beside likely duplicates.
            Action::ApproveExtension | Action::RefuseExtension => asked,
            Action::RequestExtension => !asked,
            Action::Merge => !problem.likely_duplicates.is_empty(),
            _ => true,
        })
        .collect();
    Some((kind, next))
}

/// Most urgent first: red, yellow, blue, then the rest; within a colour the nearest deadline
/// (none last), then the oldest case.
pub fn more_urgent(a: (Colour, Option<OffsetDateTime>, i64), b: (Colour, Option<OffsetDateTime>, i64)) -> Ordering {
    let rank = |c: Colour| match c {
        Colour::Red => 0,
        Colour::Yellow => 1,
        Colour::Blue => 2,
        Colour::None => 3,
    };
    rank(a.0)
        .cmp(&rank(b.0))
        .then_with(|| match (a.1, b.1) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        })
        .then(a.2.cmp(&b.2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::problem::{Case, ExtensionRequest, Source};
    use crate::domain::workflow::calendar::LimitUnit;
    use time::macros::datetime;

    fn case(status: State) -> Problem {
        Problem {
            id: 1,
            lon: 116.4,
            lat: 39.9,
            category: "c".into(),
            description: String::new(),
            source: Source::Officer,
            grid_code: None,
            grid_version: None,
            responsible_unit: Some("东华门街道办事处".into()),
            candidates: vec![],
            status,
            created_at: datetime!(2026-11-20 09:00 +08:00),
            reported_by: None,
            class: None,
            case: Case::default(),
            nearby: vec![],
            likely_duplicates: vec![],
            origin: None,
            colour: Colour::None,
            version: 0,
            address: None,
            address_id: None,
            recurrence: None,
            caller: None,
        }
    }

    #[test]
    fn each_role_gets_its_own_next_move_with_the_actions_it_may_take() {
        let (kind, next) = case_task(Role::Unit, &case(State::Dispatched), Colour::None).expect("the unit's");
        assert_eq!(kind, TaskKind::Handle);
        assert_eq!(next, vec![Action::Refuse, Action::Handle, Action::RequestExtension]);
        assert!(case_task(Role::Unit, &case(State::Handled), Colour::None).is_none(), "then it waits for the check");
        let (kind, next) = case_task(Role::Officer, &case(State::Handled), Colour::None).expect("the officer's");
        assert_eq!((kind, next), (TaskKind::Verify, vec![Action::Reject, Action::Verify]));
        let (kind, next) = case_task(Role::Officer, &case(State::Confirming), Colour::None).expect("核实");
        assert_eq!((kind, next), (TaskKind::Confirm, vec![Action::Confirm, Action::Void]));
        assert!(case_task(Role::Officer, &case(State::Reported), Colour::None).is_none(), "the desk accepts first");
        assert_eq!(
            case_task(Role::Dispatcher, &case(State::Reported), Colour::None).map(|t| t.0),
            Some(TaskKind::Accept)
        );
        assert_eq!(
            case_task(Role::Dispatcher, &case(State::Verified), Colour::None).map(|t| t.0),
            Some(TaskKind::Close)
        );
        assert!(case_task(Role::Dispatcher, &case(State::Dispatched), Colour::Blue).is_none(), "a unit's case in time");
        assert_eq!(case_task(Role::Office, &case(State::Dispatched), Colour::Red).map(|t| t.0), Some(TaskKind::Chase));
        let mut asked = case(State::Dispatched);
        asked.case.extension_requested =
            Some(ExtensionRequest { amount: 2, unit: LimitUnit::WorkingDays, reason: "设备到货".into() });
        let (kind, next) = case_task(Role::Dispatcher, &asked, Colour::Red).expect("the dispatcher's");
        assert_eq!((kind, next), (TaskKind::DecideExtension, vec![Action::ApproveExtension, Action::RefuseExtension]));
        let (_, next) = case_task(Role::Unit, &asked, Colour::Red).expect("still the unit's");
        assert!(!next.contains(&Action::RequestExtension), "asked once already");
        assert!(case_task(Role::App, &case(State::Reported), Colour::Red).is_none());
    }

    #[test]
    fn red_comes_first_then_the_nearest_deadline() {
        let soon = Some(datetime!(2026-11-20 10:00 UTC));
        let later = Some(datetime!(2026-11-21 10:00 UTC));
        let mut items = [
            (Colour::None, soon, 1),
            (Colour::Yellow, later, 2),
            (Colour::Red, None, 3),
            (Colour::Yellow, soon, 4),
            (Colour::Blue, None, 5),
            (Colour::Red, later, 6),
        ];
        items.sort_by(|a, b| more_urgent(*a, *b));
        let order: Vec<i64> = items.iter().map(|i| i.2).collect();
        assert_eq!(order, vec![6, 3, 4, 2, 5, 1]);
    }
}
