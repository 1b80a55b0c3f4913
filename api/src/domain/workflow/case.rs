//! Applying an action to a case: the pure heart of the workflow. Storage and HTTP only carry
//! out what [`apply`] decides.

use super::calendar::{LimitUnit, WorkingCalendar};
use super::colour::{colour, Colour, Thresholds};
use super::confirmation::Confirmation;
use super::state::{actions_from, next, Action, State};
use crate::domain::auth::Role;
use crate::domain::problem::{ExtensionRequest, Problem, Satisfaction};
use time::OffsetDateTime;

/// What the actor sends with an action.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Request {
    pub note: Option<String>,
    pub photo_url: Option<String>,
    /// Dispatch: the unit to send the case to (default: the routed responsible unit).
    pub unit: Option<String>,
    /// Refuse: where the case should go instead (不是本单位职责 needs a forward target).
    pub forward_to: Option<String>,
    /// Request extension: how much more time.
    pub extension: Option<(u32, LimitUnit)>,
    /// Merge: the case this one repeats (checked to exist and be open by the caller).
    pub into: Option<i64>,
    /// Call back (回访): what the caller said.
    pub satisfaction: Option<Satisfaction>,
}

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// The role may not take this action.
    Role(Role),
    /// Not from this state: the actions (and the states they lead to) that are possible.
    State { state: State, allowed: Vec<(Action, State)> },
    /// Missing or contradictory input.
    Input(String),
}

/// The options from a state, as the 409 answer lists them.
pub fn options(state: State) -> Vec<(Action, State)> {
    actions_from(state).into_iter().filter_map(|a| next(state, a).map(|s| (a, s))).collect()
}

/// The city's rules a step is judged by.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    pub calendar: &'a WorkingCalendar,
    pub confirmation: &'a Confirmation,
}

