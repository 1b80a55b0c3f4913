//! The case workflow (CJ/T 315 practice) as a pure state machine: which action leads from which
//! state to which, and who may take it.

use crate::domain::auth::Role;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Where a problem stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// 上报
    Reported,
    /// 核实中 — accepted from a citizen, app or hotline, waiting for an officer to confirm it on site.
    Confirming,
    /// 受理
    Accepted,
    /// 立案
    Registered,
    /// 派遣 — with a unit, deadline running.
    Dispatched,
    /// 回退 — the unit refused the dispatch; back with the dispatcher.
    Returned,
    /// 处置 — the unit says it is fixed.
    Handled,
    /// 返工 — verification failed; the unit must handle it again.
    Rework,
    /// 自行处置 — the officer fixed it on the spot.
    SelfHandled,
    /// 核查 — verified fixed.
    Verified,
    /// 结案
    Closed,
    /// 作废
    Void,
}

impl State {
    pub const ALL: [State; 12] = [
        Self::Reported,
        Self::Confirming,
        Self::Accepted,
        Self::Registered,
        Self::Dispatched,
        Self::Returned,
        Self::Handled,
        Self::Rework,
        Self::SelfHandled,
        Self::Verified,
        Self::Closed,
        Self::Void,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reported => "reported",
            Self::Confirming => "confirming",
            Self::Accepted => "accepted",
            Self::Registered => "registered",
            Self::Dispatched => "dispatched",
            Self::Returned => "returned",
            Self::Handled => "handled",
            Self::Rework => "rework",
            Self::SelfHandled => "self_handled",
            Self::Verified => "verified",
            Self::Closed => "closed",
            Self::Void => "void",
        }
    }

    /// 上报, 核实中, 受理 … as the city's documents name the states.
    pub fn zh(self) -> &'static str {
        match self {
            Self::Reported => "上报",
            Self::Confirming => "核实中",
            Self::Accepted => "受理",
            Self::Registered => "立案",
            Self::Dispatched => "已派遣",
            Self::Returned => "回退",
            Self::Handled => "已处置",
            Self::Rework => "返工",
            Self::SelfHandled => "自行处置",
            Self::Verified => "已核查",
            Self::Closed => "结案",
            Self::Void => "作废",
        }
    }

    /// Closed and void cases are finished; everything else is open.
    pub fn is_open(self) -> bool {
        !matches!(self, Self::Closed | Self::Void)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for State {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|x| x.as_str() == s).ok_or_else(|| format!("unknown state {s:?}"))
    }
}

/// What someone does to a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Accept,
    /// 核实: the officer found the reported problem on site.
    Confirm,
    Register,
    Dispatch,
    /// The unit refuses the dispatch (a reason is required).
    Refuse,
    Handle,
    /// Verification failed: back to the unit.
    Reject,
    SelfHandle,
    Verify,
    Close,
    Void,
    RequestExtension,
    ApproveExtension,
    RefuseExtension,
    /// Close a duplicate into the case it repeats.
    Merge,
    /// 回访: the caller is asked whether it was fixed; dissatisfied re-opens the case for rework.
    Callback,
}

impl Action {
    pub const ALL: [Action; 16] = [
        Self::Accept,
        Self::Confirm,
        Self::Register,
        Self::Dispatch,
        Self::Refuse,
        Self::Handle,
        Self::Reject,
        Self::SelfHandle,
        Self::Verify,
        Self::Close,
        Self::Void,
        Self::RequestExtension,
        Self::ApproveExtension,
        Self::RefuseExtension,
        Self::Merge,
        Self::Callback,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::Confirm => "confirm",
            Self::Register => "register",
            Self::Dispatch => "dispatch",
            Self::Refuse => "refuse",
            Self::Handle => "handle",
            Self::Reject => "reject",
            Self::SelfHandle => "self_handle",
            Self::Verify => "verify",
            Self::Close => "close",
            Self::Void => "void",
            Self::RequestExtension => "request_extension",
            Self::ApproveExtension => "approve_extension",
            Self::RefuseExtension => "refuse_extension",
            Self::Merge => "merge",
            Self::Callback => "callback",
        }
    }

    /// Actions that must say why.
    pub fn needs_reason(self) -> bool {
        matches!(self, Self::Refuse | Self::Reject | Self::Void | Self::RequestExtension | Self::RefuseExtension)
    }

    /// Who may take this action (admins may take every action).
    pub fn allowed_roles(self) -> &'static [Role] {
        use Role::*;
        match self {
            Self::Accept | Self::Register | Self::Dispatch | Self::Close => &[Dispatcher, Admin],
            // An officer voids only a report not found on site (核实不属实); `case::apply` checks.
            Self::Void => &[Dispatcher, Officer, Admin],
            Self::Confirm => &[Officer, Admin],
            Self::ApproveExtension | Self::RefuseExtension | Self::Merge => &[Dispatcher, Admin],
            Self::Refuse | Self::Handle | Self::RequestExtension => &[Unit, Admin],
            Self::SelfHandle => &[Officer, Admin],
            Self::Verify | Self::Reject => &[Officer, Dispatcher, Admin],
            // The desk that took the call, and the office that supervises, call back.
            Self::Callback => &[Dispatcher, Office, Admin],
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|x| x.as_str() == s).ok_or_else(|| {
            let known: Vec<&str> = Self::ALL.iter().map(|a| a.as_str()).collect();
            format!("unknown action {s:?}; actions: {}", known.join(", "))
        })
    }
}

