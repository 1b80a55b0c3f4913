//! Problems (问题/案件): what officers and citizens report, routed to a grid on intake.

use crate::domain::hotspots::Recurrence;
use crate::domain::workflow::calendar::LimitUnit;
use crate::domain::workflow::catalogue::{Category, Kind};
use crate::domain::workflow::colour::Colour;
use crate::domain::workflow::state::State;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use time::OffsetDateTime;

/// Where a report came from (DOMAIN.md: sources).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// 网格员 — a grid officer on patrol.
    Officer,
    /// 市民 — a citizen, without a more precise channel.
    Citizen,
    /// 12345/12315 热线
    Hotline,
    /// A citizen app (Open311).
    App,
    /// 暗访 — undercover inspection.
    Undercover,
    /// 督查 — a finding of the office's open or special supervision round.
    Supervision,
    /// 测评 — an assessment.
    Assessment,
    /// A failed criterion at an inspection.
    Inspection,
}

impl Source {
    pub const ALL: [Source; 8] = [
        Self::Officer,
        Self::Citizen,
        Self::Hotline,
        Self::App,
        Self::Undercover,
        Self::Supervision,
        Self::Assessment,
        Self::Inspection,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Officer => "officer",
            Self::Citizen => "citizen",
            Self::Hotline => "hotline",
            Self::App => "app",
            Self::Undercover => "undercover",
            Self::Supervision => "supervision",
            Self::Assessment => "assessment",
            Self::Inspection => "inspection",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Source {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            let known: Vec<&str> = Self::ALL.iter().map(|k| k.as_str()).collect();
            format!("unknown source {s:?}; known sources: {}", known.join(", "))
        })
    }
}

/// A report accepted by intake and routed, not yet stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewProblem {
    pub lon: f64,
    pub lat: f64,
    pub category: String,
    pub description: String,
    pub source: Source,
    pub grid_code: Option<String>,
    pub grid_version: Option<i32>,
    pub responsible_unit: Option<String>,
    /// Every grid covering the point (more than one on a shared boundary).
    pub candidates: Vec<String>,
    pub status: State,
    pub created_at: OffsetDateTime,
    /// The user (or citizen app) that reported it.
    pub reported_by: Option<String>,
    pub class: Option<Class>,
    /// Grids within reach of the point (covering ones first): the dispatcher's alternatives.
    pub nearby: Vec<NearbyGrid>,
    /// Open problems of the same category close by: probably the same thing reported twice.
    pub likely_duplicates: Vec<Duplicate>,
    /// The assessment point and criterion whose failed inspection opened it.
    pub origin: Option<Origin>,
    /// Where it is, in words (Open311's address_string), and the address book entry it was found by.
    pub address: Option<String>,
    pub address_id: Option<i64>,
    /// A hotline caller's contact: stored apart, shown only to dispatchers and the office.
    pub caller: Option<CallerContact>,
    /// The recently closed case of the same category close by that this one follows (反弹).
    pub recurrence: Option<Recurrence>,
}

/// A hotline caller's contact (来电人). Private: only dispatchers, the office and admins read
/// it, on the case itself; Open311, layers, exports and the archive never carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallerContact {
    /// 来电人姓名 (may be withheld)
    #[schema(max_length = 50)]
    pub name: Option<String>,
    /// 联系电话: digits, with +, -, spaces or brackets
    #[schema(min_length = 3, max_length = 30, example = "13800138000")]
    pub phone: String,
}

impl CallerContact {
    /// Checks and trims a contact, naming what is wrong.
    pub fn checked(self) -> Result<Self, String> {
        let phone = self.phone.trim().to_string();
        let digits = phone.chars().filter(char::is_ascii_digit).count();
        if !(3..=30).contains(&phone.chars().count())
            || digits < 3
            || !phone.chars().all(|c| c.is_ascii_digit() || "+-() ".contains(c))
        {
            return Err("phone: 3 to 30 characters of digits, +, -, spaces or brackets".into());
        }
        let name = self.name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
        if name.as_ref().is_some_and(|n| n.chars().count() > 50 || n.contains('\0')) {
            return Err("name: at most 50 characters".into());
        }
        Ok(Self { name, phone })
    }
}

/// A failed criterion at an assessment point (测评点位), when that is how a problem began.
/// Flattened into [`Problem`] only when there is one: the schema requires none of its fields.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Origin {
    #[schema(required = false)]
    pub assessment_point: String,
    #[schema(required = false)]
    pub criterion: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NearbyGrid {
    pub code: String,
    pub distance_m: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Duplicate {
    pub id: i64,
    pub distance_m: f64,
    /// Where the other case was routed: only callers who may see it are shown the link.
    pub grid_code: Option<String>,
    pub responsible_unit: Option<String>,
    pub reported_by: Option<String>,
}

/// What the catalogue says about a problem's category, copied at intake so later catalogue
/// changes do not rewrite history. Flattened into [`Problem`] only for a catalogued category:
/// the schema requires none of its fields.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Class {
    #[schema(required = false)]
    pub category_name: String,
    #[schema(required = false)]
    pub kind: Kind,
    /// 职能部门
    #[schema(required = false)]
    pub department: String,
    /// The colour the case starts at (serious matters).
    #[schema(required = false)]
    pub severity: Colour,
    #[schema(required = false)]
    pub time_limit: u32,
    #[schema(required = false)]
    pub limit_unit: LimitUnit,
}