/// The case after `action`, or why not. `problem.status` must be a known state.
pub fn apply(
    problem: &Problem,
    role: Role,
    action: Action,
    request: &Request,
    now: OffsetDateTime,
    rules: Rules<'_>,
) -> Result<Problem, Refusal> {
    let calendar = rules.calendar;
    if !action.allowed_roles().contains(&role) {
        return Err(Refusal::Role(role));
    }
    let state = problem.status;
    let mut to = next(state, action).ok_or_else(|| Refusal::State { state, allowed: options(state) })?;
    // An officer voids only what they were sent to confirm and did not find (核实不属实).
    if action == Action::Void && role == Role::Officer && state != State::Confirming {
        return Err(Refusal::Role(role));
    }
    let confirming = action == Action::Accept && rules.confirmation.needed(problem.source);
    if confirming {
        to = State::Confirming;
    }
    let dissatisfied = action == Action::Callback && request.satisfaction == Some(Satisfaction::Dissatisfied);
    if dissatisfied {
        to = State::Rework;
        if request.note.as_deref().is_none_or(|n| n.trim().is_empty()) {
            return Err(Refusal::Input("a dissatisfied call-back needs a note saying what is still wrong".into()));
        }
    }
    if action.needs_reason() && request.note.as_deref().is_none_or(|n| n.trim().is_empty()) {
        return Err(Refusal::Input(format!("{action} needs a note saying why")));
    }
    let mut p = problem.clone();
    p.status = to;
    match action {
        Action::Dispatch => {
            if let Some(unit) = &request.unit {
                p.responsible_unit = Some(unit.clone());
            }
            if p.responsible_unit.is_none() {
                return Err(Refusal::Input("dispatch needs a unit: no grid routed this case to one".into()));
            }
            let class = p
                .class
                .as_ref()
                .ok_or_else(|| Refusal::Input("the case has no category to take a time limit from".into()))?;
            p.case.dispatched_at = Some(now);
            p.case.deadline = calendar.deadline(now, class.time_limit, class.limit_unit);
            if p.case.deadline.is_none() {
                return Err(Refusal::Input("the working calendar has no working time left for a deadline".into()));
            }
        }
        Action::Accept if confirming => {
            let (amount, unit) = rules.confirmation.limit();
            p.case.deadline = calendar.deadline(now, amount, unit);
        }
        // The confirmation's deadline is met; the case's own starts at dispatch.
        Action::Confirm => p.case.deadline = None,
        Action::Reject => p.case.reworks += 1,
        Action::Merge => {
            let into =
                request.into.ok_or_else(|| Refusal::Input("merge needs into: the id of the case it repeats".into()))?;
            if into == p.id {
                return Err(Refusal::Input("a case cannot be merged into itself".into()));
            }
            p.case.merged_into = Some(into);
            p.case.closed_at = Some(now);
        }
        Action::Close | Action::Void => {
            p.case.closed_at = Some(now);
            // Each closing is called back afresh.
            p.case.callback = None;
            p.case.callback_at = None;
        }
        Action::Callback => {
            let said = request.satisfaction.ok_or_else(|| {
                Refusal::Input("callback needs satisfaction: satisfied, basically_satisfied or dissatisfied".into())
            })?;
            if !problem.source.is_citizens() {
                return Err(Refusal::Input(format!(
                    "call-backs are for citizens' cases, not {} reports",
                    problem.source
                )));
            }
            if problem.case.callback_at.is_some() {
                return Err(Refusal::Input("this closing was called back already".into()));
            }
            p.case.callback = Some(said);
            p.case.callback_at = Some(now);
            if dissatisfied {
                // 不满意即返工: back to the unit, with a fresh time limit, counted as a rework.
                p.case.closed_at = None;
                p.case.reworks += 1;
                if let Some(class) = p.class.as_ref() {
                    p.case.deadline = calendar.deadline(now, class.time_limit, class.limit_unit).or(p.case.deadline);
                }
            }
        }
        Action::RequestExtension => {
            if p.case.extension_requested.is_some() {
                return Err(Refusal::Input("an extension is already waiting for a decision".into()));
            }
            let (amount, unit) = request
                .extension
                .ok_or_else(|| Refusal::Input("request_extension needs extension: {amount, unit}".into()))?;
            if amount == 0 {
                return Err(Refusal::Input("an extension must be at least 1".into()));
            }
            let reason = request.note.clone().unwrap_or_default();
            p.case.extension_requested = Some(ExtensionRequest { amount, unit, reason });
        }
        Action::ApproveExtension | Action::RefuseExtension => {
            let asked = p
                .case
                .extension_requested
                .take()
                .ok_or_else(|| Refusal::Input("no extension is waiting for a decision".into()))?;
            if action == Action::ApproveExtension {
                let from = p.case.deadline.unwrap_or(now);
                p.case.deadline = calendar.deadline(from, asked.amount, asked.unit).or(p.case.deadline);
            }
        }
        _ => {}
    }
    Ok(p)
}

/// The colour of a case at `now` (none once it is finished).
pub fn colour_at(problem: &Problem, now: OffsetDateTime, calendar: &WorkingCalendar, t: &Thresholds) -> Colour {
    CaseClock::of(problem).colour_at(now, calendar, t)
}

/// A case as the map draws it: place, state, routing and the clock of its colour, and nothing
/// more (a city's map holds a million of them).
#[derive(Debug, Clone, PartialEq)]
pub struct MapCase {
    pub id: i64,
    pub lon: f64,
    pub lat: f64,
    pub status: State,
    pub category: String,
    pub category_name: Option<String>,
    pub grid_code: Option<String>,
    pub responsible_unit: Option<String>,
    pub reported_by: Option<String>,
    pub clock: CaseClock,
}