/// The state an action leads to from `from`, if the action is allowed there. Extension actions
/// keep the state (they move the deadline instead).
pub fn next(from: State, action: Action) -> Option<State> {
    use Action as A;
    use State as S;
    Some(match (from, action) {
        // Accepting a report that must be confirmed on site leads to `Confirming` instead
        // (`case::apply`, by the city's [`Confirmation`](super::confirmation::Confirmation)).
        (S::Reported, A::Accept) => S::Accepted,
        (S::Confirming, A::Confirm) => S::Accepted,
        (S::Accepted, A::Register) => S::Registered,
        (S::Registered | S::Returned, A::Dispatch) => S::Dispatched,
        (S::Dispatched, A::Refuse) => S::Returned,
        (S::Dispatched | S::Rework, A::Handle) => S::Handled,
        (S::Handled, A::Reject) => S::Rework,
        (S::Reported, A::SelfHandle) => S::SelfHandled,
        (S::Handled | S::SelfHandled, A::Verify) => S::Verified,
        (S::Verified, A::Close) => S::Closed,
        (S::Reported | S::Confirming | S::Accepted | S::Registered | S::Returned, A::Void) => S::Void,
        (S::Dispatched | S::Rework, A::RequestExtension | A::ApproveExtension | A::RefuseExtension) => from,
        (s, A::Merge) if s.is_open() => S::Closed,
        // Dissatisfied leads to `Rework` instead (`case::apply`).
        (S::Closed, A::Callback) => S::Closed,
        _ => return None,
    })
}

/// Every action possible from `from` (for the 409 answer and for user interfaces).
pub fn actions_from(from: State) -> Vec<Action> {
    Action::ALL.into_iter().filter(|&a| next(from, a).is_some()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_main_path_reaches_closed() {
        let path = [Action::Accept, Action::Register, Action::Dispatch, Action::Handle, Action::Verify, Action::Close];
        let end = path.iter().try_fold(State::Reported, |s, &a| next(s, a));
        assert_eq!(end, Some(State::Closed));
    }

    #[test]
    fn side_paths_and_dead_ends() {
        assert_eq!(next(State::Dispatched, Action::Refuse), Some(State::Returned));
        assert_eq!(next(State::Returned, Action::Dispatch), Some(State::Dispatched));
        assert_eq!(next(State::Handled, Action::Reject), Some(State::Rework));
        assert_eq!(next(State::Rework, Action::Handle), Some(State::Handled));
        assert_eq!(next(State::Reported, Action::SelfHandle), Some(State::SelfHandled));
        assert_eq!(next(State::Dispatched, Action::RequestExtension), Some(State::Dispatched));
        assert_eq!(next(State::Closed, Action::Void), None);
        assert_eq!(next(State::Reported, Action::Close), None);
        // A closed case is only called back (回访); a void one goes nowhere.
        assert_eq!(actions_from(State::Closed), [Action::Callback]);
        assert!(actions_from(State::Void).is_empty());
        assert_eq!(actions_from(State::Reported), [Action::Accept, Action::SelfHandle, Action::Void, Action::Merge]);
        assert_eq!(next(State::Handled, Action::Merge), Some(State::Closed));
        assert_eq!(next(State::Void, Action::Merge), None);
        assert_eq!(next(State::Confirming, Action::Confirm), Some(State::Accepted));
        assert_eq!(next(State::Confirming, Action::Void), Some(State::Void));
        assert_eq!(next(State::Confirming, Action::Register), None, "registered only once confirmed");
        // Every state is reachable from `reported` (`confirming` through accepting a citizen's report).
        let mut reached = vec![State::Reported, State::Confirming];
        let mut i = 0;
        while i < reached.len() {
            for a in Action::ALL {
                if let Some(s) = next(reached[i], a) {
                    if !reached.contains(&s) {
                        reached.push(s);
                    }
                }
            }
            i += 1;
        }
        assert_eq!(reached.len(), State::ALL.len());
    }

    #[test]
    fn roles_per_action() {
        assert!(Action::Dispatch.allowed_roles().contains(&Role::Dispatcher));
        assert!(!Action::Dispatch.allowed_roles().contains(&Role::Unit));
        assert!(Action::Handle.allowed_roles().contains(&Role::Unit));
        assert!(Action::ALL.iter().all(|a| a.allowed_roles().contains(&Role::Admin)));
        // The office takes no step of a case but the call-back (回访).
        let office: Vec<Action> =
            Action::ALL.into_iter().filter(|a| a.allowed_roles().contains(&Role::Office)).collect();
        assert_eq!(office, [Action::Callback]);
        assert_eq!("self_handle".parse::<Action>(), Ok(Action::SelfHandle));
    }
}