impl From<&Category> for Class {
    fn from(c: &Category) -> Self {
        Self {
            category_name: c.name_zh.clone(),
            kind: c.kind,
            department: c.department.clone(),
            severity: c.severity,
            time_limit: c.time_limit,
            limit_unit: c.limit_unit,
        }
    }
}

/// A requested deadline extension (延期申请), waiting for the dispatcher.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExtensionRequest {
    pub amount: u32,
    pub unit: LimitUnit,
    pub reason: String,
}

/// What the workflow changes over a case's life.
#[derive(Debug, Clone, PartialEq, Default, Serialize, utoipa::ToSchema)]
pub struct Case {
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub dispatched_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub deadline: Option<OffsetDateTime>,
    pub reworks: u32,
    pub extension_requested: Option<ExtensionRequest>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<OffsetDateTime>,
    /// A merged duplicate closes pointing at the case it joined.
    pub merged_into: Option<i64>,
    /// 回访: what the caller said when called back after the latest closing (none yet: due).
    pub callback: Option<Satisfaction>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub callback_at: Option<OffsetDateTime>,
}

/// What a caller says when called back (回访).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Satisfaction {
    /// 满意
    Satisfied,
    /// 基本满意
    BasicallySatisfied,
    /// 不满意: the case is re-opened for rework.
    Dissatisfied,
}

impl Satisfaction {
    pub const ALL: [Satisfaction; 3] = [Self::Satisfied, Self::BasicallySatisfied, Self::Dissatisfied];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Satisfied => "satisfied",
            Self::BasicallySatisfied => "basically_satisfied",
            Self::Dissatisfied => "dissatisfied",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

impl Source {
    /// A citizen's own report (hotline, app, or in person): called back after closing (回访).
    pub fn is_citizens(self) -> bool {
        matches!(self, Self::Citizen | Self::Hotline | Self::App)
    }
}

/// A stored problem.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Problem {
    pub id: i64,
    pub lon: f64,
    pub lat: f64,
    pub category: String,
    pub description: String,
    pub source: Source,
    pub grid_code: Option<String>,
    pub grid_version: Option<i32>,
    pub responsible_unit: Option<String>,
    pub candidates: Vec<String>,
    pub status: State,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    pub reported_by: Option<String>,
    #[serde(flatten)]
    pub class: Option<Class>,
    #[serde(flatten)]
    pub case: Case,
    pub nearby: Vec<NearbyGrid>,
    pub likely_duplicates: Vec<Duplicate>,
    /// 测评点位 and criterion, for problems opened by a failed inspection.
    #[serde(flatten)]
    pub origin: Option<Origin>,
    /// 三色督办 — computed when the problem is read, never stored stale.
    pub colour: Colour,
    /// Bumped by every change of the case: of two racing changes exactly one wins, the other
    /// gets 409 conflict.
    pub version: i64,
    /// Where it is, in words (地址), and the address book entry it was found by.
    pub address: Option<String>,
    pub address_id: Option<i64>,
    /// 反弹: the recently closed case of the same category close by that this one follows.
    pub recurrence: Option<Recurrence>,
    /// The hotline caller (来电人): only in a dispatcher's, the office's or an admin's reading of
    /// one case (`GET /api/v1/problems/{id}`); absent everywhere else.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    pub caller: Option<CallerContact>,
}

impl Problem {
    pub fn from_new(id: i64, p: NewProblem) -> Self {
        Self {
            id,
            lon: p.lon,
            lat: p.lat,
            category: p.category,
            description: p.description,
            source: p.source,
            grid_code: p.grid_code,
            grid_version: p.grid_version,
            responsible_unit: p.responsible_unit,
            candidates: p.candidates,
            status: p.status,
            created_at: p.created_at,
            reported_by: p.reported_by,
            colour: p.class.as_ref().map_or(Colour::None, |c| c.severity),
            class: p.class,
            case: Case::default(),
            nearby: p.nearby,
            likely_duplicates: p.likely_duplicates,
            origin: p.origin,
            version: 0,
            address: p.address,
            address_id: p.address_id,
            recurrence: p.recurrence,
            caller: None,
        }
    }
}

/// One recorded step of a case (append-only).
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[schema(as = Event)]
pub struct ProblemEvent {
    pub id: i64,
    pub problem_id: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    pub actor: String,
    pub role: String,
    pub action: String,
    pub from_state: String,
    pub to_state: String,
    pub note: Option<String>,
    pub photo_url: Option<String>,
    pub details: serde_json::Value,
}