/// What a case's colour depends on, and nothing else: 40 bytes, so layers holding a million
/// cases keep this instead of the whole [`Problem`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CaseClock {
    pub open: bool,
    /// The colour the case starts at (serious matters).
    pub floor: Colour,
    /// The deadline's unit, when the case is classified.
    pub limit_unit: Option<LimitUnit>,
    pub dispatched_at: Option<OffsetDateTime>,
    pub deadline: Option<OffsetDateTime>,
    pub reworks: u32,
}

impl CaseClock {
    pub fn of(problem: &Problem) -> Self {
        Self {
            open: problem.status.is_open(),
            floor: problem.class.as_ref().map_or(Colour::None, |c| c.severity),
            limit_unit: problem.class.as_ref().map(|c| c.limit_unit),
            dispatched_at: problem.case.dispatched_at,
            deadline: problem.case.deadline,
            reworks: problem.case.reworks,
        }
    }

    pub fn colour_at(&self, now: OffsetDateTime, calendar: &WorkingCalendar, t: &Thresholds) -> Colour {
        if !self.open {
            return Colour::None;
        }
        let share = match (self.limit_unit, self.dispatched_at, self.deadline) {
            (Some(unit), Some(start), Some(deadline)) => Some(calendar.share_used(start, deadline, now, unit)),
            _ => None,
        };
        colour(share, self.reworks, self.floor, t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::problem::{Case, Class, Source};
    use crate::domain::workflow::catalogue::Kind;
    use time::macros::datetime;

    fn rules(calendar: &WorkingCalendar) -> Rules<'_> {
        static NOBODY_CONFIRMS: Confirmation = Confirmation::none();
        Rules { calendar, confirmation: &NOBODY_CONFIRMS }
    }

    fn problem(status: &str) -> Problem {
        Problem {
            id: 1,
            lon: 116.4,
            lat: 39.9,
            category: "E01001".into(),
            description: String::new(),
            source: Source::Officer,
            grid_code: Some("110101001001001".into()),
            grid_version: Some(1),
            responsible_unit: Some("东华门街道办事处".into()),
            candidates: vec![],
            status: status.parse().expect("a known state"),
            created_at: datetime!(2026-10-05 08:00 +08:00),
            reported_by: None,
            class: Some(Class {
                category_name: "暴露垃圾".into(),
                kind: Kind::Event,
                department: "环境卫生服务中心".into(),
                severity: Colour::None,
                time_limit: 4,
                limit_unit: LimitUnit::WorkingHours,
            }),
            case: Case::default(),
            colour: Colour::None,
            nearby: vec![],
            likely_duplicates: vec![],
            origin: None,
            version: 0,
            address: None,
            address_id: None,
            recurrence: None,
            caller: None,
        }
    }

    #[test]
    fn dispatch_sets_the_deadline_and_the_colours_follow_it() {
        let cal = WorkingCalendar::default();
        let t = Thresholds::default();
        let now = datetime!(2026-10-05 09:00 +08:00);
        let p =
            apply(&problem("registered"), Role::Dispatcher, Action::Dispatch, &Request::default(), now, rules(&cal))
                .expect("dispatch");
        assert_eq!(p.status, State::Dispatched);
        assert_eq!(p.case.deadline, Some(datetime!(2026-10-05 13:00 +08:00)));
        assert_eq!(colour_at(&p, datetime!(2026-10-05 12:00 +08:00), &cal, &t), Colour::None);
        assert_eq!(colour_at(&p, datetime!(2026-10-05 12:12 +08:00), &cal, &t), Colour::Blue);
        assert_eq!(colour_at(&p, datetime!(2026-10-05 13:00 +08:00), &cal, &t), Colour::Yellow);
        assert_eq!(colour_at(&p, datetime!(2026-10-05 17:00 +08:00), &cal, &t), Colour::Red);
    }

    #[test]
    fn a_call_back_closes_the_loop_or_reopens_the_case() {
        use crate::domain::problem::{Satisfaction, Source};
        let cal = WorkingCalendar::default();
        let now = datetime!(2026-10-05 09:00 +08:00);
        let mut closed = problem("closed");
        closed.source = Source::Hotline;
        closed.case.closed_at = Some(now - time::Duration::days(1));
        let said = |s| Request { satisfaction: Some(s), note: Some("还没修好".into()), ..Request::default() };
        let happy = apply(&closed, Role::Office, Action::Callback, &said(Satisfaction::Satisfied), now, rules(&cal))
            .expect("satisfied");
        assert_eq!(
            (happy.status, happy.case.callback, happy.case.callback_at),
            (State::Closed, Some(Satisfaction::Satisfied), Some(now))
        );
        let again = apply(&happy, Role::Office, Action::Callback, &said(Satisfaction::Satisfied), now, rules(&cal));
        assert!(matches!(again, Err(Refusal::Input(_))), "once per closing: {again:?}");
        let unhappy =
            apply(&closed, Role::Dispatcher, Action::Callback, &said(Satisfaction::Dissatisfied), now, rules(&cal))
                .expect("dissatisfied");
        assert_eq!(
            (unhappy.status, unhappy.case.reworks, unhappy.case.closed_at),
            (State::Rework, closed.case.reworks + 1, None)
        );
        let no_note = Request { satisfaction: Some(Satisfaction::Dissatisfied), ..Request::default() };
        assert!(matches!(
            apply(&closed, Role::Dispatcher, Action::Callback, &no_note, now, rules(&cal)),
            Err(Refusal::Input(_))
        ));
        assert!(matches!(
            apply(&closed, Role::Dispatcher, Action::Callback, &Request::default(), now, rules(&cal)),
            Err(Refusal::Input(_))
        ));
        let mut own = closed.clone();
        own.source = Source::Officer;
        assert!(matches!(
            apply(&own, Role::Dispatcher, Action::Callback, &said(Satisfaction::Satisfied), now, rules(&cal)),
            Err(Refusal::Input(_))
        ));
        assert_eq!(
            apply(&closed, Role::Unit, Action::Callback, &said(Satisfaction::Satisfied), now, rules(&cal)),
            Err(Refusal::Role(Role::Unit))
        );
        // Closing again asks for a new call-back.
        let mut verified = unhappy;
        verified.status = State::Verified;
        let reclosed =
            apply(&verified, Role::Dispatcher, Action::Close, &Request::default(), now, rules(&cal)).expect("closed");
        assert_eq!((reclosed.case.callback, reclosed.case.callback_at), (None, None));
    }

    #[test]
    fn refusals_name_the_reason() {
        let cal = WorkingCalendar::default();
        let now = datetime!(2026-10-05 09:00 +08:00);
        let r = apply(&problem("registered"), Role::Unit, Action::Dispatch, &Request::default(), now, rules(&cal));
        assert_eq!(r, Err(Refusal::Role(Role::Unit)));
        let r = apply(&problem("closed"), Role::Dispatcher, Action::Dispatch, &Request::default(), now, rules(&cal));
        assert_eq!(r, Err(Refusal::State { state: State::Closed, allowed: vec![(Action::Callback, State::Closed)] }));
        let r = apply(&problem("reported"), Role::Dispatcher, Action::Dispatch, &Request::default(), now, rules(&cal));
        match r {
            Err(Refusal::State { allowed, .. }) => assert!(allowed.contains(&(Action::Accept, State::Accepted))),
            other => panic!("{other:?}"),
        }
        let r = apply(&problem("dispatched"), Role::Unit, Action::Refuse, &Request::default(), now, rules(&cal));
        assert!(matches!(r, Err(Refusal::Input(m)) if m.contains("note")));
    }

    #[test]
    fn extensions_move_the_deadline_only_when_approved() {
        let cal = WorkingCalendar::default();
        let now = datetime!(2026-10-05 09:00 +08:00);
        let d =
            apply(&problem("registered"), Role::Dispatcher, Action::Dispatch, &Request::default(), now, rules(&cal))
                .expect("dispatch");
        let ask = Request {
            note: Some("需要专业设备".into()),
            extension: Some((1, LimitUnit::WorkingDays)),
            ..Request::default()
        };
        let asked = apply(&d, Role::Unit, Action::RequestExtension, &ask, now, rules(&cal)).expect("request");
        assert_eq!(asked.case.deadline, d.case.deadline);
        assert!(apply(&asked, Role::Unit, Action::RequestExtension, &ask, now, rules(&cal)).is_err(), "one at a time");
        let approved = apply(&asked, Role::Dispatcher, Action::ApproveExtension, &Request::default(), now, rules(&cal))
            .expect("approve");
        assert_eq!(approved.case.deadline, Some(datetime!(2026-10-06 13:00 +08:00)));
        assert!(approved.case.extension_requested.is_none());
        let refused = apply(
            &asked,
            Role::Dispatcher,
            Action::RefuseExtension,
            &Request { note: Some("不批".into()), ..Request::default() },
            now,
            rules(&cal),
        )
        .expect("refuse");
        assert_eq!(refused.case.deadline, d.case.deadline);
    }

    #[test]
    fn reworks_count_and_colour() {
        let cal = WorkingCalendar::default();
        let t = Thresholds::default();
        let now = datetime!(2026-10-05 09:00 +08:00);
        let note = Request { note: Some("未清理干净".into()), ..Request::default() };
        let r = apply(&problem("handled"), Role::Officer, Action::Reject, &note, now, rules(&cal)).expect("reject");
        assert_eq!((r.status.as_str(), r.case.reworks), ("rework", 1));
        assert_eq!(colour_at(&r, now, &cal, &t), Colour::Yellow);
        let closed =
            apply(&problem("verified"), Role::Dispatcher, Action::Close, &Request::default(), now, rules(&cal))
                .expect("close");
        assert_eq!((closed.case.closed_at, colour_at(&closed, now, &cal, &t)), (Some(now), Colour::None));
    }

    #[test]
    fn a_citizen_s_report_is_confirmed_on_site_before_it_is_registered() {
        let cal = WorkingCalendar::default();
        let confirmation = Confirmation::default();
        let rules = Rules { calendar: &cal, confirmation: &confirmation };
        let now = datetime!(2026-10-05 16:00 +08:00);
        let mut citizen = problem("reported");
        citizen.source = Source::Hotline;
        let accepted =
            apply(&citizen, Role::Dispatcher, Action::Accept, &Request::default(), now, rules).expect("accept");
        assert_eq!(accepted.status, State::Confirming);
        // Two working hours from 16:00 on a Monday: one today, one from 09:00 on Tuesday.
        assert_eq!(accepted.case.deadline, Some(datetime!(2026-10-06 10:00 +08:00)));
        let r = apply(&accepted, Role::Dispatcher, Action::Register, &Request::default(), now, rules);
        assert!(matches!(r, Err(Refusal::State { state: State::Confirming, .. })), "not before it is confirmed");
        let confirmed =
            apply(&accepted, Role::Officer, Action::Confirm, &Request::default(), now, rules).expect("核实");
        assert_eq!((confirmed.status, confirmed.case.deadline), (State::Accepted, None));
        let void = Request { note: Some("现场未发现".into()), ..Request::default() };
        let voided = apply(&accepted, Role::Officer, Action::Void, &void, now, rules).expect("核实不属实");
        assert_eq!((voided.status, voided.case.closed_at), (State::Void, Some(now)));
        // An officer voids nothing else, and the officer's own report is accepted straight away.
        assert_eq!(apply(&citizen, Role::Officer, Action::Void, &void, now, rules), Err(Refusal::Role(Role::Officer)));
        let own = apply(&problem("reported"), Role::Dispatcher, Action::Accept, &Request::default(), now, rules);
        assert_eq!(own.map(|p| p.status), Ok(State::Accepted));
    }
}
